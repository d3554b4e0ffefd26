import { assert } from './assert.js';
import {
  CONTROL_BATCH_BYTES,
  FETCH_KEEPALIVE_TICKS,
  FOLLOWER_LIVENESS_TICKS,
  FOLLOWER_READ_BYTES_MAX,
  FOLLOWER_RETRANSMIT_TICKS,
  FOLLOWER_WINDOW_BATCHES_MAX,
  FOLLOWER_WINDOW_BYTES_MAX,
  LEADER_ISOLATION_TICKS,
  LOG_OPS_IN_FLIGHT_MAX,
  PENDING_PRODUCES_MAX,
  PRODUCE_TIMEOUT_TICKS_DEFAULT,
  REPLICAS_MAX,
} from './constants.js';
import { EpochCache, LOG_START_ZERO, type EpochEntry, type LogStart } from './epoch-cache.js';
import { batchEnd } from './messages.js';
import type {
  Acks,
  BelowLogStart,
  Diverging,
  FetchRequest,
  FetchResponse,
  ReplicaBatch,
  ReplicaInput,
  ReplicaOutput,
  RoleChange,
} from './messages.js';
import type { Mutation } from './mutation.js';

/** What a replica currently is for its partition. `none`: promised a newer epoch, or not (yet) told. */
export type Role = 'leader' | 'follower' | 'none';

/** Why an accepted produce failed later (delivered in `ReplicaReady.acks`). All retriable. */
export type ProduceError = 'NOT_LEADER' | 'TIMEOUT' | 'NOT_ENOUGH_REPLICAS';
/** Why `propose()` refused a produce at once (nothing was appended). All retriable. */
export type ProposeRejection = 'NOT_LEADER' | 'NOT_ENOUGH_REPLICAS' | 'TOO_MANY_REQUESTS';

/** A produce handed to the leader. */
export interface Proposal {
  /** Caller's correlation id, echoed in the ack. */
  readonly produceId: number;
  /** Opaque records (the broker: its encoded RecordSet and producer metadata). */
  readonly payload: Uint8Array;
  /** Offsets the batch takes (>= 1). */
  readonly recordCount: number;
  /** Bytes the batch takes on disk and on the wire (for flow-control windows). */
  readonly sizeBytes: number;
  readonly acks: Acks;
  /** Ticks to wait for the ack level; default PRODUCE_TIMEOUT_TICKS_DEFAULT. */
  readonly timeoutTicks?: number;
}

export type ProposeResult =
  | { readonly ok: true; readonly baseOffset: number }
  | { readonly ok: false; readonly error: ProposeRejection };

/**
 * Storage work, in the order it must be issued. Log operations (`append`, `truncate`, `reset`) must
 * complete in issue order and each completion must be reported: `appended(endOffset)`,
 * `truncated(offset)`, `logReset(offset)`.
 * `promise` goes to the process's durable metadata (MetaStore.put, synchronous) and its completion
 * is reported with `promisePersisted(epoch)`. `highWatermark` is a checkpoint (`setHighWatermark`),
 * no completion needed.
 */
export type PersistAction =
  /** origin 'leader': build the batch from the proposal (`PartitionLog.append`); 'follower': `appendBatch(payload)`. */
  | { readonly kind: 'append'; readonly batch: ReplicaBatch; readonly origin: 'leader' | 'follower' }
  | { readonly kind: 'truncate'; readonly offset: number }
  /** Drop every batch and start the log again, empty, at `logStart` (`PartitionLog.resetTo`); report `logReset(offset)`. */
  | { readonly kind: 'reset'; readonly logStart: LogStart }
  | { readonly kind: 'promise'; readonly epoch: number }
  | { readonly kind: 'highWatermark'; readonly highWatermark: number };

/**
 * The leader needs batches from its log to ship to follower `replicaId`: whole batches from the one
 * holding `fromOffset`, within `maxBytes` (at least one), none at or beyond `endOffset`. Answer with
 * `readCompleted(token, batches)` (an empty list is fine; a read that fails may go unanswered).
 */
export interface ReadRequest {
  readonly token: number;
  readonly replicaId: number;
  readonly fromOffset: number;
  readonly maxBytes: number;
  readonly endOffset: number;
}

/** A message to another replica (by id) or to the coordinator. Delivery may fail: nothing depends on it. */
export interface Outgoing {
  readonly to: number | 'coordinator';
  readonly msg: ReplicaOutput;
}

export type ProduceAck =
  | { readonly produceId: number; readonly baseOffset: number }
  | { readonly produceId: number; readonly error: ProduceError };

/** Everything the driver must carry out, in this order: persist, reads, send, acks. See {@link PartitionReplica}. */
export interface ReplicaReady {
  readonly persist: readonly PersistAction[];
  readonly reads: readonly ReadRequest[];
  readonly send: readonly Outgoing[];
  readonly acks: readonly ProduceAck[];
  /** Readers may see offsets below this (and never at or above it). */
  readonly highWatermark: number;
  readonly role: Role;
  readonly epoch: number;
  readonly leaderId: number | undefined;
}

