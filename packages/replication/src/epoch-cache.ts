import { assert } from './assert.js';

/** An epoch cache entry: `epoch` began at `startOffset` (KIP-101 leader-epoch checkpoint). */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/** Answer of {@link EpochCache.endOffsetForEpoch}; `{ epoch: -1, endOffset: -1 }` when no epoch <= the asked one exists. */
export interface EpochEnd {
  readonly epoch: number;
  readonly endOffset: number;
}

/**
 * The leader-epoch cache of one log: for every epoch that has a batch in the log, the offset of its
 * first batch. Epochs strictly increase along the log and so do start offsets. Same semantics as
 * `PartitionLog.epochEntries()` / `endOffsetForEpoch()` in packages/storage.
 */
export class EpochCache {
  readonly #entries: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.#entries = [...entries];
    for (let i = 1; i < this.#entries.length; i++) {
      const prev = this.#entries[i - 1]!;
      const cur = this.#entries[i]!;
      assert(cur.epoch > prev.epoch && cur.startOffset > prev.startOffset, 'epoch cache out of order');
    }
  }

  entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  /** Epoch of the last batch, or -1 when the log is empty. */
  get lastEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? -1;
  }

  /** Records that a batch of `epoch` starts at `offset` (no-op if the epoch is already the latest). */
  append(epoch: number, offset: number): void {
    const last = this.#entries.at(-1);
    if (last !== undefined) {
      assert(epoch >= last.epoch, `epoch went backwards: ${epoch} < ${last.epoch}`);
      if (epoch === last.epoch) return;
      assert(offset > last.startOffset, 'epoch start offsets must increase');
    }
    this.#entries.push({ epoch, startOffset: offset });
  }

  /** Forgets every epoch that starts at or after `offset` (the log was truncated to `offset`). */
  truncateTo(offset: number): void {
    while (this.#entries.length > 0 && this.#entries.at(-1)!.startOffset >= offset) this.#entries.pop();
  }

  /**
   * KIP-101: the largest epoch <= `epoch` present in the log and its end offset (the start of the
   * next greater epoch, or `logEndOffset` when it is the latest).
   */
  endOffsetForEpoch(epoch: number, logEndOffset: number): EpochEnd {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.epoch <= epoch) {
        const next = this.#entries[i + 1];
        return { epoch: e.epoch, endOffset: next === undefined ? logEndOffset : next.startOffset };
      }
    }
    return { epoch: -1, endOffset: -1 };
  }

  /** Epoch of the batch holding `offset - 1`, i.e. of the log prefix ending at `offset`; -1 for 0. */
  epochBefore(offset: number): number {
    if (offset <= 0) return -1;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.startOffset <= offset - 1) return e.epoch;
    }
    return -1;
  }
}
