/**
 * The newest batches of one partition log, in memory, as the exact stored bytes: a contiguous
 * suffix of the log ending at its LEO. Reads that start inside it (followers fetching what the
 * leader just appended, consumers at the head) are served without touching LevelDB, and batches
 * not yet durable are here too, so a leader can ship a batch to its followers while its own write
 * is still in flight (its own copy counts for the high watermark only once durable).
 *
 * Bounded by bytes: the oldest batches are evicted first, but never one that is not yet durable
 * (those are bounded by the store's pending-write bound instead).
 */
export class TailCache {
  private bases: number[] = [];
  private ends: number[] = [];
  private batches: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  /** A batch appended at the LEO (callers keep the suffix contiguous). */
  push(base: number, end: number, batch: Buffer, durableEnd: number): void {
    if (this.ends.length > 0 && this.ends[this.ends.length - 1] !== base) this.clear();
    this.bases.push(base);
    this.ends.push(end);
    this.batches.push(batch);
    this.bytes += batch.byteLength;
    this.evict(durableEnd);
  }

  /** Drops what the byte bound allows, oldest first, durable batches only. */
  evict(durableEnd: number): void {
    let n = 0;
    let bytes = this.bytes;
    while (n < this.bases.length - 1 && bytes > this.bytesMax && (this.ends[n] ?? Infinity) <= durableEnd) {
      bytes -= this.batches[n]?.byteLength ?? 0;
      n++;
    }
    if (n > 0) {
      this.bases = this.bases.slice(n);
      this.ends = this.ends.slice(n);
      this.batches = this.batches.slice(n);
      this.bytes = bytes;
    }
  }

  /** Drops every batch ending after `offset` (a truncation to `offset`, batches dropped whole). */
  truncateFrom(offset: number): void {
    while (this.ends.length > 0 && (this.ends[this.ends.length - 1] ?? 0) > offset) {
      this.ends.pop();
      this.bases.pop();
      this.bytes -= this.batches.pop()?.byteLength ?? 0;
    }
  }

  /** Drops batches wholly below `offset` (retention). */
  dropBefore(offset: number): void {
    let n = 0;
    while (n < this.ends.length && (this.ends[n] ?? 0) <= offset) n++;
    if (n > 0) {
      for (let i = 0; i < n; i++) this.bytes -= this.batches[i]?.byteLength ?? 0;
      this.bases = this.bases.slice(n);
      this.ends = this.ends.slice(n);
      this.batches = this.batches.slice(n);
    }
  }

  clear(): void {
    this.bases = [];
    this.ends = [];
    this.batches = [];
    this.bytes = 0;
  }

  /**
   * Batches from the one holding `fromOffset` while within `maxBytes` (at least one) and below
   * `limit`; undefined when `fromOffset` is before what the cache holds (read LevelDB instead).
   */
  read(fromOffset: number, maxBytes: number, limit: number): Buffer[] | undefined {
    const first = this.bases[0];
    if (first === undefined || fromOffset < first) return undefined;
    let i = 0;
    while (i < this.ends.length && (this.ends[i] ?? 0) <= fromOffset) i++;
    const out: Buffer[] = [];
    let bytes = 0;
    for (; i < this.bases.length && (this.bases[i] ?? Infinity) < limit; i++) {
      const b = this.batches[i]!;
      if (out.length > 0 && bytes + b.byteLength > maxBytes) break;
      bytes += b.byteLength;
      out.push(b);
    }
    return out;
  }
}
