/**
 * The replication protocol's messages (broker <-> broker and coordinator <-> broker) as plain data.
 * Every message carries the epoch it belongs to; that is what fencing compares. The broker maps
 * these to the internal Replication / Coordinator gRPC messages one to one, adding the partition.
 */

/** Ack levels of a produce (DESIGN.md, Replication rule 4). */
export type Acks = 'NONE' | 'LEADER' | 'QUORUM' | 'ALL';

/**
 * A batch as the state machines see it: its header plus opaque bytes. `payload` is never looked at.
 * In FetchResponses and follower appends it is the stored batch (encoded runnel.v1.Batch, appended
 * with `PartitionLog.appendBatch`); on the leader's own appends it is what `propose()` was given.
 * A control batch (the epoch-start marker) has `control: true`, one record and an empty payload.
 */
export interface ReplicaBatch {
  readonly baseOffset: number;
  readonly recordCount: number;
  /** Leader epoch that wrote the batch. */
  readonly epoch: number;
  readonly sizeBytes: number;
  readonly control: boolean;
  readonly payload: Uint8Array;
}

/** Offset just past a batch. */
export function batchEnd(batch: ReplicaBatch): number {
  return batch.baseOffset + batch.recordCount;
}

/**
 * Follower -> leader. "My log ends at `fetchOffset` with a batch of `lastFetchedEpoch`; of it,
 * `[0, durableOffset)` is durable." Sent on becoming follower, after every durable append, after a
 * truncation, and as a keepalive. It is the follower's only acknowledgement.
 */
export interface FetchRequest {
  readonly type: 'FetchRequest';
  readonly epoch: number;
  readonly replicaId: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly durableOffset: number;
}

/**
 * Leader -> follower. Batches continuing the follower's log (possibly none) and the leader's HW.
 * `confirmed` echoes a FetchRequest whose (fetchOffset, lastFetchedEpoch) the leader found to be a
 * prefix of its log; until a follower has seen such a confirmation for its current log it does not
 * trust `leaderHw`.
 */
export interface FetchResponse {
  readonly type: 'FetchResponse';
  readonly epoch: number;
  readonly leaderId: number;
  readonly batches: readonly ReplicaBatch[];
  readonly leaderHw: number;
  readonly confirmed?: { readonly fetchOffset: number; readonly lastFetchedEpoch: number };
}

/**
 * Leader -> follower (KIP-101/320): the follower's (fetchOffset, lastFetchedEpoch) is not a prefix
 * of the leader's log; the largest epoch <= lastFetchedEpoch in the leader's log is `divergingEpoch`
 * and it ends at `endOffset` (both -1 if none). Echoes the request so a late answer to an old
 * request is recognised and ignored.
 */
export interface Diverging {
  readonly type: 'Diverging';
  readonly epoch: number;
  readonly leaderId: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly divergingEpoch: number;
  readonly endOffset: number;
}

/**
 * Leader -> follower: the follower's `fetchOffset` is below the leader's log start (retention
 * deleted what the follower lacks, all of it committed). The follower drops its whole log and
 * starts again, empty, at `logStartOffset`, whose preceding record had `epochBeforeLogStart`
 * (Kafka's truncate-fully-and-start-at). Echoes the request, like Diverging.
 */
export interface BelowLogStart {
  readonly type: 'BelowLogStart';
  readonly epoch: number;
  readonly leaderId: number;
  readonly fetchOffset: number;
  readonly lastFetchedEpoch: number;
  readonly logStartOffset: number;
  readonly epochBeforeLogStart: number;
}

/** Any replica -> sender of a message from an epoch below `epoch` (the rejecter's promised epoch). */
export interface Fenced {
  readonly type: 'Fenced';
  readonly epoch: number;
  readonly replicaId: number;
  readonly rejectedEpoch: number;
}

/** Coordinator -> replica: promise to reject every epoch < `epoch` and tell me your log's end. */
export interface PrepareEpoch {
  readonly type: 'PrepareEpoch';
  readonly epoch: number;
}

/** Replica -> coordinator: the promise (already durable) and the replica's durable log end. */
export interface EpochPromise {
  readonly type: 'EpochPromise';
  readonly epoch: number;
  readonly replicaId: number;
  /** Epoch of the last durable batch, -1 if empty. */
  readonly lastEpoch: number;
  /** Durable log end offset. */
  readonly logEndOffset: number;
}

/** Replica -> coordinator: already promised `promisedEpoch` >= the asked epoch. */
export interface PrepareRejected {
  readonly type: 'PrepareRejected';
  readonly epoch: number;
  readonly replicaId: number;
  readonly promisedEpoch: number;
}

/**
 * Replica -> coordinator: told to lead `epoch` but it promised that epoch before a restart, so it
 * cannot vouch for its own unsynced writes; the coordinator must elect again (with a new epoch).
 */
export interface LeadershipDeclined {
  readonly type: 'LeadershipDeclined';
  readonly epoch: number;
  readonly replicaId: number;
}

/**
 * Replica -> coordinator: this leader of `epoch` has not heard from a majority of its replica set
 * (itself included) for `leaderIsolationTicks`, although the coordinator still hears it. The
 * coordinator moves the leadership to another replica if the others can form a majority; otherwise
 * it changes nothing. Re-sent every `leaderIsolationTicks` while it lasts.
 */
export interface LeaderIsolated {
  readonly type: 'LeaderIsolated';
  readonly epoch: number;
  readonly replicaId: number;
}

/** Coordinator -> replica (metadata push): `leader` leads at `epoch`; the others follow it. Idempotent. */
export interface RoleChange {
  readonly type: 'RoleChange';
  readonly epoch: number;
  readonly leader: number;
  /** The assigned replica set, leader included (ordered, first = preferred leader). */
  readonly replicas: readonly number[];
}

/** Everything `PartitionReplica.step()` accepts. */
export type ReplicaInput = FetchRequest | FetchResponse | Diverging | BelowLogStart | Fenced | PrepareEpoch | RoleChange;
/** Everything a `PartitionReplica` sends. */
export type ReplicaOutput =
  | FetchRequest
  | FetchResponse
  | Diverging
  | BelowLogStart
  | Fenced
  | EpochPromise
  | PrepareRejected
  | LeadershipDeclined
  | LeaderIsolated;
/** Everything `LeaderElection.step()` accepts. */
export type ElectionInput = EpochPromise | PrepareRejected | LeadershipDeclined | LeaderIsolated;