/** What the driver recovers from storage before (re)creating a replica. */
export interface RestoredReplicaState {
  /** LEO of the recovered log (everything recovered is durable). */
  readonly logEndOffset: number;
  readonly epochEntries: readonly EpochEntry[];
  /** The last HW checkpoint (<= logEndOffset). */
  readonly highWatermark: number;
  /** The last persisted promise (0 if none). */
  readonly promisedEpoch: number;
  /** Where retention left the log's start (default: offset 0). */
  readonly logStart?: LogStart;
}

export interface ReplicaConfig {
  readonly windowBytesMax: number;
  readonly windowBatchesMax: number;
  readonly readBytesMax: number;
  readonly retransmitTicks: number;
  readonly fetchKeepaliveTicks: number;
  readonly followerLivenessTicks: number;
  /** See LEADER_ISOLATION_TICKS. */
  readonly leaderIsolationTicks: number;
  readonly produceTimeoutTicks: number;
  readonly pendingProducesMax: number;
  readonly logOpsInFlightMax: number;
}

export const DEFAULT_REPLICA_CONFIG: ReplicaConfig = Object.freeze({
  windowBytesMax: FOLLOWER_WINDOW_BYTES_MAX,
  windowBatchesMax: FOLLOWER_WINDOW_BATCHES_MAX,
  readBytesMax: FOLLOWER_READ_BYTES_MAX,
  retransmitTicks: FOLLOWER_RETRANSMIT_TICKS,
  fetchKeepaliveTicks: FETCH_KEEPALIVE_TICKS,
  followerLivenessTicks: FOLLOWER_LIVENESS_TICKS,
  leaderIsolationTicks: LEADER_ISOLATION_TICKS,
  produceTimeoutTicks: PRODUCE_TIMEOUT_TICKS_DEFAULT,
  pendingProducesMax: PENDING_PRODUCES_MAX,
  logOpsInFlightMax: LOG_OPS_IN_FLIGHT_MAX,
});

export interface PartitionReplicaOptions {
  readonly replicaId: number;
  readonly restored: RestoredReplicaState;
  readonly config?: Partial<ReplicaConfig>;
  /** Negative control for the simulator only. */
  readonly mutation?: Mutation;
}

interface FollowerProgress {
  /** Durable LEO the follower reported with a fetch that was a prefix of our log. */
  match: number;
  /** Where the next shipment starts; undefined until the follower's first valid fetch. */
  next: number | undefined;
  /** Fetch offset of the follower's latest valid fetch (the retransmit point). */
  lastFetchOffset: number;
  /** Shipments not yet acknowledged by a fetch, oldest first. */
  inFlight: Array<{ end: number; bytes: number; batches: number }>;
  inFlightBytes: number;
  inFlightBatches: number;
  readToken: number | undefined;
  lastHeardTick: number;
  lastProgressTick: number;
}

interface PendingProduce {
  readonly produceId: number;
  readonly baseOffset: number;
  readonly endOffset: number;
  readonly acks: Acks;
  readonly deadlineTick: number;
}

interface LogOp {
  readonly kind: 'append' | 'truncate' | 'reset';
  /** Log end offset right after this operation. */
  readonly end: number;
}

const EMPTY = new Uint8Array(0);

/**
 * One replica of one partition: a pure state machine (no I/O, no clock, no randomness).
 *
 * Inputs: {@link step} (a protocol message), {@link tick} (time), {@link propose} (a produce, on the
 * leader), and storage completions {@link appended}, {@link truncated}, {@link promisePersisted},
 * {@link readCompleted}. Output: {@link ready}; then {@link advance}.
 *
 * The driver (one async loop per partition in the broker) must, after any input, when
 * {@link hasReady} is true:
 *   1. take `r = ready()`;
 *   2. PERSIST: issue every `r.persist` action to storage in order (appends and truncations to the
 *      partition log in order, so they complete in order; the promise to the MetaStore). Issuing is
 *      enough — do not wait: the core waits for the completions it needs (a promise is answered
 *      only after `promisePersisted`; only durable offsets are acknowledged or counted). Report each
 *      completion, in order, as a new input;
 *   3. start every `r.reads` and report each with `readCompleted`;
 *   4. SEND every `r.send` message (best effort: loss, duplication and reordering are tolerated);
 *   5. ACKNOWLEDGE every `r.acks` entry to its producer, and serve readers below `r.highWatermark`;
 *   6. call `advance()`.
 * Inputs are delivered one at a time (never re-entrantly from inside steps 2-5 of the same Ready
 * except as new inputs after `advance()`), so the whole core is single-threaded.
 *
 * On a process restart, build a new PartitionReplica from what storage recovered; it starts with
 * role `none` and waits for the coordinator. A restarted replica never leads an epoch it had
 * promised before the restart (it would not know which of its own writes survived).
 */
export class PartitionReplica {
  readonly replicaId: number;
  readonly #cfg: ReplicaConfig;
  readonly #mutation: Mutation | undefined;

  #now = 0;
  #role: Role = 'none';
  #roleEpoch = 0;
  #leaderId: number | undefined;
  #replicas: readonly number[] = [];

