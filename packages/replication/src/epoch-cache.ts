import { assert } from './assert.js';

/** An epoch cache entry: `epoch` began at `startOffset` (KIP-101 leader-epoch checkpoint). */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

/**
 * Where a log starts: retention deleted every record below `offset`, and the last of them was written
 * in `epochBefore` (-1 when `offset` is 0 or the epoch is unknown). Raft's snapshot "last included
 * term": it keeps the epoch of the log's prefix known after retention emptied the log, for the
 * divergence check and for the `(lastEpoch, LEO)` a replica promises with.
 */
export interface LogStart {
  readonly offset: number;
  readonly epochBefore: number;
}

export const LOG_START_ZERO: LogStart = Object.freeze({ offset: 0, epochBefore: -1 });

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
  readonly #start: LogStart;

  /** `start`: where the log begins (entries may start below it: they are kept as they were). */
  constructor(entries: readonly EpochEntry[] = [], start: LogStart = LOG_START_ZERO) {
    this.#entries = [...entries];
    this.#start = start;
    assert(start.offset >= 0 && (start.offset > 0 || start.epochBefore === -1), 'bad log start');
    for (let i = 1; i < this.#entries.length; i++) {
      const prev = this.#entries[i - 1]!;
      const cur = this.#entries[i]!;
      assert(cur.epoch > prev.epoch && cur.startOffset > prev.startOffset, 'epoch cache out of order');
    }
    const first = this.#entries[0];
    if (first !== undefined) assert(first.epoch >= start.epochBefore, 'an epoch older than the log start');
  }

  entries(): readonly EpochEntry[] {
    return this.#entries;
  }

  get logStart(): LogStart {
    return this.#start;
  }

  /** Epoch of the last batch; for a log without batches, the epoch before its start (-1 if none). */
  get lastEpoch(): number {
    return this.#entries.at(-1)?.epoch ?? this.#start.epochBefore;
  }

  /** Records that a batch of `epoch` starts at `offset` (no-op if the epoch is already the latest). */
  append(epoch: number, offset: number): void {
    const last = this.#entries.at(-1);
    if (last !== undefined) {
      assert(epoch >= last.epoch, `epoch went backwards: ${epoch} < ${last.epoch}`);
      if (epoch === last.epoch) return;
      assert(offset > last.startOffset, 'epoch start offsets must increase');
    } else {
      assert(offset >= this.#start.offset && epoch >= this.#start.epochBefore, 'append before the log start');
    }
    this.#entries.push({ epoch, startOffset: offset });
  }

  /** Forgets every epoch that starts at or after `offset` (the log was truncated to `offset`). */
  truncateTo(offset: number): void {
    assert(offset >= this.#start.offset, `truncation to ${offset} below the log start ${this.#start.offset}`);
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
    // Older than every batch we hold: the epoch before the log start ended where our batches begin.
    const before = this.#start.epochBefore;
    if (before >= 0 && before <= epoch) return { epoch: before, endOffset: this.#entries[0]?.startOffset ?? logEndOffset };
    return { epoch: -1, endOffset: -1 };
  }

  /** Epoch of the batch holding `offset - 1`, i.e. of the log prefix ending at `offset`; -1 for 0. */
  epochBefore(offset: number): number {
    if (offset <= 0) return -1;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.startOffset <= offset - 1) return e.epoch;
    }
    return offset === this.#start.offset ? this.#start.epochBefore : -1;
  }
}
