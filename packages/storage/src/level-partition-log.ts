import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import { crcMatches, decodeBatchHeader, encodeBatch, type BatchLayout } from './batch-codec.js';
import type { BatchIndex } from './batch-index.js';
import type { AppendRecordsInput, AppendResult, EpochEntry, PartitionKey, PartitionLog } from './contract.js';
import { EpochCache } from './epoch-cache.js';
import type { Db, GroupCommit, WriteOp } from './group-commit.js';
import { logStartValue, u64Value, type PartitionKeys } from './keys.js';
import type { RecoveredPartition } from './recovery.js';
import { retentionCount } from './retention.js';
import { StorageError } from './storage-error.js';
import { TailCache } from './tail-cache.js';
import { tailCacheBytesMax } from './constants.js';

export interface PartitionLogDeps {
  readonly db: Db;
  readonly commit: GroupCommit;
  readonly log: Logger;
  readonly key: PartitionKey;
  readonly keys: PartitionKeys;
  readonly recovered: RecoveredPartition;
  /** Tells the store this log's high watermark needs checkpointing. */
  readonly markHwDirty: (log: LevelPartitionLog) => void;
}

const isNonNegativeInt = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;
const isInt = (n: unknown): n is number => Number.isSafeInteger(n);
const isUint32 = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 0xffff_ffff;
const isInt32 = (n: unknown): boolean => Number.isInteger(n) && (n as number) >= -0x8000_0000 && (n as number) <= 0x7fff_ffff;

/**
 * A partition's log in the shared LevelDB (see keys.ts for the layout). All state needed to
 * answer without I/O (LEO, start, HW, batch index, epoch cache) is in memory; batch bytes are read
 * from LevelDB. Every mutation is one group-commit entry, so it is atomic on disk.
 *
 * `generation` counts truncations and resets: a write queued before one must not move
 * `durableEndOffset` when it lands, because the offsets it covered no longer exist.
 */
export class LevelPartitionLog implements PartitionLog {
  readonly key: PartitionKey;
  private readonly db: Db;
  private readonly commit: GroupCommit;
  private readonly log: Logger;
  private readonly keys: PartitionKeys;
  private readonly markHwDirty: (log: LevelPartitionLog) => void;
  private readonly index: BatchIndex;
  private readonly epochs: EpochCache;
  private start: number;
  private epochBeforeStart: number;
  private leo: number;
  private durableEnd: number;
  private hw: number;
  private generation = 0;
  private closed = false;
  private readonly tail = new TailCache(tailCacheBytesMax);

  constructor(deps: PartitionLogDeps) {
    this.key = deps.key;
    this.db = deps.db;
    this.commit = deps.commit;
    this.log = deps.log;
    this.keys = deps.keys;
    this.markHwDirty = deps.markHwDirty;
    this.index = deps.recovered.index;
    this.epochs = new EpochCache(deps.recovered.epochs);
    this.start = deps.recovered.logStartOffset;
    this.epochBeforeStart = deps.recovered.epochBeforeLogStart;
    this.leo = deps.recovered.logEndOffset;
    this.durableEnd = this.leo;
    this.hw = deps.recovered.highWatermark;
  }

  get logStartOffset(): number {
    return this.start;
  }

  get epochBeforeLogStart(): number {
    return this.epochBeforeStart;
  }

  get logEndOffset(): number {
    return this.leo;
  }

  get durableEndOffset(): number {
    return this.durableEnd;
  }

  get highWatermark(): number {
    return this.hw;
  }

  get lastEpoch(): number {
    return this.epochs.lastEpoch;
  }

  get sizeBytes(): number {
    return this.index.sizeBytes;
  }

  append(input: AppendRecordsInput): Promise<AppendResult> {
    const invalid = this.checkOpen() ?? checkAppendInput(input);
    if (invalid !== undefined) return Promise.reject(invalid);
    assert.ok(input.leaderEpoch >= this.epochs.lastEpoch, `leader epoch went backwards: ${input.leaderEpoch} < ${this.epochs.lastEpoch}`);
    const batch = encodeBatch({
      baseOffset: this.leo,
      recordCount: input.recordCount,
      leaderEpoch: input.leaderEpoch,
      maxTimestampMs: input.maxTimestampMs,
      producerId: input.producerId ?? 0,
      producerSequence: input.producerSequence ?? 0,
      attributes: input.attributes ?? 0,
      recordSet: input.recordSet,
    });
    return this.appendStored(batch, input.recordCount, input.leaderEpoch, input.maxTimestampMs);
  }

