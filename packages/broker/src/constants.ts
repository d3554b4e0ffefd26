/** Named bounds and defaults of the broker (units last). */

/** Produce: wait for the ack level this long when the request says 0. */
export const PRODUCE_TIMEOUT_MS_DEFAULT = 30_000;
/** Produce: the longest ack wait a request may ask for. */
export const PRODUCE_TIMEOUT_MS_MAX = 120_000;
/** ProduceStream: requests a client may keep outstanding on one stream (sent in every answer). */
export const PRODUCE_STREAM_IN_FLIGHT_MAX = 64;
/** Bytes of accepted-but-not-yet-acknowledged produce batches per partition; beyond: TOO_MANY_REQUESTS. */
export const PARTITION_PENDING_PRODUCE_BYTES_MAX = 32 * 1024 * 1024;
/** Produce requests waiting for their ack level per partition; beyond: TOO_MANY_REQUESTS. */
export const PARTITION_PENDING_PRODUCES_MAX = 10_000;
/**
 * Bytes of accepted-but-not-yet-acknowledged produce batches over all partitions one broker leads;
 * beyond: TOO_MANY_REQUESTS. Half the storage write queue's bound (64 MiB, packages/storage
 * pendingBytesMax), leaving the other half to follower appends: that queue full fails an append
 * and stops the replica.
 */
export const BROKER_PENDING_PRODUCE_BYTES_MAX = 32 * 1024 * 1024;
/**
 * Bytes of produce requests one client connection (gRPC peer) has started and not had answered, over
 * every partition, unary calls and ProduceStreams together; beyond: TOO_MANY_REQUESTS (a lone request
 * always fits). Bounds what one client can make a broker hold however many partitions it writes.
 */
export const CONNECTION_PENDING_PRODUCE_BYTES_MAX = 64 * 1024 * 1024;
/** ProduceStream: bytes of requests outstanding on one stream; at it the broker stops reading the stream (flow control). */
export const PRODUCE_STREAM_PENDING_BYTES_MAX = 32 * 1024 * 1024;
/** The retry-after hint (`runnel-retry-after-ms`) sent with a produce refused by a full bound. */
export const PRODUCE_RETRY_AFTER_MS = 100;
/** ACKS_NONE produces a full partition dropped are logged at most once per this interval (with the counts since). */
export const NO_ACK_DROP_LOG_INTERVAL_MS = 10_000;

/** Fetch: byte budget when the request says 0. */
export const FETCH_BYTES_DEFAULT = 1024 * 1024;
/** Fetch: the largest byte budget a request may ask for. */
export const FETCH_BYTES_MAX = 16 * 1024 * 1024;
/** Fetch: the longest long-poll. */
export const FETCH_WAIT_MS_MAX = 30_000;

/** Subscribe: bytes read from the log per push at most (the credit bounds it further). */
export const SUBSCRIBE_READ_BYTES_MAX = 1024 * 1024;
/** Credit beyond this is clamped (a client cannot make the broker's counters overflow). */
export const SUBSCRIBE_CREDIT_BYTES_MAX = Number.MAX_SAFE_INTEGER;
export const SUBSCRIBE_CREDIT_RECORDS_MAX = Number.MAX_SAFE_INTEGER;

/** Readers (subscriptions and long-polling fetches) waiting on one partition's high watermark. */
export const PARTITION_WAITERS_MAX = 10_000;
/** A consumer asking for an offset retention deleted is logged at most this often per partition and API. */
export const RETENTION_LOSS_LOG_INTERVAL_MS = 10_000;
/** Partitions whose retention-loss log rate is tracked at once (beyond: tracking starts over). */
export const RETENTION_LOSS_LOG_PARTITIONS_MAX = 10_000;

/** Coordinator link: reconnect / re-register backoff, exponential with jitter, between these. */
export const COORDINATOR_BACKOFF_MS_MIN = 100;
export const COORDINATOR_BACKOFF_MS_MAX = 5_000;
/** Coordinator link: deadline of one RegisterBroker call. */
export const COORDINATOR_CALL_TIMEOUT_MS = 5_000;
/** Heartbeat interval used until the coordinator tells us one. */
export const HEARTBEAT_INTERVAL_MS_DEFAULT = 500;

/** close(): how long in-flight produces may take to finish before the server is shut down. */
export const SHUTDOWN_PRODUCE_DRAIN_MS = 5_000;
/**
 * close(): controlled shutdown plus the produce drain stay within this, so a whole close (with the
 * 1 s settle of stopped replicas, SHUTDOWN_GRACE_MS and the store close) fits in the 15 s a
 * signalled process gets (SHUTDOWN_MS_MAX in @runnel/protocol).
 */
export const SHUTDOWN_BUDGET_MS = 12_000;
/** close(): how long stopped replicas' last writes may take to land before the store closes. */
export const SHUTDOWN_SETTLE_MS = 1_000;
/** close(): how long open calls get after the in-flight produces finished before being cancelled. */
export const SHUTDOWN_GRACE_MS = 1_000;

/** Config defaults (docs/processes.md). */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7401;
export const DEFAULT_COORDINATOR = '127.0.0.1:7400';
export const DEFAULT_FSYNC = 'always';
export const DEFAULT_RETENTION_CHECK_INTERVAL_MS = 60_000;
export const DEFAULT_LOG_LEVEL = 'info';
/**
 * --subscriptions-max / --produce-streams-max defaults: Subscribe and ProduceStream calls open at
 * once on one broker, over all connections; beyond: TOO_MANY_STREAMS. An idle stream costs the
 * broker a few KiB (docs/configuration.md, measured by test/overload-connections.test.ts), so the
 * defaults bound that to tens of MiB.
 */
