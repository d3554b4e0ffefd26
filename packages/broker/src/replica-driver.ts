import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { RunnelError } from '@runnel/protocol';
import type { Acks__Output, LeaderPartitionStatus } from '@runnel/protocol';
import { PartitionReplica } from '@runnel/replication';
import type {
  Acks, EpochPromise, Outgoing, PersistAction, PrepareRejected, ReadRequest, ReplicaInput, ReplicaOutput, Role,
} from '@runnel/replication';
import { BATCH_ATTRIBUTE_CONTROL } from '@runnel/storage';
import type { MetaStore, PartitionLog } from '@runnel/storage';
import { PRODUCE_RETRY_AFTER_MS, ticksForMs } from './constants.js';
import { HighWatermarkListeners } from './hw-listeners.js';
import type { HighWatermarkListener } from './hw-listeners.js';
import { PendingProduces, brokerProduceBytesFor } from './pending-produces.js';
import type { ProduceOutcome } from './pending-produces.js';
import { PrepareWaiters } from './prepare-waiters.js';
import type { BuiltRecordSet } from './record-batch-builder.js';
import { controlBatchRecordSet, encodePromise, promiseKey, toReplicaBatch } from './replica-batches.js';
import { fromStorageError } from './storage-error-mapping.js';

export type { ProduceOutcome } from './pending-produces.js';
export type { HighWatermarkListener } from './hw-listeners.js';

/** Per-topic settings (the coordinator's effective TopicConfig). */
export interface TopicSettings {
  /** -1 = keep forever. */
  readonly retentionMs: number;
  /** -1 = no limit. */
  readonly retentionBytes: number;
  readonly maxMessageBytes: number;
}

/** Estimated bytes a stored batch adds to its RecordSet (header fields); flow-control accounting only. */
const BATCH_HEADER_BYTES_ESTIMATE = 64;

const CORE_ACKS: Record<Exclude<Acks__Output, 'ACKS_UNSPECIFIED'>, Acks> = {
  ACKS_NONE: 'NONE', ACKS_LEADER: 'LEADER', ACKS_QUORUM: 'QUORUM', ACKS_ALL: 'ALL',
};

export interface ReplicaDriverOptions {
  readonly nodeId: number;
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly meta: MetaStore;
  /** The promise recovered from the MetaStore (0 if none). */
  readonly promisedEpoch: number;
  readonly settings: TopicSettings;
  readonly logger: Logger;
  readonly nowMs: () => number;
  /** Sends a replication message to another broker (best effort). */
  readonly send: (to: number, msg: ReplicaOutput) => void;
  /**
   * Tell the coordinator: the replica declined leadership of `epoch` (isolated false), or it leads
   * `epoch` but has not heard from a majority of its replicas for a while (isolated true).
   */
  readonly onDeclined: (epoch: number, isolated: boolean) => void;
  /** The NOT_LEADER error naming the leader the metadata knows (or none). */
  readonly notLeader: () => RunnelError;
  /**
   * The same, for produces failed by a lost leadership: once the metadata names another leader
   * (bounded wait), so the client is sent straight to it. Default: `notLeader` at once.
   */
  readonly notLeaderSoon?: () => Promise<RunnelError>;
  /** A storage operation failed and the replica stopped (the owner may rebuild it from the log). */
  readonly onFailed?: () => void;
  /**
   * Optional (metrics): told once per produce request accepted by this leader (after offsets were
   * assigned), with the effective ack level and the batch's record count and record-set bytes.
   */
  readonly onProduced?: (acks: Acks, recordCount: number, bytes: number) => void;
}

