import { assert } from './assert.js';
import { EpochCache, type EpochEnd, type EpochEntry } from './epoch-cache.js';
import { batchEnd, type ReplicaBatch } from './messages.js';
import type { RestoredReplicaState } from './partition-replica.js';

/** A log operation that became durable, in issue order. */
export type LogOpCompletion =
  | { readonly kind: 'append'; readonly endOffset: number }
  | { readonly kind: 'truncate'; readonly offset: number };

type LogOp = { readonly kind: 'append'; readonly batch: ReplicaBatch } | { readonly kind: 'truncate'; readonly offset: number };

/**
 * In-memory twin of the partition log contract (packages/storage `PartitionLog`), synchronous, for
 * the simulator and tests. Like the real log, operations take effect at once in the written view
 * (LEO moves immediately, reads see the batch) and become durable later, in order: the owner calls
 * {@link completeOps} to make the next operations durable (what group commit + fsync does) and
 * {@link crash} to lose everything not yet durable. The HW checkpoint becomes durable with the next
 * {@link completeOps}. Batches are dense from offset 0 (no retention here).
 */
export class MemoryLogStorage {
  #batches: ReplicaBatch[];
  #cache: EpochCache;
  #durable: ReplicaBatch[];
  #durableCache: EpochCache;
  #pending: LogOp[] = [];
  #hw: number;
  #durableHw: number;

  constructor(initial: { batches?: readonly ReplicaBatch[]; highWatermark?: number } = {}) {
    const batches = [...(initial.batches ?? [])];
    let at = 0;
    const cache = new EpochCache();
    for (const b of batches) {
      assert(b.baseOffset === at, 'initial batches must be dense from 0');
      cache.append(b.epoch, b.baseOffset);
      at = batchEnd(b);
    }
    this.#batches = batches;
    this.#cache = cache;
    this.#durable = [...batches];
    this.#durableCache = new EpochCache(cache.entries());
    this.#hw = initial.highWatermark ?? 0;
    this.#durableHw = this.#hw;
    assert(this.#hw <= at, 'HW beyond LEO');
  }

  /** LEO of the written view. */
  get logEndOffset(): number {
    const last = this.#batches.at(-1);
    return last === undefined ? 0 : batchEnd(last);
  }
  /** LEO of what a crash would leave. */
  get durableEndOffset(): number {
    const last = this.#durable.at(-1);
    return last === undefined ? 0 : batchEnd(last);
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
    this.#batches = dropFrom(this.#batches, offset);
    this.#cache.truncateTo(this.logEndOffset);
    this.#pending.push({ kind: 'truncate', offset });
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
      } else {
        this.#durable = dropFrom(this.#durable, op.offset);
        this.#durableCache.truncateTo(this.durableEndOffset);
        done.push({ kind: 'truncate', offset: op.offset });
      }
    }
    this.#durableHw = Math.min(this.#hw, this.durableEndOffset);
    return done;
  }

  /** Process crash: everything not durable is gone. */
  crash(): void {
    this.#pending = [];
    this.#batches = [...this.#durable];
    this.#cache = new EpochCache(this.#durableCache.entries());
    this.#hw = this.#durableHw;
  }

  /** What a restarted replica recovers (everything in the written view is durable after crash()). */
  recovered(promisedEpoch: number): RestoredReplicaState {
    assert(this.#pending.length === 0, 'recover only after crash() or with nothing pending');
    return { logEndOffset: this.logEndOffset, epochEntries: this.#cache.entries(), highWatermark: this.#hw, promisedEpoch };
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

function dropFrom(batches: ReplicaBatch[], offset: number): ReplicaBatch[] {
  let n = batches.length;
  while (n > 0 && batchEnd(batches[n - 1]!) > offset) n--;
  return batches.slice(0, n);
}
