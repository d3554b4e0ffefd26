import type { Logger } from 'pino';
import { crcMatches, decodeBatchHeader, type BatchLayout } from './batch-codec.js';
import { BatchIndex } from './batch-index.js';
import type { EpochEntry, PartitionKey } from './contract.js';
import { recoveryReadChunkEntries } from './constants.js';
import type { Db, WriteOp } from './group-commit.js';
import { readLogStart, readU64, type PartitionKeys } from './keys.js';

export interface RecoveredPartition {
  readonly logStartOffset: number;
  readonly epochBeforeLogStart: number;
  readonly logEndOffset: number;
  readonly highWatermark: number;
  readonly epochs: EpochEntry[];
  readonly index: BatchIndex;
}

/** Why a stored batch cannot be served, or its layout if it is sound and follows the previous one. */
function defect(keyBase: number, value: Buffer, expectedBase: number, lastEpoch: number): { reason: string } | { layout: BatchLayout } {
  let layout: BatchLayout;
  try {
    layout = decodeBatchHeader(value);
  } catch {
    return { reason: 'undecodable' };
  }
  if (layout.baseOffset !== keyBase) return { reason: 'base offset differs from key' };
  if (keyBase !== expectedBase) return { reason: 'not contiguous' };
  if (layout.recordCount < 1) return { reason: 'empty batch' };
  if (layout.leaderEpoch < lastEpoch) return { reason: 'leader epoch went backwards' };
  if (!crcMatches(value, layout)) return { reason: 'crc mismatch' };
  return { layout };
}

/**
 * Rebuilds a partition's in-memory state from LevelDB. Every batch is decoded (header only) and
 * CRC-checked; the log ends at the first batch that is undecodable, CRC-failing, not contiguous
 * with the previous one or of an older leader epoch. That batch and everything after it are deleted with a synchronous write
 * and logged: a corrupt tail is never served. The HW checkpoint is clamped into [start, LEO].
 */
export async function recoverPartition(db: Db, key: PartitionKey, keys: PartitionKeys, log: Logger): Promise<RecoveredPartition> {
  const startValue = await db.get(keys.logStart);
  const hwValue = await db.get(keys.highWatermark);
  const { offset: logStartOffset, epochBefore: epochBeforeLogStart } = readLogStart(startValue);
  const index = new BatchIndex();
  const deletes: WriteOp[] = [];
  let expected = logStartOffset;
  let corruptAt: number | undefined;
  let lastEpoch = -1;

  const it = db.iterator({ gte: keys.batch(0), lt: keys.batchesEnd });
  try {
    for (;;) {
      const chunk = await it.nextv(recoveryReadChunkEntries);
      if (chunk.length === 0) break;
      for (const [k, v] of chunk) {
        const base = keys.baseOffsetOf(k);
        if (corruptAt !== undefined || base < logStartOffset) {
          // Below the start: a leftover of retention (cannot happen with atomic writes, but must
          // not be mistaken for a gap that would cost the whole log). After a defect: the tail.
          deletes.push({ type: 'del', key: k });
          continue;
        }
        const d = defect(base, v, expected, lastEpoch);
        if ('reason' in d) {
          corruptAt = base;
          log.warn({ topicId: key.topicId, partition: key.partition, offset: base, expected, reason: d.reason }, 'truncated corrupt tail');
          deletes.push({ type: 'del', key: k });
          continue;
        }
        const end = base + d.layout.recordCount;
        index.push(base, end, v.byteLength, d.layout.maxTimestampMs);
        expected = end;
        lastEpoch = d.layout.leaderEpoch;
      }
    }
  } finally {
    await it.close();
  }
  const logEndOffset = expected;

  const epochs: EpochEntry[] = [];
  for await (const [k, v] of db.iterator({ gte: keys.epochsStart, lt: keys.epochsEnd })) {
    const entry = { epoch: keys.epochOf(k), startOffset: readU64(v, 0) };
    // As truncation does: an epoch that starts at or past the LEO has no batch left.
    if (entry.startOffset >= logEndOffset) {
      deletes.push({ type: 'del', key: k });
      continue;
    }
    // Retention before issue 11's fix could leave an emptied log's epoch at the offset where the
    // next epoch began: the older one has no batch, so the later one wins.
    while (epochs.length > 0 && epochs.at(-1)!.startOffset >= entry.startOffset) deletes.push({ type: 'del', key: keys.epoch(epochs.pop()!.epoch) });
    epochs.push(entry);
  }

  if (deletes.length > 0) await db.batch(deletes, { sync: true });

  const checkpoint = hwValue === undefined ? 0 : readU64(hwValue, 0);
  const highWatermark = Math.max(logStartOffset, Math.min(checkpoint, logEndOffset));
  return { logStartOffset, epochBeforeLogStart, logEndOffset, highWatermark, epochs, index };
}
