import { crc32c } from '@node-rs/crc32';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { decodeBatchHeader, encodeBatch, verifyBatch } from '../src/index.js';

const fields = {
  baseOffset: 2 ** 40 + 7,
  recordCount: 3,
  leaderEpoch: 5,
  maxTimestampMs: 1_700_000_000_123,
  producerId: 99,
  producerSequence: 12,
  attributes: 1,
  recordSet: Buffer.from('not really a record set'),
};

describe('batch codec', () => {
  it('round-trips every header field and locates the RecordSet bytes', () => {
    const buf = encodeBatch(fields);
    const h = decodeBatchHeader(buf);
    expect(h).toMatchObject({
      baseOffset: fields.baseOffset,
      recordCount: 3,
      leaderEpoch: 5,
      maxTimestampMs: fields.maxTimestampMs,
      producerId: 99,
      producerSequence: 12,
      attributes: 1,
      crc32c: crc32c(fields.recordSet),
      sizeBytes: buf.length,
    });
    expect(buf.subarray(h.recordSetStart, h.recordSetEnd)).toEqual(fields.recordSet);
    expect(verifyBatch(buf)).toBe(true);
  });

  it('writes field 15 last so the header precedes the records', () => {
    const buf = encodeBatch(fields);
    const h = decodeBatchHeader(buf);
    expect(h.recordSetEnd).toBe(buf.length);
  });

  it('detects a flipped bit in the records or the crc', () => {
    const buf = encodeBatch(fields);
    const h = decodeBatchHeader(buf);
    const badRecords = Buffer.from(buf);
    badRecords[h.recordSetStart + 2]! ^= 0x10;
    expect(verifyBatch(badRecords)).toBe(false);
    expect(verifyBatch(buf.subarray(0, buf.length - 3))).toBe(false);
    expect(verifyBatch(Buffer.from([0xff, 0xff, 0xff]))).toBe(false);
  });

  it('decodes an encoding that omits default-valued fields and adds unknown ones', () => {
    const recordSet = Buffer.from('abc');
    const w = protobuf.Writer.create();
    w.uint32(15 * 8 + 2).bytes(recordSet); // records first: order must not matter
    w.uint32(2 * 8).int32(1);
    w.uint32(7 * 8).uint32(crc32c(recordSet));
    w.uint32(20 * 8 + 2).string('unknown field'); // skipped
    const buf = Buffer.from(w.finish());
    const h = decodeBatchHeader(buf);
    expect(h).toMatchObject({ baseOffset: 0, recordCount: 1, leaderEpoch: 0, producerId: 0, attributes: 0 });
    expect(verifyBatch(buf)).toBe(true);
  });

  it('handles an empty record set', () => {
    const buf = encodeBatch({ ...fields, recordSet: new Uint8Array(0) });
    expect(verifyBatch(buf)).toBe(true);
    expect(decodeBatchHeader(buf).crc32c).toBe(0);
  });
});
