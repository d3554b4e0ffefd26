// The edges of the consuming contract over raw gRPC, as a client written from the .proto sees them:
// timestamps anywhere in the int64 range, credit of one kind only, a credit that grants nothing,
// and ListOffsets without partitions (every partition, never a silent subset).
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerClient, CoordinatorClient, SubscribeRequest, SubscribeResponse__Output } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker, rawCoordinator, toFailure, unary, type CallFailure } from './grpc-raw.js';

const INT64_MAX = '9223372036854775807';

/** Opens a Subscribe, sends `messages`, and collects answers until `done` holds or the call fails. */
function subscribe(client: BrokerClient, messages: SubscribeRequest[], done: (got: SubscribeResponse__Output[]) => boolean): Promise<{ got: SubscribeResponse__Output[]; error?: CallFailure }> {
  return new Promise((resolve) => {
    const call = client.Subscribe({ deadline: Date.now() + 10_000 });
    const got: SubscribeResponse__Output[] = [];
    call.on('data', (m: SubscribeResponse__Output) => {
      got.push(m);
      if (done(got)) {
        call.cancel();
        resolve({ got });
      }
    });
    call.on('error', (e: grpc.ServiceError) => resolve({ got, error: toFailure(e) }));
    for (const m of messages) call.write(m);
  });
}

const records = (got: SubscribeResponse__Output[]): number => got.flatMap((m) => m.batches).reduce((n, b) => n + b.recordCount, 0);

describe('consuming at the edges of the contract', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  const brokers = new Map<number, BrokerClient>();
  let leaders: number[];
  let hw: number;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 2 });
    coordinator = rawCoordinator(cluster.bootstrap);
    for (const b of cluster.brokers) brokers.set(b.id, rawBroker(b.address));
    const topic = await unary<object, { partitions: Array<{ partition: number; leader: number }> }>(coordinator, 'CreateTopic', { name: 'edges', partitions: 2, replicationFactor: 1 });
    leaders = [...topic.partitions].sort((a, b) => a.partition - b.partition).map((p) => p.leader);
    for (let i = 0; i < 3; i++) {
      await waitFor(() => unary(brokers.get(leaders[0]!)!, 'Produce', { topic: 'edges', partition: 0, records: [{ value: Buffer.from(`a${i}`) }, { value: Buffer.from(`b${i}`) }] }), {
        timeoutMs: 15_000, description: 'the leader to accept writes',
      });
    }
    const offsets = await unary<object, { partitions: Array<{ highWatermark: number }> }>(brokers.get(leaders[0]!)!, 'ListOffsets', { topic: 'edges', partitions: [0] });
    hw = offsets.partitions[0]!.highWatermark;
  });

  afterAll(async () => {
    coordinator?.close();
    for (const b of brokers.values()) b.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('Subscribe at timestamp_ms 2^62 or the int64 maximum starts at the log end; a negative one is INVALID_POSITION naming the range', async () => {
    for (const ts of ['4611686018427387904', INT64_MAX]) {
      const r = await subscribe(brokers.get(leaders[0]!)!, [{ start: { topic: 'edges', partition: 0, position: { timestampMs: ts } } }], (got) => got.length >= 1);
      expect(r.error?.details, ts).toBeUndefined();
      expect(r.got[0]!.startOffset, ts).toBe(hw);
    }
    const bad = await subscribe(brokers.get(leaders[0]!)!, [{ start: { topic: 'edges', partition: 0, position: { timestampMs: -1 } } }], () => false);
    expect(bad.error?.errorCode).toBe('INVALID_POSITION');
    expect(bad.error?.details).toContain(`0 to ${INT64_MAX}`);
  });

  it('a credit of records alone delivers that many records; a credit message granting nothing is INVALID_REQUEST', async () => {
    const recordsOnly = await subscribe(brokers.get(leaders[0]!)!, [{ start: { topic: 'edges', partition: 0, position: { earliest: true }, credit: { records: 4 } } }], (got) => records(got) >= 4);
    expect(recordsOnly.error?.details).toBeUndefined();
    expect(records(recordsOnly.got)).toBe(4);
    const nothing = await subscribe(brokers.get(leaders[0]!)!, [
      { start: { topic: 'edges', partition: 0, position: { earliest: true } } },
      { credit: { bytes: 0, records: 0 } },
    ], () => false);
    expect(nothing.error?.errorCode).toBe('INVALID_REQUEST');
    expect(nothing.error?.details).toContain('`bytes`, `records`');
  });

  it('ListOffsets without partitions answers every partition or names the leader of one it cannot answer', async () => {
    for (const [id, client] of brokers) {
      const ledHere = leaders.every((l) => l === id);
      if (ledHere) {
        const r = await unary<object, { partitions: Array<{ partition: number }> }>(client, 'ListOffsets', { topic: 'edges' });
        expect(r.partitions.map((p) => p.partition)).toEqual([0, 1]);
      } else {
        const f = await failure(client, 'ListOffsets', { topic: 'edges' });
        expect(f.errorCode).toBe('NOT_LEADER');
        expect(f.leaderId).toBe(String(leaders.find((l) => l !== id)));
        expect(f.details).toContain('name the partitions');
      }
    }
  });
});