  appendBatch(bytes: Uint8Array): Promise<AppendResult> {
    const closed = this.checkOpen();
    if (closed !== undefined) return Promise.reject(closed);
    let layout: BatchLayout;
    try {
      layout = decodeBatchHeader(bytes);
    } catch (cause) {
      return Promise.reject(new StorageError('INVALID_REQUEST', 'batch is not a valid runnel.v1.Batch encoding', { cause }));
    }
    if (!crcMatches(bytes, layout)) {
      return Promise.reject(new StorageError('INVALID_REQUEST', `batch at offset ${layout.baseOffset}: crc32c mismatch`));
    }
    if (layout.recordCount < 1 || layout.leaderEpoch < 0) {
      return Promise.reject(new StorageError('INVALID_REQUEST', `batch at offset ${layout.baseOffset}: needs recordCount >= 1 and leaderEpoch >= 0`));
    }
    if (layout.baseOffset !== this.leo) {
      return Promise.reject(
        new StorageError('OFFSET_OUT_OF_RANGE', `batch base offset ${layout.baseOffset} is not the log end offset ${this.leo}`),
      );
    }
    assert.ok(layout.leaderEpoch >= this.epochs.lastEpoch, `leader epoch went backwards: ${layout.leaderEpoch} < ${this.epochs.lastEpoch}`);
    // Copied: the input is often a view into a larger network buffer we must not pin or see reused.
    return this.appendStored(Buffer.from(bytes), layout.recordCount, layout.leaderEpoch, layout.maxTimestampMs);
  }

  /** Assigns the offsets now (in call order) and resolves when the batch is durable. */
  private appendStored(batch: Buffer, recordCount: number, epoch: number, maxTimestampMs: number): Promise<AppendResult> {
    try {
      this.commit.checkWritable(batch.byteLength);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const base = this.leo;
    const end = base + recordCount;
    const ops: WriteOp[] = [{ type: 'put', key: this.keys.batch(base), value: batch }];
    const started = this.epochs.maybeAdd(epoch, base);
    if (started !== undefined) ops.push({ type: 'put', key: this.keys.epoch(epoch), value: u64Value(base) });
    this.index.push(base, end, batch.byteLength, maxTimestampMs);
    this.leo = end;
    this.tail.push(base, end, batch, this.durableEnd);
    const generation = this.generation;
    const result: AppendResult = { baseOffset: base, lastOffset: end - 1, batch };
    return this.commit
      .submit(ops, {
        bytes: batch.byteLength,
        onWritten: () => {
          if (generation === this.generation) {
            this.durableEnd = end;
            this.tail.evict(end);
          }
        },
      })
      .then(() => result);
  }

  async read(fromOffset: number, maxBytes: number, endOffset: number, options: { unflushed?: boolean } = {}): Promise<Buffer[]> {
    const closed = this.checkOpen();
    if (closed !== undefined) throw closed;
    if (!isNonNegativeInt(fromOffset) || fromOffset < this.start || fromOffset > this.leo) {
      throw new StorageError('OFFSET_OUT_OF_RANGE', `offset ${fromOffset} is outside [${this.start}, ${this.leo}]`);
    }
    if (!isNonNegativeInt(maxBytes) || !isNonNegativeInt(endOffset)) {
      throw new StorageError('INVALID_REQUEST', `read: maxBytes (${maxBytes}) and endOffset (${endOffset}) must be non-negative integers`);
    }
    // The newest batches come from memory; with `unflushed`, also those still being written.
    const cached = this.tail.read(fromOffset, maxBytes, Math.min(endOffset, options.unflushed === true ? this.leo : this.durableEnd));
    if (cached !== undefined) return cached;
    // Only batches that are written (durable under the policy) and below the caller's bound.
    const limit = Math.min(endOffset, this.durableEnd);
    let first = this.index.indexOf(fromOffset);
    if (first < 0) return [];
    if (this.index.end(first) <= fromOffset) first++; // fromOffset is the LEO: nothing to read
    const bases: number[] = [];
    let bytes = 0;
    for (let i = first; i < this.index.length && this.index.base(i) < limit; i++) {
      const size = this.index.size(i);
      if (bases.length > 0 && bytes + size > maxBytes) break;
      bytes += size;
      bases.push(this.index.base(i));
    }
    const firstBase = bases[0];
    const lastBase = bases.at(-1);
    if (firstBase === undefined || lastBase === undefined) return [];
    // The iterator takes its snapshot now, synchronously with the index state used above.
    const values = await this.db.values({ gte: this.keys.batch(firstBase), lte: this.keys.batch(lastBase), limit: bases.length }).all();
    assert.equal(values.length, bases.length, `partition ${this.key.topicId}/${this.key.partition}: batches missing from ${firstBase}`);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as Buffer;
      const layout = decodeBatchHeader(v);
      assert.equal(layout.baseOffset, bases[i], 'stored batch has an unexpected base offset');
      assert.ok(crcMatches(v, layout), `stored batch at offset ${layout.baseOffset} failed its crc32c check`);
    }
    return values;
  }

