import { assert } from './assert.js';
import { EpochCache, LOG_START_ZERO, type EpochEnd, type EpochEntry, type LogStart } from './epoch-cache.js';
import { batchEnd, type ReplicaBatch } from './messages.js';
import type { RestoredReplicaState } from './partition-replica.js';

/** A log operation that became durable, in issue order. */
export type LogOpCompletion =
  | { readonly kind: 'append'; readonly endOffset: number }
  | { readonly kind: 'truncate'; readonly offset: number }
  | { readonly kind: 'reset'; readonly offset: number };

type LogOp =
  | { readonly kind: 'append'; readonly batch: ReplicaBatch }
  | { readonly kind: 'truncate'; readonly offset: number }
  | { readonly kind: 'reset'; readonly logStart: LogStart };

/**
 * In-memory twin of the partition log contract (packages/storage `PartitionLog`), synchronous, for
 * the simulator and tests. Like the real log, operations take effect at once in the written view
 * (LEO moves immediately, reads see the batch) and become durable later, in order: the owner calls
 * {@link completeOps} to make the next operations durable (what group commit + fsync does) and
 * {@link crash} to lose everything not yet durable. The HW checkpoint becomes durable with the next
 * {@link completeOps}. Batches are dense from the log start, which {@link applyRetention} moves
 * (durably at once: deleting old committed batches is safe to lose or to keep).
 */
export class MemoryLogStorage {
  #batches: ReplicaBatch[];
  #cache: EpochCache;
  #durable: ReplicaBatch[];
  #durableCache: EpochCache;
  #pending: LogOp[] = [];
  #hw: number;
  #durableHw: number;
  /** Log start of the written view, and of what a crash would leave (they differ while a reset is pending). */
  #start: LogStart;
  #durableStart: LogStart;