/**
 * Drives one partition replica: owns its {@link PartitionReplica} (the pure core) and its log, and
 * carries out every Ready. Inputs — protocol messages (`deliver`, `roleChange`, `prepareEpoch`),
 * `tick`, `produce`, and storage completions — are run one at a time, synchronously, each followed
 * by the Ready loop, so two Ready loops never interleave (JS is single-threaded and no step below
 * calls back into the driver synchronously; re-entrance is asserted).
 *
 * The Ready loop, in this order (the core's documented driver order):
 *   1. PERSIST every `persist` action in order, without waiting:
 *      leader append -> `log.append` (a control batch: one empty-value record, attributes bit 0);
 *      follower append -> `log.appendBatch(payload)` (the leader's stored bytes as-is);
 *      truncate -> `log.truncateTo`; promise -> MetaStore.put (synchronous write);
 *      highWatermark -> `log.setHighWatermark`.
 *      Completions are reported back as new inputs strictly in issue order (`appended`,
 *      `truncated`, `promisePersisted`), through one completion chain;
 *   2. start every read (`log.read`, within the log's durable end; a read that finds nothing yet is
 *      parked and retried after the next append completes or on the next tick) -> `readCompleted`;
 *   3. SEND every message: to another broker through the replication transport; to the
 *      coordinator: EpochPromise / PrepareRejected answer waiting PrepareEpoch calls,
 *      LeadershipDeclined and LeaderIsolated call Coordinator.DeclineLeadership (isolated: false / true);
 *   4. ACKNOWLEDGE produces (resolve / reject their promises), then wake readers below the new HW,
 *      and (on losing leadership) end readers with NOT_LEADER;
 *   5. `advance()`.
 * A storage operation that fails stops the replica (pending produces fail with the storage error)
 * and tells the owner (`onFailed`), which rebuilds a fresh replica from the log once its writes
 * have settled — as a process restart would, so it will not lead an epoch it promised before.
 * Durable end == log end is asserted at construction.
 */
export class ReplicaDriver {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly log: PartitionLog;
  readonly #o: ReplicaDriverOptions;
  readonly #replica: PartitionReplica;
  readonly #logger: Logger;
  #settings: TopicSettings;
  #running = false;
  #stoppedWith: RunnelError | undefined;
  #chain: Promise<void> = Promise.resolve();
  #opsInFlight = 0;
  readonly #timestamps = new Map<number, number>();
  readonly #parkedReads = new Map<number, ReadRequest>();
  readonly #produces: PendingProduces;
  readonly #listeners = new HighWatermarkListeners();
  readonly #prepareWaiters = new PrepareWaiters();
  #idleWaiters: Array<() => void> = [];
  #lastRole: Role = 'none';
  #lastEpoch = 0;
  #publishedHw: number;
  #lastFencedEpoch = -1;
  #isolationLoggedEpoch = -1;
  /** The replica set of the last RoleChange (metrics: under-replication). */
  #replicaSet: readonly number[] = [];

