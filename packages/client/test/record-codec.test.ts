import { describe, expect, it } from 'vitest';
import { rawBatchesSerializer } from '@runnel/protocol';
import { decodeSubscribeResponse, encodeProducerRecord, firstWantedIndex, isControlBatch, toConsumedRecord } from '../src/record-codec.js';
import { encodeBatch } from './fake-cluster.js';

describe('record codec', () => {
  it('encodes producer records: strings as UTF-8, empty value allowed, empty key = no key', () => {
    const e = encodeProducerRecord({ key: 'k', value: 'héllo', headers: { h: 'v' }, timestampMs: 5 });
    expect(e.key?.toString()).toBe('k');
    expect(e.record.value).toEqual(Buffer.from('héllo'));
    expect(e.payloadBytes).toBe(1 + 6 + 1 + 1);
    expect(e.sizeBytes).toBeGreaterThan(e.payloadBytes);
    const empty = encodeProducerRecord({ value: '' });
    expect(empty.record.value).toEqual(Buffer.alloc(0));
    expect(encodeProducerRecord({ key: '', value: 'x' }).key).toBeUndefined();
    expect(() => encodeProducerRecord({} as never)).toThrow(/value/);
    expect(() => encodeProducerRecord({ value: 'x', timestampMs: -1 })).toThrow();
  });

  it('decodes a SubscribeResponse written from stored batch bytes, keeping each batch size', () => {
    const b1 = encodeBatch(10, [{ value: Buffer.from('a') }, { value: Buffer.from('b'), key: Buffer.from('k') }]);
    const b2 = encodeBatch(12, [{ value: Buffer.alloc(0) }], { control: true });
    const wire = rawBatchesSerializer('SubscribeResponse')({ batches: [b1, b2], highWatermark: 13, startOffset: 11 });
    const res = decodeSubscribeResponse(wire);
    expect(res.highWatermark).toBe(13);
    expect(res.startOffset).toBe(11);
    expect(res.batches.map((b) => [b.baseOffset, b.recordCount, b.sizeBytes])).toEqual([[10, 2, b1.length], [12, 1, b2.length]]);
    expect(isControlBatch(res.batches[1]!)).toBe(true);
    const r = toConsumedRecord('t', 0, res.batches[0]!, 1);
    expect(r).toMatchObject({ topic: 't', partition: 0, offset: 11, value: Buffer.from('b'), key: Buffer.from('k'), leaderEpoch: 1 });
    expect(toConsumedRecord('t', 0, res.batches[0]!, 0).key).toBeUndefined();
  });

  it('decodes negative int64 fields', () => {
    const wire = rawBatchesSerializer('SubscribeResponse')({ batches: [], highWatermark: -1, startOffset: 2 ** 40 });
    const res = decodeSubscribeResponse(wire);
    expect(res.highWatermark).toBe(-1);
    expect(res.startOffset).toBe(2 ** 40);
  });

  it('skips records below the wanted offset and whole control batches', () => {
    const batch = decodeSubscribeResponse(rawBatchesSerializer('SubscribeResponse')({
      batches: [encodeBatch(100, Array.from({ length: 5 }, (_, i) => ({ value: Buffer.from(String(i)) })))], highWatermark: 105, startOffset: 0,
    })).batches[0]!;
    expect(firstWantedIndex(batch, 90)).toBe(0);
    expect(firstWantedIndex(batch, 100)).toBe(0);
    expect(firstWantedIndex(batch, 103)).toBe(3);
    expect(toConsumedRecord('t', 0, batch, 3).offset).toBe(103);
    expect(firstWantedIndex(batch, 200)).toBe(5);
    const control = { ...batch, attributes: 1 };
    expect(firstWantedIndex(control, 100)).toBe(5);
  });
});
