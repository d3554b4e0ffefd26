// Reads a stopped broker's partition log straight from its LevelDB files, so tests can compare
// what every replica holds on disk, not only what the leader serves.
import path from 'node:path';
import pino from 'pino';
import { messageType } from '@runnel/protocol';
import { BATCH_ATTRIBUTE_CONTROL, Store, decodeBatchHeader } from '@runnel/storage';

export interface StoredRecord {
  readonly offset: number;
  readonly epoch: number;
  readonly value: string;
}

export interface ReplicaLog {
  readonly brokerId: number;
  /** User records (control batches left out), in offset order. */
  readonly records: readonly StoredRecord[];
  readonly highWatermark: number;
  readonly logEndOffset: number;
}

const RecordSet = messageType('RecordSet');

/** The log of `topicId`/`partition` in broker `brokerId`'s data folder under a testkit data dir. */
export async function readReplicaLog(clusterDataDir: string, brokerId: number, topicId: string, partition: number): Promise<ReplicaLog> {
  const store = await Store.open(path.join(clusterDataDir, `broker-${brokerId}`), { fsync: { kind: 'never' }, logger: pino({ level: 'silent' }) });
  try {
    const log = await store.partition({ topicId, partition });
    const records: StoredRecord[] = [];
    let next = log.logStartOffset;
    while (next < log.logEndOffset) {
      const batches = await log.read(next, 4 << 20, log.logEndOffset);
      if (batches.length === 0) break;
      for (const b of batches) {
        const h = decodeBatchHeader(b);
        next = h.baseOffset + h.recordCount;
        if ((h.attributes & BATCH_ATTRIBUTE_CONTROL) !== 0) continue;
        const set = RecordSet.toObject(RecordSet.decode(b.subarray(h.recordSetStart, h.recordSetEnd))) as { records?: Array<{ value?: Buffer }> };
        (set.records ?? []).forEach((r, i) => records.push({ offset: h.baseOffset + i, epoch: h.leaderEpoch, value: (r.value ?? Buffer.alloc(0)).toString() }));
      }
    }
    return { brokerId, records, highWatermark: log.highWatermark, logEndOffset: log.logEndOffset };
  } finally {
    await store.close();
  }
}

/**
 * Checks replicas against each other: no two replicas hold different records at one offset below
 * `committedEnd`, and every value in `acked` (value -> offset) is at its offset on at least
 * `quorum` replicas. Returns human-readable anomalies (empty when all is well).
 */
export function compareReplicas(logs: readonly ReplicaLog[], committedEnd: number, acked: ReadonlyMap<string, number>, quorum: number): string[] {
  const anomalies: string[] = [];
  const byOffset = new Map<number, Map<number, string>>();
  for (const log of logs) {
    for (const r of log.records) {
      if (r.offset >= committedEnd) continue;
      const at = byOffset.get(r.offset) ?? new Map<number, string>();
      at.set(log.brokerId, r.value);
      byOffset.set(r.offset, at);
    }
  }
  for (const [offset, values] of byOffset) {
    if (new Set(values.values()).size > 1) anomalies.push(`offset ${offset} differs between replicas: ${JSON.stringify(Object.fromEntries(values))}`);
  }
  const indexed = logs.map((l) => new Map(l.records.map((r) => [r.offset, r.value])));
  for (const [value, offset] of acked) {
    const holders = indexed.filter((m) => m.get(offset) === value).length;
    if (holders < quorum) anomalies.push(`acknowledged ${value}@${offset} is on ${holders} replica(s), fewer than ${quorum}`);
  }
  return anomalies;
}
