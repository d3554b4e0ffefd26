import { messageType } from '@runnel/protocol';
import type { ReplicaBatch } from '@runnel/replication';
import { BATCH_ATTRIBUTE_CONTROL, decodeBatchHeader, verifyBatch } from '@runnel/storage';

/** A stored batch (encoded runnel.v1.Batch) as the replica core sees it: header fields plus the bytes as-is. */
export function toReplicaBatch(stored: Buffer): ReplicaBatch {
  const h = decodeBatchHeader(stored);
  return {
    baseOffset: h.baseOffset,
    recordCount: h.recordCount,
    epoch: h.leaderEpoch,
    sizeBytes: stored.byteLength,
    control: (h.attributes & BATCH_ATTRIBUTE_CONTROL) !== 0,
    payload: stored,
  };
}

/** Batches received from a peer: decoded and CRC-checked; undefined if any is malformed (the message is dropped). */
export function receivedBatches(batches: readonly Buffer[]): ReplicaBatch[] | undefined {
  const out: ReplicaBatch[] = [];
  for (const b of batches) {
    try {
      if (!verifyBatch(b)) return undefined;
      out.push(toReplicaBatch(b));
    } catch {
      return undefined;
    }
  }
  return out;
}

let controlRecordSet: Uint8Array | undefined;

/** The RecordSet of an epoch-start control batch: one record with an empty value (never delivered to consumers). */
export function controlBatchRecordSet(): Uint8Array {
  controlRecordSet ??= messageType('RecordSet').encode({ records: [{ value: Buffer.alloc(0) }] }).finish();
  return controlRecordSet;
}

/** MetaStore key of a partition replica's epoch promise. */
export function promiseKey(topicId: string, partition: number): string {
  return `replica-promise/${topicId}/${partition}`;
}

export function encodePromise(epoch: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(epoch);
  return b;
}

export function decodePromise(value: Buffer | undefined): number {
  if (value === undefined) return 0;
  if (value.byteLength !== 4) throw new Error(`stored epoch promise has ${value.byteLength} bytes, expected 4`);
  return value.readUInt32BE(0);
}