  /** Highest epoch promised (persisted, or being persisted). */
  #promisedEpoch: number;
  /** Highest epoch whose promise is known durable. */
  #durablePromisedEpoch: number;
  /** The promise persisted when this process started: epochs <= this are never led in this life. */
  readonly #lifeStartPromisedEpoch: number;
  /** A PrepareEpoch waiting for its promise to become durable before it is answered. */
  #promiseAnswerDue: number | undefined;
  /** Highest epoch promised and answered in this process life. */
  #answeredInLife = -1;

  #cache: EpochCache;
  /** Where this log starts (moved by retention, `logStartMoved`, and by a reset). */
  #logStart: LogStart;
  #leo: number;
  #durableLeo: number;
  #ops: LogOp[] = [];
  #hw: number;

  // leader
  #epochStartOffset = 0;
  #followers = new Map<number, FollowerProgress>();
  #pending: PendingProduce[] = [];
  #nextToken = 0;
  /** Last tick at which a majority of the replica set (this leader included) was live. */
  #lastMajorityTick = 0;

  // follower
  #verifiedUpTo = 0;
  #leaderHwSeen = 0;
  #fetchDue = false;
  #lastFetchTick = 0;

  // outbox
  #persist: PersistAction[] = [];
  #reads: ReadRequest[] = [];
  #send: Outgoing[] = [];
  #acks: ProduceAck[] = [];