export const DEFAULT_SUBSCRIPTIONS_MAX = 10_000;
export const DEFAULT_PRODUCE_STREAMS_MAX = 10_000;
/** The largest either may be set to. */
export const STREAMS_MAX_LIMIT = 1_000_000;
/** --metrics-port default: 0 = no metrics endpoint. */
export const DEFAULT_METRICS_PORT = 0;
/** Broker ids are 1..2^31-1. */
export const BROKER_ID_MAX = 2_147_483_647;

/**
 * Replication: length of one replica tick. One broker-wide timer calls `tick()` on every hosted
 * PartitionReplica this often, so the core's tick bounds (packages/replication constants.ts) mean:
 * FETCH_KEEPALIVE_TICKS 10 = 100 ms, FOLLOWER_RETRANSMIT_TICKS 20 = 200 ms,
 * FOLLOWER_LIVENESS_TICKS 50 = 500 ms, PRODUCE_TIMEOUT_TICKS_DEFAULT 100 = 1 s (the broker always
 * passes the request's own timeout instead: `ticksForMs`).
 */
export const REPLICA_TICK_MS = 10;
/** Replication: messages queued for one peer stream (beyond: dropped; the protocol re-sends). */
export const REPLICATION_QUEUE_MESSAGES_MAX = 8_192;
/** Replication: bytes queued for one peer stream (beyond: dropped; the protocol re-sends). */
export const REPLICATION_QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Replication: messages per ReplicateFrame at most. */
export const REPLICATION_FRAME_MESSAGES_MAX = 512;
/** Replication: follower-to-leader stream reconnect backoff, exponential with jitter, between these. */
export const REPLICATION_BACKOFF_MS_MIN = 50;
export const REPLICATION_BACKOFF_MS_MAX = 2_000;
/** PrepareEpoch: how long to wait for the promise to be durable when the call has no deadline. */
export const PREPARE_EPOCH_TIMEOUT_MS_DEFAULT = 5_000;
/** PrepareEpoch calls waiting on one partition at once; beyond: TOO_MANY_REQUESTS. */
export const PREPARE_EPOCH_WAITERS_MAX = 16;
/** A produce failed by lost leadership waits at most this long for metadata naming the new leader. */
export const NOT_LEADER_HINT_WAIT_MS = 1_000;
/** A replica stopped by a storage failure: how long its in-flight writes may take before it is rebuilt. */
export const REPLICA_REBUILD_SETTLE_MS = 5_000;
/** Applying a metadata snapshot yields to the event loop after this much work in one turn. */
export const RECONCILE_SLICE_MS = 10;
/** Heartbeats: a leader's partition statuses are re-sent at least this often even when unchanged. */
export const PARTITION_STATUS_REFRESH_MS = 5_000;
/** close(): how often ControlledShutdown is asked while leaderships remain. */
export const CONTROLLED_SHUTDOWN_RETRY_MS = 200;
/** close(): how long controlled shutdown may take before the broker stops anyway. */
export const CONTROLLED_SHUTDOWN_MS_MAX = 8_000;
/** Deadline of one ControlledShutdown / DeclineLeadership call. */
export const COORDINATOR_NOTIFY_TIMEOUT_MS = 2_000;

/** The request's ack wait in replica ticks (at least one). */
export function ticksForMs(ms: number): number {
  return Math.max(1, Math.ceil(ms / REPLICA_TICK_MS));
}

/** Partitions of the internal `__offsets` topic (fixed when it is first created). */
export const OFFSETS_PARTITIONS = 8;
/** Group session timeouts a member may ask for; 0 takes the default. */
export const GROUP_SESSION_TIMEOUT_MS_DEFAULT = 10_000;
export const GROUP_SESSION_TIMEOUT_MS_MIN = 1_000;
export const GROUP_SESSION_TIMEOUT_MS_MAX = 300_000;
/** A member asked to revoke partitions that does not confirm within this is removed from its group. */
export const GROUP_REVOKE_TIMEOUT_MS = 60_000;
/** How often groups check for silent members and metadata changes. */
export const GROUP_TICK_MS = 100;
/** FindGroupCoordinator waits at most this long for `__offsets` to exist and have a leader. */
export const GROUP_FIND_WAIT_MS = 5_000;
/** Bounds: members per group, topics per member, groups per `__offsets` partition, offsets per commit. */
export const GROUP_MEMBERS_MAX = 1_000;
export const GROUP_TOPICS_MAX = 100;
export const GROUPS_PER_PARTITION_MAX = 10_000;
export const GROUP_COMMIT_OFFSETS_MAX = 10_000;
export const GROUP_COMMIT_METADATA_BYTES_MAX = 4_096;
/** Read size while rebuilding groups from `__offsets`. */
export const GROUP_LOAD_READ_BYTES = 1_048_576;

/** Forwarding (simple clients): forwarded requests and subscriptions in flight at once, per broker. */
export const FORWARD_IN_FLIGHT_MAX = 1_024;
/** Deadline of a forwarded request whose caller set none. */
export const FORWARD_DEADLINE_MS_DEFAULT = 30_000;

/** Metrics (metrics/): distinct topic label values per counter family; beyond, new topics are counted under `_other`. */
export const METRICS_TOPIC_LABELS_MAX = 1_000;
/** Metrics: per-partition series (follower lag) per scrape at most. */
export const METRICS_PARTITION_SERIES_MAX = 10_000;
/** Metrics: consumer-group lag series (group, topic, partition) per scrape at most. */
export const METRICS_GROUP_LAG_SERIES_MAX = 10_000;