  /** `logStart`: where a log retention already trimmed starts (default offset 0). */
  constructor(initial: { batches?: readonly ReplicaBatch[]; highWatermark?: number; logStart?: LogStart } = {}) {
    const batches = [...(initial.batches ?? [])];
    this.#start = initial.logStart ?? LOG_START_ZERO;
    this.#durableStart = this.#start;
    let at = this.#start.offset;
    const cache = new EpochCache([], this.#start);
    for (const b of batches) {
      assert(b.baseOffset === at, 'initial batches must be dense from the log start');
      cache.append(b.epoch, b.baseOffset);
      at = batchEnd(b);
    }
    this.#batches = batches;
    this.#cache = cache;
    this.#durable = [...batches];
    this.#durableCache = new EpochCache(cache.entries(), this.#start);
    this.#hw = initial.highWatermark ?? 0;
    this.#durableHw = this.#hw;
    assert(this.#hw <= at, 'HW beyond LEO');
  }

  /** LEO of the written view. */
  get logEndOffset(): number {
    const last = this.#batches.at(-1);
    return last === undefined ? this.#start.offset : batchEnd(last);
  }
  /** LEO of what a crash would leave. */
  get durableEndOffset(): number {
    const last = this.#durable.at(-1);
    return last === undefined ? this.#durableStart.offset : batchEnd(last);
  }
  get logStart(): LogStart {
    return this.#start;
  }
  get lastEpoch(): number {
    return this.#cache.lastEpoch;
  }
  get highWatermark(): number {
    return this.#hw;
  }
  get durableHighWatermark(): number {
    return this.#durableHw;
  }
  /** Operations issued and not yet durable. */
  get pendingOps(): number {
    return this.#pending.length;
  }

  /** Written batches, oldest first (do not mutate). */
  batches(): readonly ReplicaBatch[] {
    return this.#batches;
  }

  /** The written batch holding `offset`, if any. */
  batchAt(offset: number): ReplicaBatch | undefined {
    const i = this.#indexOf(offset);
    return i < this.#batches.length && this.#batches[i]!.baseOffset <= offset ? this.#batches[i] : undefined;
  }

  epochEntries(): readonly EpochEntry[] {
    return this.#cache.entries();
  }
  endOffsetForEpoch(epoch: number): EpochEnd {
    return this.#cache.endOffsetForEpoch(epoch, this.logEndOffset);
  }

  /** Appends at LEO (asserts the base offset). */
  append(batch: ReplicaBatch): void {
    assert(batch.baseOffset === this.logEndOffset, `append at ${batch.baseOffset}, LEO ${this.logEndOffset}`);
    this.#batches.push(batch);
    this.#cache.append(batch.epoch, batch.baseOffset);
    this.#pending.push({ kind: 'append', batch });
  }

  /** Drops every batch holding an offset >= `offset` (a straddling batch is dropped whole). */
  truncateTo(offset: number): void {
    assert(offset >= this.#start.offset, `truncation to ${offset} below the log start ${this.#start.offset}`);
    this.#batches = dropFrom(this.#batches, offset);
    this.#cache.truncateTo(this.logEndOffset);
    this.#pending.push({ kind: 'truncate', offset });
  }

  /** Drops every batch and starts the log again, empty, at `logStart` (durable with its completion). */
  resetTo(logStart: LogStart): void {
    assert(logStart.offset >= this.#start.offset, 'reset backwards');
    this.#batches = [];
    this.#start = logStart;
    this.#cache = new EpochCache([], logStart);
    this.#pending.push({ kind: 'reset', logStart });
  }

  /** Whole batches from the one holding `fromOffset`, within `maxBytes` (at least one), base offsets < `endOffset`. */
  read(fromOffset: number, maxBytes: number, endOffset: number): ReplicaBatch[] {
    const out: ReplicaBatch[] = [];
    let bytes = 0;
    for (let i = this.#indexOf(fromOffset); i < this.#batches.length; i++) {
      const b = this.#batches[i]!;
      if (b.baseOffset >= endOffset) break;
      if (out.length > 0 && bytes + b.sizeBytes > maxBytes) break;
      out.push(b);
      bytes += b.sizeBytes;
    }
    return out;
  }

  /** Records the HW checkpoint (monotonic while the process lives); durable with the next completeOps. */
  setHighWatermark(hw: number): void {
    assert(hw >= this.#hw && hw <= this.logEndOffset, `bad HW checkpoint ${hw}`);
    this.#hw = hw;
  }

  /** Makes the next `count` pending operations (and the HW checkpoint) durable; returns them in order. */
  completeOps(count: number): LogOpCompletion[] {
    const done: LogOpCompletion[] = [];
    for (const op of this.#pending.splice(0, Math.min(count, this.#pending.length))) {
      if (op.kind === 'append') {
        this.#durable.push(op.batch);
        this.#durableCache.append(op.batch.epoch, op.batch.baseOffset);
        done.push({ kind: 'append', endOffset: batchEnd(op.batch) });
      } else if (op.kind === 'truncate') {
        this.#durable = dropFrom(this.#durable, op.offset);
        this.#durableCache.truncateTo(this.durableEndOffset);
        done.push({ kind: 'truncate', offset: op.offset });
      } else {
        this.#durable = [];
        this.#durableStart = op.logStart;
        this.#durableCache = new EpochCache([], op.logStart);
        done.push({ kind: 'reset', offset: op.logStart.offset });
      }
    }
    this.#durableHw = Math.min(this.#hw, this.durableEndOffset);
    return done;
  }

  /**
   * Retention: deletes the oldest whole batches that are durable and end at or below `notAbove` (the
   * replica's HW), in both views at once, and moves the log start past them. Returns the records deleted.
   */
  applyRetention(notAbove: number): number {
    if (this.#pending.some((op) => op.kind === 'reset')) return 0;
    const limit = Math.min(notAbove, this.#durableHw, this.durableEndOffset);
    let n = 0;
    while (n < this.#durable.length && batchEnd(this.#durable[n]!) <= limit) n++;
    if (n === 0) return 0;
    const newStart = batchEnd(this.#durable[n - 1]!);
    const deleted = newStart - this.#start.offset;
    this.#start = { offset: newStart, epochBefore: this.#durableCache.epochBefore(newStart) };
    this.#durableStart = this.#start;
    this.#durable = this.#durable.slice(n);
    this.#batches = this.#batches.filter((b) => b.baseOffset >= newStart);
    this.#durableCache = new EpochCache(entriesFrom(this.#durableCache.entries(), newStart, this.durableEndOffset), this.#start);
    this.#cache = new EpochCache(entriesFrom(this.#cache.entries(), newStart, this.logEndOffset), this.#start);
    return deleted;
  }

  /** Process crash: everything not durable is gone. */
  crash(): void {
    this.#pending = [];
    this.#batches = [...this.#durable];
    this.#start = this.#durableStart;
    this.#cache = new EpochCache(this.#durableCache.entries(), this.#start);
    // As storage recovery clamps it: the HW checkpoint is never below the log start.
    this.#hw = Math.max(this.#durableHw, this.#start.offset);
    this.#durableHw = this.#hw;
  }

  /** What a restarted replica recovers (everything in the written view is durable after crash()). */
  recovered(promisedEpoch: number): RestoredReplicaState {
    assert(this.#pending.length === 0, 'recover only after crash() or with nothing pending');
    return { logEndOffset: this.logEndOffset, epochEntries: this.#cache.entries(), highWatermark: this.#hw, promisedEpoch, logStart: this.#start };
  }

  /** Index of the first batch ending after `offset`. */
  #indexOf(offset: number): number {
    let lo = 0;
    let hi = this.#batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (batchEnd(this.#batches[mid]!) <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** What storage keeps of an epoch cache once the log starts at `start` (as packages/storage does). */
function entriesFrom(entries: readonly EpochEntry[], start: number, logEndOffset: number): EpochEntry[] {
  // An emptied log keeps no entry: its LogStart carries the epoch before it.
  if (start >= logEndOffset) return [];
  const out: EpochEntry[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const next = entries[i + 1];
    if (next !== undefined && next.startOffset <= start) continue;
    out.push(e.startOffset < start ? { epoch: e.epoch, startOffset: start } : e);
  }
  return out;
}

function dropFrom(batches: ReplicaBatch[], offset: number): ReplicaBatch[] {
  let n = batches.length;
  while (n > 0 && batchEnd(batches[n - 1]!) > offset) n--;
  return batches.slice(0, n);
}
