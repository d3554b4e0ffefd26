import type { EpochEntry } from './contract.js';

/**
 * The leader-epoch cache (KIP-101): which epoch began at which offset, oldest first, strictly
 * increasing in both. Pure in-memory logic; the partition log persists the changes it reports.
 */
export class EpochCache {
  private entries: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.entries = [...entries].sort((a, b) => a.epoch - b.epoch);
  }

  /** A copy: callers must not see later appends or truncations change what they hold. */
  all(): readonly EpochEntry[] {
    return [...this.entries];
  }

  get lastEpoch(): number {
    return this.entries.at(-1)?.epoch ?? -1;
  }

  /** Records that `epoch` starts at `startOffset` if it is newer than the last; returns the entry added. */
  maybeAdd(epoch: number, startOffset: number): EpochEntry | undefined {
    if (epoch <= this.lastEpoch) return undefined;
    const entry = { epoch, startOffset };
    this.entries.push(entry);
    return entry;
  }

  /** Removes entries starting at or after `offset` (truncation); returns them. */
  truncateFrom(offset: number): EpochEntry[] {
    const keep = this.entries.filter((e) => e.startOffset < offset);
    const removed = this.entries.filter((e) => e.startOffset >= offset);
    this.entries = keep;
    return removed;
  }

  /**
   * Retention moved the log start to `logStart`: drops entries wholly below it and moves the first
   * survivor's start up to `logStart` (as Kafka does), so the epoch of the oldest record stays known.
   * Returns the removed entries and the rewritten one, if any.
   */
  truncateBefore(logStart: number): { removed: EpochEntry[]; rewritten: EpochEntry | undefined } {
    const removed: EpochEntry[] = [];
    while (this.entries.length > 1 && (this.entries[1]?.startOffset ?? Infinity) <= logStart) {
      const e = this.entries.shift();
      if (e !== undefined) removed.push(e);
    }
    const first = this.entries[0];
    if (first === undefined || first.startOffset >= logStart) return { removed, rewritten: undefined };
    const rewritten = { epoch: first.epoch, startOffset: logStart };
    this.entries[0] = rewritten;
    return { removed, rewritten };
  }

  /** Epoch of the batch holding `offset` (-1 when no entry starts at or before it). */
  epochAt(offset: number): number {
    let epoch = -1;
    for (const e of this.entries) {
      if (e.startOffset > offset) break;
      epoch = e.epoch;
    }
    return epoch;
  }

  clear(): EpochEntry[] {
    const removed = this.entries;
    this.entries = [];
    return removed;
  }

  /**
   * KIP-101 OffsetsForLeaderEpoch, as the contract states it: the largest epoch <= `epoch` in this
   * log and its end offset (the start of the next greater epoch, or `logEndOffset` if it is the
   * latest); { -1, -1 } when no epoch <= `epoch` is known.
   */
  endOffsetFor(epoch: number, logEndOffset: number): { epoch: number; endOffset: number } {
    let floor = -1;
    for (let i = 0; i < this.entries.length; i++) {
      if ((this.entries[i]?.epoch ?? Infinity) <= epoch) floor = i;
      else break;
    }
    const floorEntry = this.entries[floor];
    if (floorEntry === undefined) return { epoch: -1, endOffset: -1 };
    const next = this.entries[floor + 1];
    return { epoch: floorEntry.epoch, endOffset: next === undefined ? logEndOffset : next.startOffset };
  }
}
