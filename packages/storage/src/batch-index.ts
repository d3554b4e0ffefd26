/**
 * In-memory index of one partition's batches, oldest first: base offset, end offset (exclusive),
 * stored size and max timestamp. It covers every appended batch, including those still in flight.
 * Old entries are dropped from the head by moving `head` (compacted once half the arrays are dead),
 * so retention does not shift the arrays on every call.
 */
export class BatchIndex {
  private bases: number[] = [];
  private ends: number[] = [];
  private sizes: number[] = [];
  private maxTimestamps: number[] = [];
  private head = 0;
  private bytes = 0;

  get length(): number {
    return this.bases.length - this.head;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  push(baseOffset: number, endOffset: number, sizeBytes: number, maxTimestampMs: number): void {
    this.bases.push(baseOffset);
    this.ends.push(endOffset);
    this.sizes.push(sizeBytes);
    this.maxTimestamps.push(maxTimestampMs);
    this.bytes += sizeBytes;
  }

  base(i: number): number {
    return this.bases[this.head + i] ?? Number.NaN;
  }

  end(i: number): number {
    return this.ends[this.head + i] ?? Number.NaN;
  }

  size(i: number): number {
    return this.sizes[this.head + i] ?? 0;
  }

  maxTimestamp(i: number): number {
    return this.maxTimestamps[this.head + i] ?? Number.NaN;
  }

  /** Index of the batch containing `offset` (the last with base <= offset), or -1 if none. */
  indexOf(offset: number): number {
    let lo = 0;
    let hi = this.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.base(mid) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  /** Drops entries i.. (the tail). */
  truncateFrom(i: number): void {
    const at = this.head + i;
    for (let j = at; j < this.sizes.length; j++) this.bytes -= this.sizes[j] ?? 0;
    this.bases.length = at;
    this.ends.length = at;
    this.sizes.length = at;
    this.maxTimestamps.length = at;
  }

  /** Drops the first `count` entries. */
  dropFirst(count: number): void {
    for (let j = this.head; j < this.head + count; j++) this.bytes -= this.sizes[j] ?? 0;
    this.head += count;
    if (this.head > 1024 && this.head * 2 > this.bases.length) {
      this.bases = this.bases.slice(this.head);
      this.ends = this.ends.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.maxTimestamps = this.maxTimestamps.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.truncateFrom(0);
  }
}
