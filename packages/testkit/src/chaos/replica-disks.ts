import { pino } from 'pino';
import { messageType } from '@runnel/protocol';
import { BATCH_ATTRIBUTE_CONTROL, Store, decodeBatchHeader } from '@runnel/storage';
import type { ReplicaPrefix } from '../history/history-types.js';

const READ_BYTES = 4 * 1024 * 1024;

/**
 * After the nodes stopped: every replica's committed prefix (offsets below its checkpointed high
 * watermark) read straight from its LevelDB, values decoded, control batches skipped.
 */
export async function readReplicaPrefixes(brokers: ReadonlyArray<{ id: number; dataDir: string }>, topicId: string, partitions: number): Promise<ReplicaPrefix[]> {
  const out: ReplicaPrefix[] = [];
  const batchType = messageType('Batch');
  for (const b of brokers) {
    const store = await Store.open(b.dataDir, { fsync: { kind: 'never' }, logger: pino({ level: 'silent' }) });
    try {
      const hosted = new Set((await store.listPartitions()).filter((k) => k.topicId === topicId).map((k) => k.partition));
      for (let p = 0; p < partitions; p++) {
        if (!hosted.has(p)) continue;
        const log = await store.partition({ topicId, partition: p });
        const end = log.highWatermark;
        const records: Array<readonly [number, string]> = [];
        let next = log.logStartOffset;
        while (next < end) {
          const raw = await log.read(next, READ_BYTES, end);
          if (raw.length === 0) break;
          for (const bytes of raw) {
            const h = decodeBatchHeader(bytes);
            const batchEnd = h.baseOffset + h.recordCount;
            if ((h.attributes & BATCH_ATTRIBUTE_CONTROL) === 0) {
              const decoded = batchType.toObject(batchType.decode(bytes), { longs: Number, bytes: Buffer, defaults: true, arrays: true, objects: true }) as {
                records?: { records: Array<{ value: Buffer }> } | null;
              };
              (decoded.records?.records ?? []).forEach((r, i) => {
                const offset = h.baseOffset + i;
                if (offset >= next && offset < end) records.push([offset, r.value.toString()]);
              });
            }
            next = Math.max(next, batchEnd);
          }
        }
        out.push({ node: b.id, partition: p, records });
      }
    } finally {
      await store.close();
    }
  }
  return out;
}
