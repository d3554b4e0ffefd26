import type { Acks } from '../options.js';
import type { SystemName } from './bench-system.js';
import type { LatencySummary } from './latency-samples.js';
import type { Workload, WorkloadKind } from './workload.js';

/** One workload's outcome, with everything that shaped it. */
export interface BenchResult {
  readonly system: SystemName;
  readonly workload: string;
  readonly kind: WorkloadKind;
  /** Disk sync policy of the system under test ('always', 'interval:120000', 'every 2 min (default)', …). */
  readonly fsync: string;
  readonly partitions: number;
  readonly replication: number;
  readonly acks: Acks;
  readonly recordBytes: number;
  /** Measured records (warm-up excluded). */
  readonly records: number;
  readonly warmupRecords: number;
  /** throughput / catch-up preload / end-to-end: records sent but not yet acknowledged, at most. */
  readonly inFlightRecordsMax: number;
  /** end-to-end-latency only: the target send rate. */
  readonly ratePerSecond: number | null;
  /** Runnel only: the producer's linger. */
  readonly lingerMs: number | null;
  /** Measured wall time. */
  readonly seconds: number;
  readonly recordsPerSecond: number;
  /** MiB (2^20 bytes) of record values per second. */
  readonly mibPerSecond: number;
  /** ack-latency: send to acknowledgement; end-to-end-latency: send to receipt; round-trip: request to answer; else null. */
  readonly latencyMs: LatencySummary | null;
  /** Why the workload failed (its numbers are then zero), or null. */
  readonly error: string | null;
}

/** The machine the bench ran on. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

/** What `runnel bench --json` prints. */
export interface BenchReport {
  readonly system: SystemName;
  /** What was measured: "own cluster: …", or the addresses given. */
  readonly target: string;
  /** PIDs of the cluster the bench started and stopped (null when it measured someone else's). */
  readonly pids: readonly number[] | null;
  readonly fsync: string;
  /** Honest one-line statement of the durability settings. */
  readonly durability: string;
  readonly startedAt: string;
  readonly machine: MachineInfo;
  /** 1, 5 and 15 minute load averages when the run started and ended (other work on the machine skews the numbers). */
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
  readonly results: readonly BenchResult[];
}

export interface Measured {
  readonly records: number;
  readonly seconds: number;
  readonly latencyMs: LatencySummary | null;
}

/** A result from a workload and what was measured. */
export function benchResult(system: SystemName, fsync: string, w: Workload, m: Measured): BenchResult {
  const seconds = Math.max(m.seconds, 1e-9);
  return {
    system,
    workload: w.name,
    kind: w.kind,
    fsync,
    partitions: w.partitions,
    replication: w.replication,
    acks: w.acks,
    recordBytes: w.recordBytes,
    records: m.records,
    warmupRecords: w.warmupRecords,
    inFlightRecordsMax: w.inFlightRecordsMax,
    ratePerSecond: w.kind === 'end-to-end-latency' ? w.ratePerSecond : null,
    lingerMs: system === 'runnel' ? w.lingerMs : null,
    seconds: m.seconds,
    recordsPerSecond: m.records / seconds,
    mibPerSecond: w.kind === 'round-trip' ? 0 : (m.records * w.recordBytes) / seconds / (1024 * 1024),
    latencyMs: m.latencyMs,
    error: null,
  };
}

/** The result of a workload that failed. */
export function failedResult(system: SystemName, fsync: string, w: Workload, error: string): BenchResult {
  return { ...benchResult(system, fsync, w, { records: 0, seconds: 0, latencyMs: null }), recordsPerSecond: 0, mibPerSecond: 0, error };
}