  truncateTo(offset: number): Promise<void> {
    const closed = this.checkOpen() ?? this.commitError();
    if (closed !== undefined) return Promise.reject(closed);
    if (!isNonNegativeInt(offset)) return Promise.reject(new StorageError('INVALID_REQUEST', `truncation offset ${offset} is not an offset`));
    if (offset >= this.leo) return Promise.resolve();
    // Below the start there is nothing to keep: drop every batch, the log resumes at its start.
    const target = Math.max(offset, this.start);
    let from = this.index.indexOf(target);
    if (from < 0) from = 0;
    else if (this.index.end(from) <= target) from++;
    const newEnd = from < this.index.length ? this.index.base(from) : this.leo;
    const ops: WriteOp[] = [];
    for (let i = from; i < this.index.length; i++) ops.push({ type: 'del', key: this.keys.batch(this.index.base(i)) });
    for (const e of this.epochs.truncateFrom(newEnd)) ops.push({ type: 'del', key: this.keys.epoch(e.epoch) });
    this.index.truncateFrom(from);
    this.tail.truncateFrom(newEnd);
    this.leo = newEnd;
    this.durableEnd = Math.min(this.durableEnd, newEnd);
    this.generation++;
    if (this.hw > newEnd) {
      this.hw = newEnd;
      this.markHwDirty(this);
    }
    this.log.info({ offset, logEndOffset: newEnd, batches: ops.length }, 'truncated log');
    // Synchronous whatever the policy: divergent data resurfacing after a crash breaks replication.
    return this.commit.submit(ops, { sync: true });
  }

  /**
   * Drops every batch and restarts the log, empty, at `offset` (a follower catching up from a leader
   * whose log starts beyond this one's end; Kafka's truncateFullyAndStartAt). `epochBefore`: the
   * epoch of the record before `offset` (-1 when unknown). Durable on resolve.
   */
  resetTo(offset: number, epochBefore = -1): Promise<void> {
    const closed = this.checkOpen() ?? this.commitError();
    if (closed !== undefined) return Promise.reject(closed);
    if (!isNonNegativeInt(offset)) return Promise.reject(new StorageError('INVALID_REQUEST', `reset offset ${offset} is not an offset`));
    const ops: WriteOp[] = [];
    for (let i = 0; i < this.index.length; i++) ops.push({ type: 'del', key: this.keys.batch(this.index.base(i)) });
    for (const e of this.epochs.clear()) ops.push({ type: 'del', key: this.keys.epoch(e.epoch) });
    if (!Number.isInteger(epochBefore) || epochBefore < -1) return Promise.reject(new StorageError('INVALID_REQUEST', `epoch ${epochBefore} is not an epoch`));
    ops.push({ type: 'put', key: this.keys.logStart, value: logStartValue(offset, epochBefore) });
    this.epochBeforeStart = offset === 0 ? -1 : epochBefore;
    this.index.clear();
    this.tail.clear();
    this.start = offset;
    this.leo = offset;
    this.durableEnd = offset;
    this.generation++;
    this.hw = offset;
    this.markHwDirty(this);
    this.log.info({ offset }, 'reset log');
    return this.commit.submit(ops, { sync: true });
  }

  async offsetForTimestamp(timestampMs: number): Promise<number | undefined> {
    const closed = this.checkOpen();
    if (closed !== undefined) throw closed;
    for (let i = 0; i < this.index.length && this.index.base(i) < this.durableEnd; i++) {
      if (this.index.maxTimestamp(i) >= timestampMs) return this.index.base(i);
    }
    return undefined;
  }

