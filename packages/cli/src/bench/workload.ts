import type { Acks } from '../options.js';
import {
  ACK_LATENCY_RECORDS_DEFAULT, CATCH_UP_RECORDS_DEFAULT, END_TO_END_RATE_PER_SECOND_DEFAULT, END_TO_END_RECORDS_DEFAULT,
  IN_FLIGHT_RECORDS_DEFAULT, LATENCY_LINGER_MS_DEFAULT, LATENCY_RECORD_BYTES_DEFAULT, REPLICATION_DEFAULT,
  THROUGHPUT_LINGER_MS_DEFAULT, THROUGHPUT_PARTITIONS_DEFAULT, THROUGHPUT_RECORD_BYTES_DEFAULT, THROUGHPUT_RECORDS_DEFAULT,
  WARMUP_RECORDS_MAX_DEFAULT,
} from './constants.js';

/**
 * The four standard workloads (after the OpenMessaging Benchmark's):
 * - throughput: pipelined produce with a bounded window of unacknowledged records -> records/s, MiB/s.
 * - ack-latency: one record at a time, each awaited before the next -> ack latency percentiles.
 * - end-to-end-latency: a consumer subscribed first; records at a fixed rate carry their send time
 *   -> percentiles of receive time minus send time.
 * - catch-up: records written first (not timed), then a new consumer reads them all from the
 *   beginning -> records/s.
 * Plus a floor for the latency figures:
 * - round-trip: one request at a time to the partition's leader that touches neither disk nor
 *   replication (Runnel: ListOffsets; JetStream: stream info) -> latency percentiles of the bare
 *   client -> server -> client path. `records` counts requests; record size is not used.
 */
export const WORKLOAD_KINDS = ['throughput', 'ack-latency', 'end-to-end-latency', 'catch-up', 'round-trip'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** One fully specified run. */
export interface Workload {
  readonly name: string;
  readonly kind: WorkloadKind;
  readonly partitions: number;
  readonly replication: number;
  readonly acks: Acks;
  /** Measured records (warm-up records come on top). */
  readonly records: number;
  readonly recordBytes: number;
  /** Records produced (and acknowledged) before measuring; not counted. */
  readonly warmupRecords: number;
  /** throughput, catch-up preload and end-to-end: records sent but not yet acknowledged. */
  readonly inFlightRecordsMax: number;
  /** end-to-end-latency: records sent per second. */
  readonly ratePerSecond: number;
  /** Runnel producer: how long a batch stays open for more records. */
  readonly lingerMs: number;
}

/** A tenth of the measured records, capped. */
export function warmupFor(records: number): number {
  return Math.min(WARMUP_RECORDS_MAX_DEFAULT, Math.ceil(records / 10));
}

/** Per-kind defaults for every field a workload file may leave out. */
export function kindDefaults(kind: WorkloadKind): Omit<Workload, 'name' | 'kind' | 'partitions' | 'recordBytes' | 'warmupRecords'> & {
  readonly partitions: readonly number[];
  readonly recordBytes: readonly number[];
} {
  const common = {
    replication: REPLICATION_DEFAULT,
    acks: 'quorum' as const,
    inFlightRecordsMax: IN_FLIGHT_RECORDS_DEFAULT,
    ratePerSecond: END_TO_END_RATE_PER_SECOND_DEFAULT,
  };
  switch (kind) {
    case 'throughput':
      return { ...common, partitions: THROUGHPUT_PARTITIONS_DEFAULT, recordBytes: THROUGHPUT_RECORD_BYTES_DEFAULT, records: THROUGHPUT_RECORDS_DEFAULT, lingerMs: THROUGHPUT_LINGER_MS_DEFAULT };
    case 'ack-latency':
      return { ...common, partitions: [1], recordBytes: [LATENCY_RECORD_BYTES_DEFAULT], records: ACK_LATENCY_RECORDS_DEFAULT, lingerMs: LATENCY_LINGER_MS_DEFAULT };
    case 'end-to-end-latency':
      return { ...common, partitions: [1], recordBytes: [LATENCY_RECORD_BYTES_DEFAULT], records: END_TO_END_RECORDS_DEFAULT, lingerMs: LATENCY_LINGER_MS_DEFAULT };
    case 'catch-up':
      return { ...common, partitions: [1], recordBytes: [LATENCY_RECORD_BYTES_DEFAULT], records: CATCH_UP_RECORDS_DEFAULT, lingerMs: THROUGHPUT_LINGER_MS_DEFAULT };
    case 'round-trip':
      return { ...common, partitions: [1], recordBytes: [LATENCY_RECORD_BYTES_DEFAULT], records: ACK_LATENCY_RECORDS_DEFAULT, lingerMs: LATENCY_LINGER_MS_DEFAULT };
  }
}

/** `throughput-6p-100b`: the kind, then what varies. */
export function workloadName(base: string, partitions: number, recordBytes: number, kind?: WorkloadKind): string {
  // A round trip carries no record: its size would only mislead.
  return kind === 'round-trip' ? `${base}-${partitions}p` : `${base}-${partitions}p-${recordBytes}b`;
}

/** The standard suite: each kind with its defaults (throughput over partitions 1, 6 x 100, 1024 bytes). */
export function defaultWorkloads(): Workload[] {
  const out: Workload[] = [];
  for (const kind of WORKLOAD_KINDS) {
    const d = kindDefaults(kind);
    for (const partitions of d.partitions) {
      for (const recordBytes of d.recordBytes) {
        out.push({
          name: workloadName(kind, partitions, recordBytes, kind),
          kind,
          partitions,
          replication: d.replication,
          acks: d.acks,
          records: d.records,
          recordBytes,
          warmupRecords: warmupFor(d.records),
          inFlightRecordsMax: d.inFlightRecordsMax,
          ratePerSecond: d.ratePerSecond,
          lingerMs: d.lingerMs,
        });
      }
    }
  }
  return out;
}

/** `--records N`: every workload measures N records (warm-up scaled to match). */
export function withRecords(workloads: readonly Workload[], records: number): Workload[] {
  return workloads.map((w) => ({ ...w, records, warmupRecords: Math.min(w.warmupRecords, warmupFor(records)) }));
}
