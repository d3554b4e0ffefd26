import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { RunnelError } from '@runnel/protocol';
import type { Acks__Output } from '@runnel/protocol';
import type { PartitionLog } from '@runnel/storage';
import {
  PARTITION_PENDING_PRODUCE_BYTES_MAX, PARTITION_PENDING_PRODUCES_MAX, PARTITION_WAITERS_MAX,
} from './constants.js';
import type { BuiltRecordSet } from './record-batch-builder.js';
import { fromStorageError } from './storage-error-mapping.js';

/** Per-topic settings the leader applies (the coordinator's effective TopicConfig). */
export interface TopicSettings {
  /** -1 = keep forever. */
  readonly retentionMs: number;
  /** -1 = no limit. */
  readonly retentionBytes: number;
  readonly maxMessageBytes: number;
}

/** What a produce gets back once its ack level is reached. */
export interface ProduceOutcome {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly leaderEpoch: number;
  readonly appendTimeMs: number;
}

/** Someone reading committed data: told when the HW moves and when the partition stops being led here. */
export interface HighWatermarkListener {
  onAdvance(highWatermark: number): void;
  onEnd(error: RunnelError): void;
}

interface PendingProduce {
  /** Offset just past the batch; -1 until the append has assigned offsets. */
  endOffset: number;
  readonly sizeBytes: number;
  settled: boolean;
  readonly resolve: (outcome: ProduceOutcome) => void;
  readonly reject: (error: RunnelError) => void;
  timer: NodeJS.Timeout | undefined;
  outcome: ProduceOutcome | undefined;
}

export interface PartitionLeaderOptions {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly epoch: number;
  readonly log: PartitionLog;
  readonly settings: TopicSettings;
  readonly logger: Logger;
  readonly nowMs: () => number;
}

/**
 * One partition led by this broker: its epoch, log, high watermark and the produces and readers
 * waiting on it.
 *
 * Replication factor 1 (this milestone): the HW is the log's durable end — a batch is committed
 * as soon as the local append is durable, so LEADER, QUORUM and ALL acks all resolve then.
 * Replication slots in at `advanceHighWatermark`: it will be fed by the replica state machine's
 * commit index instead of the local durable end, and QUORUM / ALL waiters are already keyed by
 * the batch's end offset.
 *
 * Once `resign` is called (leadership moved, partition offline, topic deleted, shutdown) it
 * accepts nothing more, fails every pending produce and ends every reader with that error.
 */
export class PartitionLeader {
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly log: PartitionLog;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private epochValue: number;
  private settingsValue: TopicSettings;
  private hw: number;
  private resignedWith: RunnelError | undefined;
  /** Produces waiting for their ack level, in append (offset) order. */
  private readonly pending = new Set<PendingProduce>();
  private pendingBytes = 0;
  /** Appends (any ack level) whose durable write has not come back yet. */
  private appendsInFlight = 0;
  private readonly listeners = new Set<HighWatermarkListener>();
  private idleWaiters: Array<() => void> = [];

  constructor(options: PartitionLeaderOptions) {
    this.topic = options.topic;
    this.topicId = options.topicId;
    this.partition = options.partition;
    this.log = options.log;
    this.logger = options.logger;
    this.nowMs = options.nowMs;
    this.epochValue = options.epoch;
    this.settingsValue = options.settings;
    // Replication factor 1: everything recovered from disk is durable, hence committed.
    this.hw = Math.max(options.log.highWatermark, options.log.durableEndOffset);
    assert.ok(this.hw <= options.log.logEndOffset, `HW ${this.hw} above LEO ${options.log.logEndOffset}`);
    if (this.hw > options.log.highWatermark) options.log.setHighWatermark(this.hw);
    this.logger.info(
      { epoch: this.epochValue, leo: options.log.logEndOffset, hw: this.hw, logStartOffset: options.log.logStartOffset },
      'became leader',
    );
  }

  get epoch(): number {
    return this.epochValue;
  }

