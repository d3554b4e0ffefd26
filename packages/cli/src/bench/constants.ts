/** Bounds and defaults of `runnel bench`. Every workload field has a limit here. */

/** Brokers of the cluster the bench starts for itself (the coordinator comes on top). */
export const BENCH_BROKERS = 3;

/** Workload bounds (what a workload file may ask for). */
export const PARTITIONS_MAX = 1_000;
export const REPLICATION_MAX = 5;
export const RECORDS_MAX = 50_000_000;
/** Latency workloads keep one sample per record: this bounds their memory. */
export const LATENCY_RECORDS_MAX = 2_000_000;
export const RECORD_BYTES_MAX = 1024 * 1024;
export const IN_FLIGHT_RECORDS_MAX = 100_000;
export const RATE_PER_SECOND_MAX = 1_000_000;
export const LINGER_MS_MAX = 1_000;
/** Workloads in one file, after expanding lists of partitions and record sizes. */
export const WORKLOADS_MAX = 256;
/** A workload file larger than this is refused before parsing. */
export const WORKLOAD_FILE_BYTES_MAX = 1024 * 1024;

/** Defaults of the standard suite (see `defaultWorkloads`). */
export const THROUGHPUT_RECORDS_DEFAULT = 100_000;
export const THROUGHPUT_PARTITIONS_DEFAULT: readonly number[] = [1, 6];
export const THROUGHPUT_RECORD_BYTES_DEFAULT: readonly number[] = [100, 1024];
export const IN_FLIGHT_RECORDS_DEFAULT = 8_192;
/** Bytes of values sent but not yet acknowledged, whatever the record count allows. */
export const IN_FLIGHT_BYTES_MAX = 64 * 1024 * 1024;
export const ACK_LATENCY_RECORDS_DEFAULT = 5_000;
export const END_TO_END_RECORDS_DEFAULT = 10_000;
export const END_TO_END_RATE_PER_SECOND_DEFAULT = 1_000;
export const CATCH_UP_RECORDS_DEFAULT = 100_000;
export const LATENCY_RECORD_BYTES_DEFAULT = 1024;
export const REPLICATION_DEFAULT = 3;
/** Runnel producer linger for throughput workloads (the client's default). */
export const THROUGHPUT_LINGER_MS_DEFAULT = 2;
/** Runnel producer linger for latency workloads: send each record at once. */
export const LATENCY_LINGER_MS_DEFAULT = 0;
/** Warm-up records before the measured ones: a tenth of them, at most this many. */
export const WARMUP_RECORDS_MAX_DEFAULT = 2_000;

/** End-to-end payload header: send time (float64 ms since the epoch), then the record's sequence (uint32). */
export const PAYLOAD_HEADER_BYTES = 12;

/** How long a consumer may go without a record before the workload fails. */
export const RECEIVE_IDLE_MS_MAX = 30_000;
/** How long a new topic's leaders may take to serve it. */
export const TOPIC_READY_MS_MAX = 30_000;
/** How long a new consumer may take to be subscribed to every partition. */
export const SUBSCRIBE_READY_MS_MAX = 30_000;
/** How long the bench's own cluster may take to start and become healthy. */
export const CLUSTER_READY_MS_MAX = 60_000;
/** How long a JetStream cluster may take to elect its meta leader and accept a stream. */
export const JETSTREAM_READY_MS_MAX = 60_000;
/** Deadline of one JetStream publish acknowledgement. */
export const JETSTREAM_PUBLISH_TIMEOUT_MS = 60_000;
/**
 * Pull window of a JetStream ordered consumer, matched to the Runnel consumer's default credit
 * (1 MiB; nats.js takes a byte or a message bound, not both).
 */
export const JETSTREAM_PULL_BYTES_MAX = 1024 * 1024;

/** Progress: how often (in records) a workload reports progress. */
export const PROGRESS_EVERY_RECORDS = 256;
