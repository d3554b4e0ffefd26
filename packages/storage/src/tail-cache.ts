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
  /** Entries [head, length) are live; the dead prefix is compacted away once it dominates. */
  private bases: number[] = [];
  private ends: number[] = [];
  private batches: Buffer[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

  /** A batch appended at the LEO (callers keep the suffix contiguous). */
  push(base: number, end: number, batch: Buffer, durableEnd: number): void {
    if (this.ends.length > this.head && this.ends[this.ends.length - 1] !== base) this.clear();
    this.bases.push(base);
    this.ends.push(end);
    this.batches.push(batch);
    this.bytes += batch.byteLength;
    this.evict(durableEnd);
  }

  /** Drops what the byte bound allows, oldest first, durable batches only. */
  evict(durableEnd: number): void {
    while (this.head < this.bases.length - 1 && this.bytes > this.bytesMax && (this.ends[this.head] ?? Infinity) <= durableEnd) this.dropHead();
    this.compact();
  }

  /** Drops every batch ending after `offset` (a truncation to `offset`, batches dropped whole). */
  truncateFrom(offset: number): void {
    while (this.ends.length > this.head && (this.ends[this.ends.length - 1] ?? 0) > offset) {
      this.ends.pop();
      this.bases.pop();
      this.bytes -= this.batches.pop()?.byteLength ?? 0;
    }
  }

  /** Drops batches wholly below `offset` (retention). */
  dropBefore(offset: number): void {
    while (this.head < this.ends.length && (this.ends[this.head] ?? 0) <= offset) this.dropHead();
    this.compact();
  }

  clear(): void {
    this.bases = [];
    this.ends = [];
    this.batches = [];
    this.head = 0;
    this.bytes = 0;
  }

  /**
   * Batches from the one holding `fromOffset` while within `maxBytes` (at least one) and below
   * `limit`; undefined when `fromOffset` is before what the cache holds (read LevelDB instead).
   */
  read(fromOffset: number, maxBytes: number, limit: number): Buffer[] | undefined {
    const first = this.bases[this.head];
    if (first === undefined || fromOffset < first) return undefined;
    let i = this.head;
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

  private dropHead(): void {
    this.bytes -= this.batches[this.head]?.byteLength ?? 0;
    this.batches[this.head] = EMPTY;
    this.head++;
  }

  /** Amortised O(1): copies the live entries only once the dead prefix is as long as they are. */
  private compact(): void {
    if (this.head === 0 || this.head * 2 < this.bases.length) return;
    this.bases = this.bases.slice(this.head);
    this.ends = this.ends.slice(this.head);
    this.batches = this.batches.slice(this.head);
    this.head = 0;
  }
}

const EMPTY = Buffer.alloc(0);