  get settings(): TopicSettings {
    return this.settingsValue;
  }

  get highWatermark(): number {
    return this.hw;
  }

  get logStartOffset(): number {
    return this.log.logStartOffset;
  }

  get logEndOffset(): number {
    return this.log.logEndOffset;
  }

  get isLeading(): boolean {
    return this.resignedWith === undefined;
  }

  /** Produces accepted and not yet answered plus appends not yet durable. */
  get inFlight(): number {
    return this.pending.size + this.appendsInFlight;
  }

  updateSettings(settings: TopicSettings): void {
    this.settingsValue = settings;
  }

  /** The coordinator re-confirmed this broker as leader at a higher epoch. Epochs only go up. */
  raiseEpoch(epoch: number): void {
    if (epoch <= this.epochValue) return;
    this.epochValue = epoch;
    this.logger.info({ epoch, leo: this.log.logEndOffset, hw: this.hw }, 'leader epoch raised');
  }

  /** Throws the resignation error (NOT_LEADER, …) once this broker no longer leads. */
  assertLeading(): void {
    if (this.resignedWith !== undefined) throw this.resignedWith;
  }

  /**
   * Checks the pending-produce bound for a batch of `sizeBytes` (TOO_MANY_REQUESTS when full) and
   * that this broker still leads. Call before answering ACKS_NONE; `produce` checks it too.
   */
  admit(sizeBytes: number): void {
    this.assertLeading();
    if (this.pendingBytes + sizeBytes > PARTITION_PENDING_PRODUCE_BYTES_MAX || this.pending.size >= PARTITION_PENDING_PRODUCES_MAX) {
      throw new RunnelError(
        'TOO_MANY_REQUESTS',
        `${this.topic}/${this.partition} has ${this.pending.size} produces (${this.pendingBytes} bytes) waiting for acknowledgement; back off and retry`,
      );
    }
  }

  /**
   * Appends one batch at the current epoch and resolves once `acks` is reached, or rejects with
   * TIMEOUT after `timeoutMs` (the batch may still commit), NOT_LEADER if leadership is lost first,
   * or the storage error. Offsets are assigned synchronously, in call order.
   */
  produce(built: BuiltRecordSet, acks: Exclude<Acks__Output, 'ACKS_NONE'>, timeoutMs: number, appendTimeMs: number = this.nowMs()): Promise<ProduceOutcome> {
    this.admit(built.recordSet.length);
    const epoch = this.epochValue;
    return new Promise<ProduceOutcome>((resolve, reject) => {
      const entry: PendingProduce = {
        endOffset: -1, sizeBytes: built.recordSet.length, settled: false, resolve, reject, timer: undefined, outcome: undefined,
      };
      const append = this.startAppend(built, epoch); // throws synchronously only on a full storage queue
      this.pending.add(entry);
      this.pendingBytes += entry.sizeBytes;
      entry.timer = setTimeout(() => {
        this.settle(entry, new RunnelError('TIMEOUT', `${this.topic}/${this.partition}: the batch was not acknowledged within ${timeoutMs} ms; it may still commit`));
      }, timeoutMs);
      append.then(
        (result) => {
          entry.endOffset = result.lastOffset + 1;
          entry.outcome = { baseOffset: result.baseOffset, recordCount: built.recordCount, leaderEpoch: epoch, appendTimeMs };
          this.advanceHighWatermark(result.lastOffset + 1);
          // LEADER: the local append is enough. QUORUM / ALL: the HW must have passed the batch
          // (it may have before this callback ran: group commit makes a whole group durable at once).
          if (acks === 'ACKS_LEADER' || entry.endOffset <= this.hw) this.settle(entry, entry.outcome);
        },
        (err: unknown) => {
          const error = fromStorageError(err);
          this.logger.error({ err, epoch }, 'append failed');
          this.settle(entry, error);
        },
      );
    });
  }

