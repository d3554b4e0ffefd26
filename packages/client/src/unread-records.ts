/** The offsets a delivered (data) batch covers. */
export interface BatchSpan {
  readonly baseOffset: number;
  readonly recordCount: number;
}

/**
 * Records a consumer at `committed` still has to receive below `highWatermark`, from the data
 * batches a Fetch at `committed` returned (brokers skip control batches, such as a new leader's
 * epoch-start marker, which no consumer receives). Exact when the batches reach the high watermark
 * or none came back (nothing but markers is left); otherwise the offsets past the last batch are
 * counted as records (an over-estimate by the markers among them).
 */
export function unreadRecords(batches: readonly BatchSpan[], committed: number, highWatermark: number): number {
  if (committed >= highWatermark) return 0;
  let count = 0;
  let end = committed;
  for (const b of batches) {
    const from = Math.max(b.baseOffset, committed);
    const to = Math.min(b.baseOffset + b.recordCount, highWatermark);
    if (to > from) count += to - from;
    end = Math.max(end, b.baseOffset + b.recordCount);
  }
  if (batches.length === 0 || end >= highWatermark) return count;
  return count + (highWatermark - end);
}
