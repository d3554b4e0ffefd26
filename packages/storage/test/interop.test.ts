import { messageType } from '@runnel/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BATCH_ATTRIBUTE_CONTROL, decodeBatchHeader, verifyBatch, type Store } from '../src/index.js';
import { openStore, P0, tempDir } from './helpers.js';

let cleanup: () => Promise<void>;
let store: Store;

beforeEach(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir);
});

afterEach(async () => {
  await store.close();
  await cleanup();
});

const TO_OBJECT = { longs: Number, bytes: Buffer, defaults: true } as const;

describe('interop with the public proto', () => {
  it('a stored batch decodes as runnel.v1.Batch and its records as RecordSet', async () => {
    const RecordSet = messageType('RecordSet');
    const Batch = messageType('Batch');
    const recordSet = RecordSet.encode(
      RecordSet.fromObject({
        records: [
          { key: Buffer.from('k1'), value: Buffer.from('v1'), headers: { h: Buffer.from('x') }, timestampMs: 1_700_000_000_001 },
          { value: Buffer.from('v2'), timestampMs: 1_700_000_000_002 },
        ],
      }),
    ).finish();
    const log = await store.partition(P0);
    await log.append({ recordSet: Buffer.from('padding'), recordCount: 1, maxTimestampMs: 1, leaderEpoch: 1 });
    const r = await log.append({
      recordSet,
      recordCount: 2,
      maxTimestampMs: 1_700_000_000_002,
      leaderEpoch: 7,
      producerId: 42,
      producerSequence: 3,
      attributes: BATCH_ATTRIBUTE_CONTROL,
    });
    const [stored] = await log.read(r.baseOffset, 1, 100);
    expect(stored).toEqual(r.batch);
    expect(verifyBatch(stored!)).toBe(true);

    const batch = Batch.toObject(Batch.decode(stored!), TO_OBJECT);
    expect(batch).toMatchObject({
      baseOffset: 1,
      recordCount: 2,
      leaderEpoch: 7,
      maxTimestampMs: 1_700_000_000_002,
      producerId: 42,
      producerSequence: 3,
      crc32c: decodeBatchHeader(stored!).crc32c,
      attributes: 1,
    });
    const rs = batch['records'] as { records: Array<Record<string, unknown>> };
    expect(rs.records).toHaveLength(2);
    expect(rs.records[0]).toMatchObject({ key: Buffer.from('k1'), value: Buffer.from('v1'), timestampMs: 1_700_000_000_001 });
    expect((rs.records[0]!['headers'] as Record<string, Buffer>)['h']).toEqual(Buffer.from('x'));
    // The record bytes are stored untouched: re-encoding the RecordSet gives the same bytes.
    const h = decodeBatchHeader(stored!);
    expect(stored!.subarray(h.recordSetStart, h.recordSetEnd)).toEqual(Buffer.from(recordSet));
  });

  it('a batch encoded by protobufjs is accepted by the follower path', async () => {
    const Batch = messageType('Batch');
    const log = await store.partition(P0);
    const { crc32c } = await import('@node-rs/crc32');
    const RecordSet = messageType('RecordSet');
    const recordSetBytes = RecordSet.encode(RecordSet.fromObject({ records: [{ value: Buffer.from('v') }] })).finish();
    const bytes = Batch.encode(
      Batch.fromObject({ baseOffset: 0, recordCount: 1, leaderEpoch: 2, crc32c: crc32c(recordSetBytes), records: RecordSet.decode(recordSetBytes) }),
    ).finish();
    const r = await log.appendBatch(bytes);
    expect(r).toMatchObject({ baseOffset: 0, lastOffset: 0 });
    expect(decodeBatchHeader(r.batch)).toMatchObject({ leaderEpoch: 2, maxTimestampMs: 0, producerId: 0 });
  });
});