  /** ACKS_NONE: appends without anyone waiting (the answer has already gone out). Errors are logged. */
  produceNoAck(built: BuiltRecordSet): void {
    let append: Promise<{ lastOffset: number }>;
    try {
      append = this.startAppend(built, this.epochValue);
    } catch (err) {
      this.logger.warn({ err }, 'unacknowledged produce dropped');
      return;
    }
    append.then(
      (result) => this.advanceHighWatermark(result.lastOffset + 1),
      (err: unknown) => this.logger.error({ err }, 'unacknowledged append failed'),
    );
  }

  private startAppend(built: BuiltRecordSet, epoch: number): Promise<{ baseOffset: number; lastOffset: number }> {
    this.assertLeading();
    let append: Promise<{ baseOffset: number; lastOffset: number }>;
    try {
      append = this.log.append({ recordSet: built.recordSet, recordCount: built.recordCount, maxTimestampMs: built.maxTimestampMs, leaderEpoch: epoch });
    } catch (err) {
      throw fromStorageError(err);
    }
    this.appendsInFlight++;
    return append.finally(() => {
      this.appendsInFlight--;
      this.notifyIdle();
    });
  }

  /**
   * Replication factor 1: a durable batch ending at `durableEnd` is committed. (With replication the
   * replica state machine's commit index will drive this instead.)
   */
  private advanceHighWatermark(durableEnd: number): void {
    // Group commit makes durability prefix-ordered: if this batch is durable, so is all before it.
    const hw = Math.max(this.log.durableEndOffset, durableEnd);
    if (hw <= this.hw) return;
    assert.ok(hw <= this.log.logEndOffset, `HW ${hw} above LEO ${this.log.logEndOffset}`);
    this.hw = hw;
    if (this.resignedWith === undefined) this.log.setHighWatermark(hw);
    for (const entry of this.pending) {
      if (entry.endOffset < 0 || entry.endOffset > hw) continue;
      if (entry.outcome !== undefined) this.settle(entry, entry.outcome);
    }
    for (const listener of this.listeners) listener.onAdvance(hw);
  }

  private settle(entry: PendingProduce, result: ProduceOutcome | RunnelError): void {
    if (entry.settled) return;
    entry.settled = true;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    this.pending.delete(entry);
    this.pendingBytes -= entry.sizeBytes;
    if (result instanceof RunnelError) entry.reject(result);
    else entry.resolve(result);
    this.notifyIdle();
  }

  /** Reads committed batches (below `endOffset`, at most the HW) from the one holding `fromOffset`. */
  read(fromOffset: number, maxBytes: number, endOffset: number = this.hw): Promise<Buffer[]> {
    return this.log.read(fromOffset, maxBytes, Math.min(endOffset, this.hw));
  }

  /** Registers a reader; throws the resignation error or TOO_MANY_REQUESTS. Returns the unregister function. */
  addListener(listener: HighWatermarkListener): () => void {
    this.assertLeading();
    if (this.listeners.size >= PARTITION_WAITERS_MAX) {
      throw new RunnelError('TOO_MANY_REQUESTS', `${this.topic}/${this.partition} has ${this.listeners.size} readers waiting; back off and retry`);
    }
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Stops leading: nothing more is accepted, pending produces fail with `error` and every reader
   * ends with it. Appends already handed to storage still complete on disk. Idempotent.
   */
  resign(error: RunnelError): void {
    if (this.resignedWith !== undefined) return;
    this.resignedWith = error;
    this.logger.info({ epoch: this.epochValue, leo: this.log.logEndOffset, hw: this.hw, reason: error.code, pendingProduces: this.pending.size }, 'stopped leading');
    for (const entry of [...this.pending]) this.settle(entry, error);
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.onEnd(error);
  }

  /** Ends every reader with `error` (shutdown) while produces carry on. */
  endReaders(error: RunnelError): void {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener.onEnd(error);
  }

  /** Resolves once no produce is pending and no append is in flight, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const waiter = (): void => done();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(waiter);
    });
  }

  private notifyIdle(): void {
    if (this.inFlight !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
