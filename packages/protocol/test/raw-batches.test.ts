import { describe, expect, it } from 'vitest';
import { messageType, rawBatchesSerializer, runnelGrpc } from '@runnel/protocol';

describe('raw batches on the wire', () => {
  const Batch = messageType('Batch');
  const encoded = (base: number, values: string[]): Uint8Array =>
    Batch.encode(Batch.fromObject({ baseOffset: base, recordCount: values.length, leaderEpoch: 4, records: { records: values.map((v) => ({ value: Buffer.from(v) })) } })).finish();

  it('stored Batch bytes decode as normal SubscribeResponse / FetchResponse batches', () => {
    for (const name of ['SubscribeResponse', 'FetchResponse'] as const) {
      const bytes = rawBatchesSerializer(name)({ batches: [encoded(0, ['a', 'b']), encoded(2, ['c'])], highWatermark: 3 });
      // Decode with the same deserializer a grpc-js client uses.
      const def = runnelGrpc().runnel.v1.Broker.service as unknown as Record<string, { responseDeserialize: (b: Buffer) => unknown }>;
      const method = name === 'SubscribeResponse' ? 'Subscribe' : 'Fetch';
      const msg = def[method]!.responseDeserialize(bytes) as { batches: Array<{ baseOffset: number; leaderEpoch: number; records: { records: Array<{ value: Buffer }> } }>; highWatermark: number };
      expect(msg.highWatermark).toBe(3);
      expect(msg.batches.map((b) => b.baseOffset)).toEqual([0, 2]);
      expect(msg.batches[0]!.leaderEpoch).toBe(4);
      expect(msg.batches.flatMap((b) => b.records.records.map((r) => r.value.toString()))).toEqual(['a', 'b', 'c']);
    }
  });
});