  constructor(options: PartitionReplicaOptions) {
    const { restored } = options;
    this.replicaId = options.replicaId;
    this.#cfg = { ...DEFAULT_REPLICA_CONFIG, ...options.config };
    this.#mutation = options.mutation;
    assert(restored.highWatermark >= 0 && restored.highWatermark <= restored.logEndOffset, 'restored HW beyond LEO');
    let logStart = restored.logStart ?? LOG_START_ZERO;
    if (this.#mutation === 'forget-log-start-epoch' || this.#mutation === 'empty-log-diverges') logStart = { offset: logStart.offset, epochBefore: -1 };
    // Retention deletes only below the HW: a log's start is never above what it has committed.
    assert(logStart.offset <= restored.highWatermark, `restored log start ${logStart.offset} beyond HW ${restored.highWatermark}`);
    this.#cache = new EpochCache(restored.epochEntries, logStart);
    this.#logStart = logStart;
    this.#leo = restored.logEndOffset;
    this.#durableLeo = restored.logEndOffset;
    this.#hw = restored.highWatermark;
    this.#promisedEpoch = restored.promisedEpoch;
    this.#durablePromisedEpoch = restored.promisedEpoch;
    this.#lifeStartPromisedEpoch = restored.promisedEpoch;
  }

  // ---- accessors -------------------------------------------------------------------------------

  get role(): Role {
    return this.#role;
  }
  /** Epoch of the current role (the last one adopted). */
  get epoch(): number {
    return this.#roleEpoch;
  }
  get leaderId(): number | undefined {
    return this.#leaderId;
  }
  get promisedEpoch(): number {
    return this.#promisedEpoch;
  }
  get highWatermark(): number {
    return this.#hw;
  }
  get logEndOffset(): number {
    return this.#leo;
  }
  get durableEndOffset(): number {
    return this.#durableLeo;
  }
  get lastEpoch(): number {
    return this.#cache.lastEpoch;
  }
  get pendingProduces(): number {
    return this.#pending.length;
  }
  epochEntries(): readonly EpochEntry[] {
    return this.#cache.entries();
  }
  /** Leader only: the follower's acknowledged durable LEO and bytes in flight (for metrics and tests). */
  followerProgress(replicaId: number): { match: number; inFlightBytes: number; inFlightBatches: number } | undefined {
    const st = this.#followers.get(replicaId);
    return st === undefined ? undefined : { match: st.match, inFlightBytes: st.inFlightBytes, inFlightBatches: st.inFlightBatches };
  }

  /**
   * Leader only (else empty): replicas, itself first, whose acknowledged durable end equals this
   * leader's LEO and that were heard from within the liveness window (for heartbeat reports).
   */
  inSyncReplicas(): number[] {
    if (this.#role !== 'leader') return [];
    const out = [this.replicaId];
    for (const [id, st] of this.#followers) {
      if (st.match >= this.#leo && this.#now - st.lastHeardTick < this.#cfg.followerLivenessTicks) out.push(id);
    }
    return out;
  }

  // ---- Ready / advance -------------------------------------------------------------------------

  hasReady(): boolean {
    return this.#persist.length + this.#reads.length + this.#send.length + this.#acks.length > 0;
  }

  ready(): ReplicaReady {
    return {
      persist: this.#persist,
      reads: this.#reads,
      send: this.#send,
      acks: this.#acks,
      highWatermark: this.#hw,
      role: this.#role,
      epoch: this.#roleEpoch,
      leaderId: this.#leaderId,
    };
  }

  /** The driver has carried out the last `ready()`. */
  advance(): void {
    this.#persist = [];
    this.#reads = [];
    this.#send = [];
    this.#acks = [];
  }

  // ---- inputs ----------------------------------------------------------------------------------

  tick(): void {
    this.#now++;
    if (this.#role === 'leader') {
      for (const st of this.#followers.values()) {
        if (
          st.next !== undefined &&
          st.next > st.lastFetchOffset &&
          this.#now - st.lastProgressTick >= this.#cfg.retransmitTicks
        ) {
          // Shipments were lost (or the follower restarted): ship again from its last fetch.
          st.next = st.lastFetchOffset;
          st.inFlight = [];
          st.inFlightBytes = 0;
          st.inFlightBatches = 0;
          st.readToken = undefined;
          st.lastProgressTick = this.#now;
        }
      }
      this.#checkIsolation();
    } else if (this.#role === 'follower') {
      if (this.#now - this.#lastFetchTick >= this.#cfg.fetchKeepaliveTicks) this.#fetchDue = true;
    }
    this.#afterInput();
  }

  step(msg: ReplicaInput): void {
    switch (msg.type) {
      case 'RoleChange':
        this.#onRoleChange(msg);
        break;
      case 'PrepareEpoch':
        this.#onPrepareEpoch(msg.epoch);
        break;
      case 'FetchRequest':
        if (this.#role === 'leader' && msg.epoch === this.#roleEpoch) this.#onFetchRequest(msg);
        else if (this.#role === 'leader' && msg.epoch > this.#roleEpoch) this.#stepDown();
        else if (msg.epoch < this.#fenceEpoch()) this.#fence(msg.replicaId, msg.epoch);
        break;
      case 'FetchResponse':
      case 'Diverging':
      case 'BelowLogStart':
        if (msg.epoch < this.#fenceEpoch()) this.#fence(msg.leaderId, msg.epoch);
        else if (this.#role === 'follower' && msg.epoch === this.#roleEpoch && msg.leaderId === this.#leaderId) {
          if (msg.type === 'FetchResponse') this.#onFetchResponse(msg);
          else if (msg.type === 'Diverging') this.#onDiverging(msg);
          else this.#onBelowLogStart(msg);
        }
        break;
      case 'Fenced':
        if (this.#role === 'leader' && msg.epoch > this.#roleEpoch) this.#stepDown();
        break;
    }
    this.#afterInput();
  }

  /** Leader only: append a produce. The ack (or a later error) arrives in `ready().acks`. */
  propose(p: Proposal): ProposeResult {
    assert(p.recordCount >= 1 && p.sizeBytes >= 0, 'bad proposal');
    if (this.#role !== 'leader') return { ok: false, error: 'NOT_LEADER' };
    if (this.#pending.length >= this.#cfg.pendingProducesMax || this.#ops.length >= this.#cfg.logOpsInFlightMax) {
      return { ok: false, error: 'TOO_MANY_REQUESTS' };
    }
    if (p.acks === 'QUORUM' || p.acks === 'ALL') {
      const need = p.acks === 'ALL' ? this.#replicas.length : this.#majority();
      if (this.#liveReplicas() < need) return { ok: false, error: 'NOT_ENOUGH_REPLICAS' };
    }
    const baseOffset = this.#leo;
    this.#appendLocal(
      { baseOffset, recordCount: p.recordCount, epoch: this.#roleEpoch, sizeBytes: p.sizeBytes, control: false, payload: p.payload },
      'leader',
    );
    if (p.acks === 'NONE') this.#acks.push({ produceId: p.produceId, baseOffset });
    else {
      this.#pending.push({
        produceId: p.produceId,
        baseOffset,
        endOffset: this.#leo,
        acks: p.acks,
        deadlineTick: this.#now + (p.timeoutTicks ?? this.#cfg.produceTimeoutTicks),
      });
    }
    this.#afterInput();
    return { ok: true, baseOffset };
  }

  /** Storage: the append issued with end offset `upTo` is durable (completions arrive in issue order). */
  appended(upTo: number): void {
    this.#completeOp('append', upTo);
  }

  /** Storage: the truncation to `offset` is durable. */
  truncated(offset: number): void {
    this.#completeOp('truncate', offset);
  }

  /** Storage: the reset of the log to start, empty, at `offset` is durable. */
  logReset(offset: number): void {
    this.#completeOp('reset', offset);
  }

  /**
   * Retention moved this log's start (it deleted committed batches below it). A leader answers a
   * follower fetching below it with BelowLogStart instead of reading what is gone.
   */
  logStartMoved(logStart: LogStart): void {
    if (logStart.offset <= this.#logStart.offset) return;
    assert(logStart.offset <= this.#hw, `log start ${logStart.offset} beyond HW ${this.#hw}`);
    this.#logStart = logStart;
    this.#afterInput();
  }

  /** MetaStore: the promise of `epoch` is durable. */
  promisePersisted(epoch: number): void {
    this.#durablePromisedEpoch = Math.max(this.#durablePromisedEpoch, epoch);
    const due = this.#promiseAnswerDue;
    if (due !== undefined && this.#durablePromisedEpoch >= due) {
      this.#promiseAnswerDue = undefined;
      if (due === this.#promisedEpoch) this.#answerPromise(due);
    }
    this.#afterInput();
  }

  /** Storage: the batches of read `token` (see {@link ReadRequest}). */
  readCompleted(token: number, batches: readonly ReplicaBatch[]): void {
    if (this.#role === 'leader') {
      for (const [replicaId, st] of this.#followers) {
        if (st.readToken !== token) continue;
        st.readToken = undefined;
        this.#shipBatches(replicaId, st, batches);
        break;
      }
    }
    this.#afterInput();
  }

  // ---- roles and fencing -----------------------------------------------------------------------

  /** Messages from epochs below this are rejected. */
  #fenceEpoch(): number {
    return this.#mutation === 'no-promise' ? this.#roleEpoch : this.#promisedEpoch;
  }

  #fence(to: number, rejectedEpoch: number): void {
    this.#send.push({ to, msg: { type: 'Fenced', epoch: this.#fenceEpoch(), replicaId: this.replicaId, rejectedEpoch } });
  }

  #raisePromise(epoch: number): void {
    if (epoch <= this.#promisedEpoch) return;
    this.#promisedEpoch = epoch;
    this.#persist.push({ kind: 'promise', epoch });
  }

  #onPrepareEpoch(epoch: number): void {
    if (epoch < this.#promisedEpoch) {
      this.#send.push({
        to: 'coordinator',
        msg: { type: 'PrepareRejected', epoch, replicaId: this.replicaId, promisedEpoch: this.#promisedEpoch },
      });
      return;
    }
    if (epoch === this.#promisedEpoch) {
      // A re-sent PrepareEpoch: answer again once durable.
      if (this.#durablePromisedEpoch >= epoch) this.#answerPromise(epoch);
      else this.#promiseAnswerDue = epoch;
      return;
    }
    this.#raisePromise(epoch);
    this.#promiseAnswerDue = epoch;
    if (this.#mutation !== 'no-promise') {
      // From now on every epoch < `epoch` is rejected: stop leading / following the old one at once.
      if (this.#role === 'leader') this.#stepDown();
      else if (this.#role === 'follower') this.#role = 'none';
    }
  }

  #answerPromise(epoch: number): void {
    // Answer with the durable log only: it is what survives a crash of this replica.
    this.#send.push({
      to: 'coordinator',
      msg: {
        type: 'EpochPromise',
        epoch,
        replicaId: this.replicaId,
        lastEpoch: this.#cache.epochBefore(this.#durableLeo),
        logEndOffset: this.#durableLeo,
      },
    });
    if (epoch > this.#lifeStartPromisedEpoch) this.#answeredInLife = Math.max(this.#answeredInLife, epoch);
  }

  #onRoleChange(m: RoleChange): void {
    if (m.epoch < this.#promisedEpoch || m.epoch < this.#roleEpoch) return; // stale
    if (m.epoch === this.#roleEpoch && this.#role !== 'none' && m.leader === this.#leaderId) return; // idempotent
    assert(m.replicas.length >= 1 && m.replicas.length <= REPLICAS_MAX, 'replica set size out of bounds');
    if (m.epoch > this.#promisedEpoch) {
      this.#raisePromise(m.epoch);
      this.#promiseAnswerDue = undefined;
    }
    if (this.#role === 'leader') this.#stepDown();
    this.#replicas = [...m.replicas];
    this.#roleEpoch = m.epoch;
    this.#leaderId = m.leader;
    if (!m.replicas.includes(this.replicaId)) {
      this.#role = 'none';
    } else if (m.leader === this.replicaId) {
      if (this.#answeredInLife === m.epoch) this.#becomeLeader(m.epoch);
      else {
        // Chosen from a promise made before a restart: we cannot vouch for our own unsynced writes.
        this.#role = 'none';
        this.#send.push({ to: 'coordinator', msg: { type: 'LeadershipDeclined', epoch: m.epoch, replicaId: this.replicaId } });
      }
    } else {
      this.#role = 'follower';
      this.#verifiedUpTo = 0;
      this.#leaderHwSeen = 0;
      this.#fetchDue = true;
    }
  }

  #becomeLeader(epoch: number): void {
    this.#role = 'leader';
    this.#followers = new Map();
    this.#lastMajorityTick = this.#now;
    for (const id of this.#replicas) {
      if (id === this.replicaId) continue;
      this.#followers.set(id, {
        match: 0,
        next: undefined,
        lastFetchOffset: 0,
        inFlight: [],
        inFlightBytes: 0,
        inFlightBatches: 0,
        readToken: undefined,
        lastHeardTick: this.#now,
        lastProgressTick: this.#now,
      });
    }
    // Epoch-start control batch: nothing of earlier epochs commits before a batch of ours does.
    // An empty log has nothing of earlier epochs, so a new partition's offsets start at 0.
    this.#epochStartOffset = this.#leo;
    if (this.#leo === 0) return;
    this.#appendLocal(
      { baseOffset: this.#leo, recordCount: 1, epoch, sizeBytes: CONTROL_BATCH_BYTES, control: true, payload: EMPTY },
      'leader',
    );
  }

  #stepDown(): void {
    if (this.#role !== 'leader') return;
    this.#role = 'none';
    for (const p of this.#pending) this.#acks.push({ produceId: p.produceId, error: 'NOT_LEADER' });
    this.#pending = [];
    this.#followers = new Map();
  }

  /**
   * A leader the coordinator still hears but a majority of its replicas do not (a partition between
   * brokers only) could otherwise keep a leadership that commits nothing until the link heals: it
   * asks the coordinator to move it, once per isolation period.
   */
  #checkIsolation(): void {
    if (this.#liveReplicas() >= this.#majority()) {
      this.#lastMajorityTick = this.#now;
      return;
    }
    if (this.#now - this.#lastMajorityTick < this.#cfg.leaderIsolationTicks) return;
    this.#lastMajorityTick = this.#now;
    this.#send.push({ to: 'coordinator', msg: { type: 'LeaderIsolated', epoch: this.#roleEpoch, replicaId: this.replicaId } });
  }

  /** This leader and the followers heard from within the liveness window. */
  #liveReplicas(): number {
    let live = 1;
    for (const st of this.#followers.values()) if (this.#now - st.lastHeardTick < this.#cfg.followerLivenessTicks) live++;
    return live;
  }

  #majority(): number {
    return Math.floor(this.#replicas.length / 2) + 1;
  }

  // ---- log -------------------------------------------------------------------------------------

  #appendLocal(batch: ReplicaBatch, origin: 'leader' | 'follower'): void {
    assert(batch.baseOffset === this.#leo, `append at ${batch.baseOffset} but LEO is ${this.#leo}`);
    assert(batch.recordCount >= 1, 'empty batch');
    this.#persist.push({ kind: 'append', batch, origin });
    this.#cache.append(batch.epoch, batch.baseOffset);
    this.#leo = batchEnd(batch);
    this.#ops.push({ kind: 'append', end: this.#leo });
  }

  #truncateLocal(offset: number): void {
    assert(offset >= this.#hw, `truncation to ${offset} below HW ${this.#hw}`);
    assert(offset < this.#leo, 'truncation must drop something');
    this.#persist.push({ kind: 'truncate', offset });
    this.#cache.truncateTo(offset);
    this.#leo = offset;
    this.#durableLeo = Math.min(this.#durableLeo, offset);
    this.#verifiedUpTo = Math.min(this.#verifiedUpTo, offset);
    this.#ops.push({ kind: 'truncate', end: offset });
  }

  #completeOp(kind: LogOp['kind'], end: number): void {
    const op = this.#ops.shift();
    assert(op !== undefined && op.kind === kind && op.end === end, `unexpected ${kind}(${end}) completion`);
    // Durable and still ours: not beyond a truncation that is issued but not yet durable.
    let durable = op.end;
    for (const later of this.#ops) if (later.kind !== 'append') durable = Math.min(durable, later.end);
    if (op.kind === 'reset' && op.end > this.#hw) {
      // Everything below the leader's log start is committed: the empty log starts committed.
      this.#hw = op.end;
      this.#persist.push({ kind: 'highWatermark', highWatermark: op.end });
    }
    this.#durableLeo = durable;
    assert(this.#durableLeo <= this.#leo, 'durable LEO beyond LEO');
    if (this.#role === 'follower') {
      this.#fetchDue = true;
      this.#advanceFollowerHw();
    }
    this.#afterInput();
  }

  // ---- leader ----------------------------------------------------------------------------------

  #isPrefix(fetchOffset: number, lastFetchedEpoch: number): boolean {
    if (fetchOffset > this.#leo) return false;
    if (this.#mutation === 'no-divergence-check') return true;
    if (fetchOffset === 0) return true;
    // A follower with no epoch at all holds no batch: retention emptied its log below its HW, so
    // everything before `fetchOffset` is committed, and so in this log (Kafka's truncate-to-HW case).
    if (lastFetchedEpoch < 0 && this.#mutation !== 'empty-log-diverges') return true;
    const r = this.#cache.endOffsetForEpoch(lastFetchedEpoch, this.#leo);
    return r.epoch === lastFetchedEpoch && r.endOffset >= fetchOffset;
  }

  #onFetchRequest(m: FetchRequest): void {
    const st = this.#followers.get(m.replicaId);
    if (st === undefined) return;
    st.lastHeardTick = this.#now;
    if (m.fetchOffset < this.#logStart.offset) {
      this.#send.push({
        to: m.replicaId,
        msg: {
          type: 'BelowLogStart',
          epoch: this.#roleEpoch,
          leaderId: this.replicaId,
          fetchOffset: m.fetchOffset,
          lastFetchedEpoch: m.lastFetchedEpoch,
          logStartOffset: this.#logStart.offset,
          epochBeforeLogStart: this.#logStart.epochBefore,
        },
      });
      return;
    }
    if (!this.#isPrefix(m.fetchOffset, m.lastFetchedEpoch)) {
      const r = this.#cache.endOffsetForEpoch(m.lastFetchedEpoch, this.#leo);
      this.#send.push({
        to: m.replicaId,
        msg: {
          type: 'Diverging',
          epoch: this.#roleEpoch,
          leaderId: this.replicaId,
          fetchOffset: m.fetchOffset,
          lastFetchedEpoch: m.lastFetchedEpoch,
          divergingEpoch: r.epoch,
          endOffset: r.endOffset,
        },
      });
      return;
    }
    assert(m.durableOffset <= m.fetchOffset, 'durable offset beyond fetch offset');
    if (m.durableOffset > st.match) st.match = m.durableOffset;
    if (st.next === undefined || m.fetchOffset > st.lastFetchOffset) st.lastProgressTick = this.#now;
    st.lastFetchOffset = m.fetchOffset;
    while (st.inFlight.length > 0 && st.inFlight[0]!.end <= m.fetchOffset) {
      const done = st.inFlight.shift()!;
      st.inFlightBytes -= done.bytes;
      st.inFlightBatches -= done.batches;
    }
    if (st.next === undefined || st.next < m.fetchOffset) {
      st.next = m.fetchOffset;
      st.inFlight = [];
      st.inFlightBytes = 0;
      st.inFlightBatches = 0;
      st.readToken = undefined;
    }
    this.#send.push({
      to: m.replicaId,
      msg: {
        type: 'FetchResponse',
        epoch: this.#roleEpoch,
        leaderId: this.replicaId,
        batches: [],
        leaderHw: this.#hw,
        confirmed: { fetchOffset: m.fetchOffset, lastFetchedEpoch: m.lastFetchedEpoch },
      },
    });
  }

  #shipBatches(replicaId: number, st: FollowerProgress, batches: readonly ReplicaBatch[]): void {
    if (st.next === undefined) return;
    const out: ReplicaBatch[] = [];
    let pos = st.next;
    let bytes = 0;
    for (const b of batches) {
      if (batchEnd(b) <= pos) continue;
      if (b.baseOffset !== pos || b.epoch > this.#roleEpoch) break;
      if (out.length > 0 && st.inFlightBytes + bytes + b.sizeBytes > this.#cfg.windowBytesMax) break;
      if (st.inFlightBatches + out.length >= this.#cfg.windowBatchesMax) break;
      out.push(b);
      bytes += b.sizeBytes;
      pos = batchEnd(b);
    }
    if (out.length === 0) return;
    st.inFlight.push({ end: pos, bytes, batches: out.length });
    st.inFlightBytes += bytes;
    st.inFlightBatches += out.length;
    st.next = pos;
    this.#send.push({
      to: replicaId,
      msg: { type: 'FetchResponse', epoch: this.#roleEpoch, leaderId: this.replicaId, batches: out, leaderHw: this.#hw },
    });
  }

  #requestReads(): void {
    for (const [replicaId, st] of this.#followers) {
      if (st.next === undefined || st.readToken !== undefined || st.next >= this.#leo) continue;
      if (st.inFlightBytes >= this.#cfg.windowBytesMax || st.inFlightBatches >= this.#cfg.windowBatchesMax) continue;
      const token = ++this.#nextToken;
      st.readToken = token;
      this.#reads.push({
        token,
        replicaId,
        fromOffset: st.next,
        maxBytes: Math.max(1, Math.min(this.#cfg.readBytesMax, this.#cfg.windowBytesMax - st.inFlightBytes)),
        endOffset: this.#leo,
      });
    }
  }

  /** Rule 3: the largest N on a majority (leader included) whose batch ending at N is of our epoch. */
  #advanceLeaderHw(): void {
    const ends = [this.#durableLeo];
    for (const st of this.#followers.values()) ends.push(Math.min(st.match, this.#leo));
    ends.sort((a, b) => b - a);
    const onMajority = ends[this.#majority() - 1] ?? 0;
    const candidate = Math.min(onMajority, this.#durableLeo);
    if (this.#mutation !== 'no-epoch-start-rule' && candidate <= this.#epochStartOffset) return;
    if (candidate <= this.#hw) return;
    this.#hw = candidate;
    this.#persist.push({ kind: 'highWatermark', highWatermark: candidate });
    for (const [replicaId, st] of this.#followers) {
      if (st.next === undefined) continue;
      this.#send.push({
        to: replicaId,
        msg: { type: 'FetchResponse', epoch: this.#roleEpoch, leaderId: this.replicaId, batches: [], leaderHw: this.#hw },
      });
    }
  }

  #settleProduces(): void {
    if (this.#pending.length === 0) return;
    const still: PendingProduce[] = [];
    for (const p of this.#pending) {
      let done: boolean;
      switch (p.acks) {
        case 'LEADER':
          done = this.#durableLeo >= p.endOffset;
          break;
        case 'QUORUM':
          done = this.#mutation === 'ack-before-quorum' ? this.#durableLeo >= p.endOffset : this.#hw >= p.endOffset;
          break;
        case 'ALL': {
          done = this.#hw >= p.endOffset;
          for (const st of this.#followers.values()) if (st.match < p.endOffset) done = false;
          break;
        }
        case 'NONE':
          done = true;
          break;
      }
      if (done) this.#acks.push({ produceId: p.produceId, baseOffset: p.baseOffset });
      else if (this.#now >= p.deadlineTick) this.#acks.push({ produceId: p.produceId, error: 'TIMEOUT' });
      else still.push(p);
    }
    this.#pending = still;
  }

  // ---- follower --------------------------------------------------------------------------------

  #onFetchResponse(m: FetchResponse): void {
    if (m.confirmed !== undefined) {
      const { fetchOffset, lastFetchedEpoch } = m.confirmed;
      // Log matching: a log holding (fetchOffset, lastFetchedEpoch) equals the leader's below it.
      if (fetchOffset <= this.#leo && this.#cache.epochBefore(fetchOffset) === lastFetchedEpoch) {
        this.#verifiedUpTo = Math.max(this.#verifiedUpTo, fetchOffset);
      }
    }
    for (const b of m.batches) {
      if (batchEnd(b) <= this.#leo) continue;
      if (b.baseOffset !== this.#leo) break;
      // Only extend a log the leader has confirmed up to its end. An unconfirmed tail may be stale
      // data the leader does not have (e.g. a truncation lost in a crash); appending the leader's
      // batches after it would break log matching. Dropped batches are re-shipped.
      if (this.#verifiedUpTo !== this.#leo) break;
      if (this.#ops.length >= this.#cfg.logOpsInFlightMax) break;
      assert(b.epoch <= this.#roleEpoch, 'batch from a future epoch');
      this.#appendLocal(b, 'follower');
      this.#verifiedUpTo = this.#leo;
    }
    if (m.leaderHw > this.#leaderHwSeen) this.#leaderHwSeen = m.leaderHw;
    this.#advanceFollowerHw();
  }

  #onDiverging(m: Diverging): void {
    // Only an answer to our current position counts; a late answer to an older request is ignored.
    if (m.fetchOffset !== this.#leo || m.lastFetchedEpoch !== this.#cache.lastEpoch) return;
    // Truncate only to offsets known to be batch boundaries of this log (storage drops a straddling
    // batch whole): the leader's end of an epoch we share, or the start of one of our epochs.
    // With no epoch in common that we know of (retention deleted it here or on the leader), only
    // what lies above our HW can diverge: everything below it is committed, so the leader has it.
    let target = this.#mutation === 'empty-log-diverges' ? 0 : this.#hw;
    if (m.divergingEpoch >= 0) {
      const own = this.#cache.endOffsetForEpoch(m.divergingEpoch, this.#leo);
      if (own.epoch === m.divergingEpoch) target = Math.min(m.endOffset, own.endOffset);
      // We lack the leader's epoch: drop everything after our largest epoch below it; the next
      // fetch goes on from there (KIP-279: one round per epoch).
      else if (own.epoch >= 0) target = own.endOffset;
    }
    if (target < this.#leo) this.#truncateLocal(target);
    this.#fetchDue = true;
  }

  #onBelowLogStart(m: BelowLogStart): void {
    if (m.fetchOffset !== this.#leo || m.lastFetchedEpoch !== this.#cache.lastEpoch) return;
    if (m.logStartOffset <= this.#leo) return;
    // Everything the leader lacks below its log start is committed (retention deletes only below
    // the HW), so nothing we hold there can be lost by dropping it: start again where it starts.
    const logStart: LogStart = { offset: m.logStartOffset, epochBefore: m.epochBeforeLogStart };
    this.#persist.push({ kind: 'reset', logStart });
    this.#cache = new EpochCache([], logStart);
    this.#logStart = logStart;
    this.#leo = logStart.offset;
    this.#verifiedUpTo = 0;
    this.#ops.push({ kind: 'reset', end: logStart.offset });
    this.#fetchDue = true;
  }

  #advanceFollowerHw(): void {
    const candidate = Math.min(this.#leaderHwSeen, this.#durableLeo, this.#verifiedUpTo);
    if (candidate <= this.#hw) return;
    this.#hw = candidate;
    this.#persist.push({ kind: 'highWatermark', highWatermark: candidate });
  }

  // ---- after every input -----------------------------------------------------------------------

  #afterInput(): void {
    if (this.#role === 'leader') {
      this.#advanceLeaderHw();
      this.#settleProduces();
      this.#requestReads();
    } else if (this.#role === 'follower' && this.#fetchDue && this.#leaderId !== undefined) {
      this.#fetchDue = false;
      this.#lastFetchTick = this.#now;
      this.#send.push({
        to: this.#leaderId,
        msg: {
          type: 'FetchRequest',
          epoch: this.#roleEpoch,
          replicaId: this.replicaId,
          fetchOffset: this.#leo,
          lastFetchedEpoch: this.#cache.lastEpoch,
          durableOffset: this.#durableLeo,
        },
      });
    }
    assert(this.#hw <= this.#durableLeo, `HW ${this.#hw} beyond durable LEO ${this.#durableLeo}`);
  }
}
