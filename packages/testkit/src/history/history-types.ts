/**
 * A history of client operations against a cluster, as the chaos workload records it and the
 * checker reads it. Modelled on Jepsen: every operation is an `invoke` followed by exactly one
 * completion: `ok` (it happened), `fail` (it definitely did not happen: refused before anything was
 * appended) or `info` (unknown: deadline, lost connection, UNAVAILABLE after sending). A process
 * that logs `info` never issues another operation; the worker carries on as a new process id.
 * Every produced value is unique in the history.
 */

export type Completion = 'ok' | 'fail' | 'info';

/** Wall-clock ms (Date.now()) of the event, for real-time order checks and reports. */
export type WallMs = number;

export interface ProduceInvoke {
  readonly type: 'invoke';
  readonly f: 'produce';
  readonly process: number;
  readonly time: WallMs;
  readonly partition: number;
  /** Unique in the whole history. */
  readonly value: string;
}

/** Completions carry their invocation's fields, with the outcome as `type`. */
export interface ProduceCompletion extends Omit<ProduceInvoke, 'type'> {
  readonly type: Completion;
  /** ok only: the acknowledged offset. */
  readonly offset?: number;
  /** How many attempts the client made (> 1: a retry may explain a duplicate). */
  readonly attempts?: number;
  /** fail/info: the error code. */
  readonly error?: string;
}

/**
 * One poll of a subscription: the records a consumer received, in the order received. `session`
 * identifies one subscription (a read stream from one start position); within a session, offsets
 * must increase and no committed record between two received ones may be skipped.
 */
export interface ReadInvoke {
  readonly type: 'invoke';
  readonly f: 'read';
  readonly process: number;
  readonly time: WallMs;
  readonly partition: number;
  readonly session: string;
}

export interface ReadCompletion extends Omit<ReadInvoke, 'type'> {
  readonly type: Completion;
  /** ok only: [offset, value] pairs in the order received. */
  readonly records?: ReadonlyArray<readonly [number, string]>;
  /** Broker id that served the read, when known. */
  readonly node?: number;
  readonly error?: string;
}

/** A group member took (acquire) or gave up (release) a partition; both are `ok` events. */
export interface HoldEvent {
  readonly type: 'ok';
  readonly f: 'acquire' | 'release';
  readonly process: number;
  readonly time: WallMs;
  readonly group: string;
  readonly member: string;
  readonly partition: number;
}

export interface CommitInvoke {
  readonly type: 'invoke';
  readonly f: 'commit';
  readonly process: number;
  readonly time: WallMs;
  readonly group: string;
  readonly member: string;
  readonly partition: number;
  readonly offset: number;
}

export interface CommitCompletion extends Omit<CommitInvoke, 'type'> {
  readonly type: Completion;
  readonly error?: string;
}

/** A fault the nemesis injected or healed (kept in the history for reports). */
export interface NemesisEvent {
  readonly type: 'info';
  readonly f: 'nemesis';
  readonly process: -1;
  readonly time: WallMs;
  /** e.g. "kill broker-2", "heal partition", "restart broker-2". */
  readonly description: string;
}

export type HistoryEvent =
  | ProduceInvoke | ProduceCompletion
  | ReadInvoke | ReadCompletion
  | HoldEvent
  | CommitInvoke | CommitCompletion
  | NemesisEvent;

/** What a final full read of a partition returned, in offset order. */
export type PartitionLog = ReadonlyArray<readonly [number, string]>;

/** Per node: the committed prefix (offsets below its high watermark) of each partition on its disk. */
export interface ReplicaPrefix {
  readonly node: number;
  readonly partition: number;
  readonly records: PartitionLog;
}

export interface CheckInput {
  readonly history: readonly HistoryEvent[];
  /** Final full read of every partition (partition number -> log). */
  readonly finalLogs: ReadonlyMap<number, PartitionLog>;
  /** Optional: every replica's committed prefix read from disk after the nodes stopped. */
  readonly replicas?: readonly ReplicaPrefix[];
  /** Replication factor (for "every acknowledged record is on a quorum"). */
  readonly replicationFactor?: number;
}

export type AnomalyKind =
  | 'lost-write'
  | 'divergent-offset'
  | 'value-at-two-offsets'
  | 'skipped-record'
  | 'reordered-read'
  | 'phantom-read'
  | 'uncommitted-read'
  | 'duplicate'
  | 'double-hold'
  | 'non-monotonic-commit'
  | 'real-time-order'
  | 'stale-read'
  | 'replica-divergence'
  | 'under-replicated-ack';

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly partition: number;
  /** A sentence a person can act on. */
  readonly message: string;
  /** The values/offsets/events involved. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface CheckResult {
  readonly valid: boolean;
  readonly anomalies: readonly Anomaly[];
  readonly stats: {
    readonly produceOk: number;
    readonly produceFail: number;
    readonly produceInfo: number;
    readonly reads: number;
    readonly recordsRead: number;
  };
}
