import type { BatchIndex } from './batch-index.js';

export interface RetentionPolicy {
  /** Delete batches whose newest record is older than this; negative = no time limit. */
  readonly retentionMs: number;
  /** Delete old batches while the log is bigger than this; negative = no size limit. */
  readonly retentionBytes: number;
  readonly nowMs: number;
}

/**
 * How many batches, from the oldest, retention may delete: a prefix of whole batches, each ending
 * at or below `limitOffset` (never touching offsets at or above it), each either expired by time or
 * needed to bring the log within retentionBytes.
 */
export function retentionCount(index: BatchIndex, policy: RetentionPolicy, limitOffset: number): number {
  const expiredBeforeMs = policy.nowMs - policy.retentionMs;
  let remainingBytes = index.sizeBytes;
  let count = 0;
  while (count < index.length && index.end(count) <= limitOffset) {
    const expired = policy.retentionMs >= 0 && index.maxTimestamp(count) < expiredBeforeMs;
    const oversize = policy.retentionBytes >= 0 && remainingBytes > policy.retentionBytes;
    if (!expired && !oversize) break;
    remainingBytes -= index.size(count);
    count++;
  }
  return count;
}