  epochEntries(): readonly EpochEntry[] {
    return this.epochs.all();
  }

  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number } {
    return this.epochs.endOffsetFor(epoch, this.leo);
  }

  setHighWatermark(hw: number): void {
    assert.ok(Number.isSafeInteger(hw) && hw >= 0, `high watermark ${hw} is not an offset`);
    assert.ok(hw <= this.leo, `high watermark ${hw} is beyond the log end offset ${this.leo}`);
    // Monotonic: a lagging report (say from a new leader that has not caught up yet) is ignored.
    if (hw <= this.hw || this.closed) return;
    this.hw = hw;
    this.markHwDirty(this);
  }

  async applyRetention(policy: { retentionMs: number; retentionBytes: number; nowMs: number; notAbove: number }): Promise<number> {
    const closed = this.checkOpen() ?? this.commitError();
    if (closed !== undefined) throw closed;
    if (![policy.retentionMs, policy.retentionBytes, policy.nowMs, policy.notAbove].every(isInt)) {
      throw new StorageError('INVALID_REQUEST', 'retention policy values must be integers');
    }
    const count = retentionCount(this.index, policy, Math.min(policy.notAbove, this.durableEnd));
    if (count === 0) return 0;
    const newStart = this.index.end(count - 1);
    const records = newStart - this.start;
    const ops: WriteOp[] = [];
    for (let i = 0; i < count; i++) ops.push({ type: 'del', key: this.keys.batch(this.index.base(i)) });
    const epochBefore = this.epochs.epochAt(newStart - 1);
    ops.push({ type: 'put', key: this.keys.logStart, value: logStartValue(newStart, epochBefore) });
    // An emptied log keeps no epoch entry (it would start where the next epoch's batch will):
    // the log-start value carries the epoch before it.
    const { removed, rewritten } = newStart >= this.leo ? { removed: this.epochs.clear(), rewritten: undefined } : this.epochs.truncateBefore(newStart);
    for (const e of removed) ops.push({ type: 'del', key: this.keys.epoch(e.epoch) });
    if (rewritten !== undefined) ops.push({ type: 'put', key: this.keys.epoch(rewritten.epoch), value: u64Value(rewritten.startOffset) });
    this.index.dropFirst(count);
    this.tail.dropBefore(newStart);
    this.start = newStart;
    this.epochBeforeStart = epochBefore;
    this.log.debug({ logStartOffset: newStart, records }, 'retention deleted batches');
    await this.commit.submit(ops);
    return records;
  }

  /** The checkpoint write for this log's HW (called by the store when it forms a group). */
  hwCheckpointOp(): WriteOp {
    return { type: 'put', key: this.keys.highWatermark, value: u64Value(this.hw) };
  }

  /** Refuses further calls (the partition is being dropped or the store closed). */
  close(): void {
    this.closed = true;
  }

  private checkOpen(): StorageError | undefined {
    return this.closed ? new StorageError('SHUTTING_DOWN', `partition ${this.key.topicId}/${this.key.partition} is closed`) : undefined;
  }

  private commitError(): StorageError | undefined {
    try {
      this.commit.checkWritable(0);
      return undefined;
    } catch (err) {
      return err as StorageError;
    }
  }
}

function checkAppendInput(input: AppendRecordsInput): StorageError | undefined {
  const bad = (what: string): StorageError => new StorageError('INVALID_REQUEST', `append: ${what}`);
  if (!(input.recordSet instanceof Uint8Array)) return bad('recordSet must be bytes');
  if (!Number.isInteger(input.recordCount) || input.recordCount < 1 || !isInt32(input.recordCount)) return bad('recordCount must be a positive int32');
  if (!isNonNegativeInt(input.leaderEpoch) || !isInt32(input.leaderEpoch)) return bad('leaderEpoch must be a non-negative int32');
  if (!isInt(input.maxTimestampMs)) return bad('maxTimestampMs must be an integer');
  if (input.attributes !== undefined && !isUint32(input.attributes)) return bad('attributes must be a uint32');
  if (input.producerId !== undefined && !isInt(input.producerId)) return bad('producerId must be an integer');
  if (input.producerSequence !== undefined && !isInt32(input.producerSequence)) return bad('producerSequence must be an int32');
  return undefined;
}