  constructor(options: ReplicaDriverOptions) {
    this.#o = options;
    // One bound over all the partitions of this broker (its MetaStore is one per broker).
    this.#produces = new PendingProduces(brokerProduceBytesFor(options.meta));
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.log = options.log;
    this.#logger = options.logger;
    this.#settings = options.settings;
    const log = options.log;
    assert.equal(log.durableEndOffset, log.logEndOffset, 'a replica starts from a recovered log');
    this.#replica = new PartitionReplica({
      replicaId: options.nodeId,
      restored: {
        logEndOffset: log.logEndOffset,
        epochEntries: log.epochEntries(),
        highWatermark: Math.min(log.highWatermark, log.logEndOffset),
        promisedEpoch: options.promisedEpoch,
        logStart: { offset: log.logStartOffset, epochBefore: log.epochBeforeLogStart },
      },
    });
    this.#publishedHw = this.#replica.highWatermark;
  }

  // ---- state ---------------------------------------------------------------------------------

  get settings(): TopicSettings {
    return this.#settings;
  }
  get role(): Role {
    return this.#replica.role;
  }
  get epoch(): number {
    return this.#replica.epoch;
  }
  get highWatermark(): number {
    return this.#replica.highWatermark;
  }
  get logStartOffset(): number {
    return this.log.logStartOffset;
  }
  get logEndOffset(): number {
    return this.log.logEndOffset;
  }
  get promisedEpoch(): number {
    return this.#replica.promisedEpoch;
  }
  get isLeading(): boolean {
    return this.#stoppedWith === undefined && this.#replica.role === 'leader';
  }
  /** Produces not answered plus storage operations not completed. */
  get inFlight(): number {
    return this.#produces.size + this.#opsInFlight;
  }

  updateSettings(settings: TopicSettings): void {
    this.#settings = settings;
  }

  /** The replica set named by the last metadata RoleChange (empty before the first). */
  get replicaSet(): readonly number[] {
    return this.#replicaSet;
  }

  /**
   * Leader only (else undefined), for metrics: this leader's LEO minus the smallest durable LEO its
   * followers have acknowledged (0 with no followers).
   */
  followerLagRecords(): number | undefined {
    if (!this.isLeading) return undefined;
    const leo = this.#replica.logEndOffset;
    let slowest = leo;
    for (const id of this.#replicaSet) {
      if (id === this.#o.nodeId) continue;
      const progress = this.#replica.followerProgress(id);
      if (progress !== undefined && progress.match < slowest) slowest = progress.match;
    }
    return Math.max(0, leo - slowest);
  }

  /** The heartbeat report of a partition led here, or undefined. */
  status(): LeaderPartitionStatus | undefined {
    if (!this.isLeading) return undefined;
    return {
      topicId: this.topicId,
      partition: this.partition,
      epoch: this.#replica.epoch,
      inSyncReplicas: this.#replica.inSyncReplicas(),
      highWatermark: this.#replica.highWatermark,
      logEndOffset: this.#replica.logEndOffset,
    };
  }

  // ---- inputs --------------------------------------------------------------------------------

  tick(): void {
    this.#input(() => {
      this.#replica.tick();
      this.#retryParkedReads();
    });
  }

  /**
   * Applies the topic's retention below the HW, then tells the core where the log starts now (a
   * leader answers followers fetching below it with BelowLogStart). Returns the records deleted.
   */
  async applyRetention(nowMs: number): Promise<number> {
    const { retentionMs, retentionBytes } = this.#settings;
    const deleted = await this.log.applyRetention({ retentionMs, retentionBytes, nowMs, notAbove: this.#replica.highWatermark });
    if (deleted > 0) {
      const logStart = { offset: this.log.logStartOffset, epochBefore: this.log.epochBeforeLogStart };
      this.#input(() => this.#replica.logStartMoved(logStart));
    }
    return deleted;
  }

  /** A replication message from another broker. */
  deliver(msg: ReplicaInput): void {
    this.#input(() => {
      if (msg.type === 'Fenced' && this.#replica.role === 'leader' && msg.epoch > this.#replica.epoch) {
        this.#logger.info({ epoch: this.#replica.epoch, by: msg.replicaId, promisedEpoch: msg.epoch }, 'fenced');
      }
      this.#replica.step(msg);
    });
  }

  /** Metadata: `leader` (-1: none, the partition is offline) leads `epoch` over `replicas`. */
  roleChange(epoch: number, leader: number, replicas: readonly number[]): void {
    this.#replicaSet = replicas;
    this.#input(() => this.#replica.step({ type: 'RoleChange', epoch, leader, replicas }));
  }

  /** Coordinator: promise `epoch`; resolves with the answer once it is durable (or the rejection). */
  prepareEpoch(epoch: number, timeoutMs: number): Promise<EpochPromise | PrepareRejected> {
    if (this.#stoppedWith !== undefined) return Promise.reject(this.#stoppedWith);
    // Registered before the step: the answer may come out of this very Ready (already durable).
    const answer = this.#prepareWaiters.wait(epoch, timeoutMs, this.#what());
    this.#input(() => this.#replica.step({ type: 'PrepareEpoch', epoch }));
    return answer;
  }

  /**
   * Hands a batch to the core (`propose`) and resolves once `acks` is reached; rejects with
   * NOT_LEADER (naming the leader), NOT_ENOUGH_REPLICAS or TOO_MANY_REQUESTS at once, or later
   * with TIMEOUT (after `timeoutMs`; the batch may still commit), NOT_LEADER or a storage error.
   * Offsets are assigned synchronously, in call order.
   */
  produce(built: BuiltRecordSet, acks: Exclude<Acks__Output, 'ACKS_UNSPECIFIED' | 'ACKS_NONE'>, timeoutMs: number, appendTimeMs: number): Promise<ProduceOutcome> {
    this.assertLeading();
    this.#produces.admit(built.recordSet.length, this.#what());
    const id = this.#produces.nextId();
    const epoch = this.#replica.epoch;
    return new Promise<ProduceOutcome>((resolve, reject) => {
      this.#propose(id, built, CORE_ACKS[acks], timeoutMs);
      this.#o.onProduced?.(CORE_ACKS[acks], built.recordCount, built.recordSet.length);
      this.#produces.add(id, { sizeBytes: built.recordSet.length, recordCount: built.recordCount, leaderEpoch: epoch, appendTimeMs, resolve, reject });
    });
  }

  /** ACKS_NONE: appends without anyone waiting; immediate rejections still throw. */
  produceNoAck(built: BuiltRecordSet): void {
    this.assertLeading();
    this.#propose(0, built, 'NONE', 0);
    this.#o.onProduced?.('NONE', built.recordCount, built.recordSet.length);
  }

  #propose(produceId: number, built: BuiltRecordSet, acks: Acks, timeoutMs: number): void {
    const result = this.#input(() => {
      const r = this.#replica.propose({
        produceId,
        payload: built.recordSet,
        recordCount: built.recordCount,
        sizeBytes: built.recordSet.length + BATCH_HEADER_BYTES_ESTIMATE,
        acks,
        ...(timeoutMs > 0 ? { timeoutTicks: ticksForMs(timeoutMs) } : {}),
      });
      if (r.ok) this.#timestamps.set(r.baseOffset, built.maxTimestampMs);
      return r;
    });
    if (result === undefined) throw this.#stoppedWith ?? this.#o.notLeader();
    if (result.ok) return;
    switch (result.error) {
      case 'NOT_LEADER':
        throw this.#o.notLeader();
      case 'NOT_ENOUGH_REPLICAS':
        throw new RunnelError('NOT_ENOUGH_REPLICAS', `${this.#what()}: too few replicas are in contact with the leader for this ack level; retry later or lower acks`);
      case 'TOO_MANY_REQUESTS':
        throw new RunnelError('TOO_MANY_REQUESTS', `${this.#what()}: too many produces or log writes are in flight; nothing was written: retry after ${PRODUCE_RETRY_AFTER_MS} ms`, { retryAfterMs: PRODUCE_RETRY_AFTER_MS });
    }
  }

  /** Runs one input and then the Ready loop; undefined once stopped. */
  #input<T>(fn: () => T): T | undefined {
    if (this.#stoppedWith !== undefined) return undefined;
    assert.ok(!this.#running, 're-entrant replica input');
    this.#running = true;
    try {
      const result = fn();
      this.#readyLoop();
      return result;
    } finally {
      this.#running = false;
    }
  }

  // ---- the Ready loop ------------------------------------------------------------------------

  #readyLoop(): void {
    const replica = this.#replica;
    if (replica.hasReady()) {
      const r = replica.ready();
      for (const action of r.persist) this.#persist(action);
      for (const read of r.reads) this.#startRead(read);
      for (const out of r.send) this.#send(out);
      for (const ack of r.acks) this.#produces.settle(ack, (code) => this.#produceError(code));
      replica.advance();
    }
    this.#publish();
    this.#notifyIdle();
  }

  #persist(action: PersistAction): void {
    const log = this.log;
    switch (action.kind) {
      case 'append': {
        const b = action.batch;
        const end = b.baseOffset + b.recordCount;
        let write: Promise<unknown>;
        if (action.origin === 'follower') {
          write = log.appendBatch(b.payload);
        } else if (b.control) {
          write = log.append({
            recordSet: controlBatchRecordSet(), recordCount: 1, maxTimestampMs: this.#o.nowMs(), leaderEpoch: b.epoch, attributes: BATCH_ATTRIBUTE_CONTROL,
          });
        } else {
          const maxTimestampMs = this.#timestamps.get(b.baseOffset) ?? this.#o.nowMs();
          this.#timestamps.delete(b.baseOffset);
          write = log.append({ recordSet: b.payload, recordCount: b.recordCount, maxTimestampMs, leaderEpoch: b.epoch });
        }
        this.#whenDone(write, () => {
          this.#replica.appended(end);
          this.#retryParkedReads();
        });
        // Parked follower fetches can take the batch now, while it is being written.
        if (action.origin !== 'follower') this.#retryParkedReads();
        break;
      }
      case 'truncate':
        this.#logger.info({ epoch: this.#replica.epoch, from: log.logEndOffset, to: action.offset, hw: this.#replica.highWatermark }, 'truncated');
        this.#whenDone(log.truncateTo(action.offset), () => this.#replica.truncated(action.offset));
        break;
      case 'reset': {
        const { offset, epochBefore } = action.logStart;
        this.#logger.warn({ epoch: this.#replica.epoch, from: log.logEndOffset, logStartOffset: offset, epochBefore }, 'behind the leader\'s log start: log started again there');
        this.#whenDone(log.resetTo(offset, epochBefore), () => this.#replica.logReset(offset));
        break;
      }
      case 'promise':
        this.#whenDone(this.#o.meta.put(promiseKey(this.topicId, this.partition), encodePromise(action.epoch)), () => this.#replica.promisePersisted(action.epoch));
        break;
      case 'highWatermark':
        log.setHighWatermark(action.highWatermark);
        break;
    }
  }

  /** Reports `done` as an input once `write` and every earlier write have completed (issue order). */
  #whenDone(write: Promise<unknown>, done: () => void): void {
    write.catch(() => undefined); // observed below, in order
    this.#opsInFlight++;
    this.#chain = this.#chain.then(() => write).then(
      () => {
        this.#opsInFlight--;
        this.#input(done);
        this.#notifyIdle();
      },
      (err: unknown) => {
        this.#opsInFlight--;
        this.#fail(err);
        this.#notifyIdle();
      },
    );
  }

  #startRead(read: ReadRequest): void {
    const log = this.log;
    if (read.fromOffset < log.logStartOffset) {
      this.#logger.warn({ follower: read.replicaId, fromOffset: read.fromOffset, logStartOffset: log.logStartOffset }, 'follower fetches below the log start; cannot serve it');
      return;
    }
    // Followers may get a batch before this replica's own write of it is durable (Raft thesis
    // §10.2.1): the leader counts its own copy toward the HW only once durable, so nothing commits
    // early, and a follower's copy of a batch the leader then loses is simply its longer log.
    if (read.fromOffset >= Math.min(read.endOffset, log.logEndOffset)) {
      this.#parkedReads.set(read.replicaId, read);
      return;
    }
    log.read(read.fromOffset, read.maxBytes, read.endOffset, { unflushed: true }).then(
      (stored) => {
        if (stored.length === 0) this.#parkedReads.set(read.replicaId, read);
        else this.#input(() => this.#replica.readCompleted(read.token, stored.map(toReplicaBatch)));
      },
      (err: unknown) => this.#logger.debug({ err, follower: read.replicaId }, 'replica read failed; the core re-requests it'),
    );
  }

  #retryParkedReads(): void {
    if (this.#parkedReads.size === 0) return;
    const reads = [...this.#parkedReads.values()];
    this.#parkedReads.clear();
    for (const read of reads) this.#startRead(read);
  }

  #send(out: Outgoing): void {
    const msg = out.msg;
    if (out.to !== 'coordinator') {
      if (msg.type === 'Fenced' && msg.rejectedEpoch !== this.#lastFencedEpoch) {
        this.#lastFencedEpoch = msg.rejectedEpoch;
        this.#logger.info({ to: out.to, rejectedEpoch: msg.rejectedEpoch, promisedEpoch: msg.epoch }, 'fenced');
      }
      this.#o.send(out.to, msg);
      return;
    }
    switch (msg.type) {
      case 'EpochPromise':
      case 'PrepareRejected': {
        this.#prepareWaiters.answer(msg);
        if (msg.type === 'EpochPromise') this.#logger.info({ epoch: msg.epoch, lastEpoch: msg.lastEpoch, leo: msg.logEndOffset }, 'promised epoch');
        break;
      }
      case 'LeadershipDeclined':
        this.#logger.warn({ epoch: msg.epoch }, 'declined leadership: this epoch was not promised (PrepareEpoch) in this process life');
        this.#o.onDeclined(msg.epoch, false);
        break;
      case 'LeaderIsolated':
        // Re-sent every isolation period while it lasts: warn once per epoch.
        if (msg.epoch !== this.#isolationLoggedEpoch) {
          this.#isolationLoggedEpoch = msg.epoch;
          this.#logger.warn({ epoch: msg.epoch, replicas: this.#replicaSet }, 'leader isolated: no majority of replicas heard from; asking the coordinator to move the leadership');
        }
        this.#o.onDeclined(msg.epoch, true);
        break;
      default:
        break;
    }
  }

  #produceError(code: 'NOT_LEADER' | 'TIMEOUT' | 'NOT_ENOUGH_REPLICAS'): RunnelError | Promise<RunnelError> {
    switch (code) {
      case 'NOT_LEADER':
        return this.#o.notLeaderSoon?.() ?? this.#o.notLeader();
      case 'TIMEOUT':
        return new RunnelError('TIMEOUT', `${this.#what()}: the batch was not acknowledged in time; it may still commit`);
      case 'NOT_ENOUGH_REPLICAS':
        return new RunnelError('NOT_ENOUGH_REPLICAS', `${this.#what()}: too few replicas acknowledged the batch; it may still commit`);
    }
  }

  /** After a Ready: role-change logs, readers woken below the new HW or ended on losing leadership. */
  #publish(): void {
    const replica = this.#replica;
    const role = replica.role;
    const epoch = replica.epoch;
    if (role !== this.#lastRole || epoch !== this.#lastEpoch) {
      const wasLeader = this.#lastRole === 'leader';
      this.#lastRole = role;
      this.#lastEpoch = epoch;
      const fields = { epoch, leo: this.log.logEndOffset, hw: replica.highWatermark };
      if (role === 'leader') this.#logger.info(fields, 'became leader');
      else if (role === 'follower') this.#logger.info({ ...fields, leader: replica.leaderId }, 'became follower');
      else this.#logger.info({ ...fields, promisedEpoch: replica.promisedEpoch }, 'stopped replicating');
      if (wasLeader && role !== 'leader') this.#listeners.endAll(this.#o.notLeader());
    }
    const hw = replica.highWatermark;
    if (hw > this.#publishedHw) {
      this.#publishedHw = hw;
      if (role === 'leader') this.#listeners.advance(hw);
    }
  }

  // ---- readers -------------------------------------------------------------------------------

  /** Throws NOT_LEADER (naming the leader) or the stop error unless this replica leads. */
  assertLeading(): void {
    if (this.#stoppedWith !== undefined) throw this.#stoppedWith;
    if (this.#replica.role !== 'leader') throw this.#o.notLeader();
  }

  /** Reads committed batches (below `endOffset`, at most the HW) from the one holding `fromOffset`. */
  read(fromOffset: number, maxBytes: number, endOffset: number = this.highWatermark): Promise<Buffer[]> {
    return this.log.read(fromOffset, maxBytes, Math.min(endOffset, this.highWatermark));
  }

  /** Registers a reader; throws NOT_LEADER / the stop error or TOO_MANY_REQUESTS. Returns the unregister function. */
  addListener(listener: HighWatermarkListener): () => void {
    this.assertLeading();
    return this.#listeners.add(listener, this.#what());
  }

  /** Ends every reader with `error` (shutdown) while produces carry on. */
  endReaders(error: RunnelError): void {
    this.#listeners.endAll(error);
  }

  // ---- stopping ------------------------------------------------------------------------------

  /**
   * Stops the replica for good (topic deleted, shutdown): no more inputs, pending produces and
   * PrepareEpoch calls fail with `error`, readers end with it. Writes already issued still land.
   */
  stop(error: RunnelError): void {
    if (this.#stoppedWith !== undefined) return;
    this.#stoppedWith = error;
    this.#logger.info({ epoch: this.#replica.epoch, role: this.#replica.role, leo: this.log.logEndOffset, hw: this.#replica.highWatermark, reason: error.code, pendingProduces: this.#produces.size }, 'replica stopped');
    this.#produces.failAll(error);
    this.#listeners.endAll(error);
    this.#prepareWaiters.failAll(error);
    this.#notifyIdle();
  }

  #fail(err: unknown): void {
    if (this.#stoppedWith !== undefined) return;
    this.#logger.error({ err, epoch: this.#replica.epoch, leo: this.log.logEndOffset }, 'storage operation failed; replica stopped');
    this.stop(fromStorageError(err));
    this.#o.onFailed?.();
  }

  /** Resolves once no produce is pending and no storage operation is in flight, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#idleWaiters.push(done);
    });
  }

  #notifyIdle(): void {
    if (this.inFlight !== 0 || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #what(): string {
    return `${this.topic}/${this.partition}`;
  }
}
