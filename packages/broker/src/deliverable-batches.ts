import { BATCH_ATTRIBUTE_CONTROL, decodeBatchHeader } from '@runnel/storage';

/** Stored batches picked for a consumer, and where the consumer's next read starts. */
export interface DeliverableBatches {
  readonly batches: Buffer[];
  /** Offset after the last batch delivered or skipped. */
  readonly nextOffset: number;
}

/**
 * Walks batches read from the log (in offset order) from `fromOffset`: skips control batches (their
 * offsets are passed over, they are never delivered), stops at the first batch at or above
 * `endOffset` (the HW) and at the first batch `take` refuses. `take(sizeBytes, recordCount)` is
 * asked for each data batch and charges it when it says yes. The stored bytes are passed on as-is.
 */
export function selectDeliverable(
  raw: readonly Buffer[],
  fromOffset: number,
  endOffset: number,
  take: (sizeBytes: number, recordCount: number) => boolean,
): DeliverableBatches {
  const batches: Buffer[] = [];
  let next = fromOffset;
  for (const batch of raw) {
    const header = decodeBatchHeader(batch);
    const end = header.baseOffset + header.recordCount;
    if (header.baseOffset >= endOffset) break;
    if (end <= next) continue;
    if ((header.attributes & BATCH_ATTRIBUTE_CONTROL) !== 0) {
      next = end;
      continue;
    }
    if (!take(batch.length, header.recordCount)) break;
    batches.push(batch);
    next = end;
  }
  return { batches, nextOffset: next };
}
