// Simple clients: a client that knows nothing of partition leaders sends Produce, ProduceStream,
// Fetch and Subscribe to any broker, and the broker forwards to the leader (one hop). A client that
// asks for no forwarding (runnel-forward: false, as the TypeScript client does) gets NOT_LEADER with
// the leader's address instead.
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerClient, ProduceStreamResponse__Output, SubscribeResponse__Output } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker, rawCoordinator, unary } from './grpc-raw.js';

describe('forwarding to the partition leader', () => {
  let cluster: Cluster;
  let simple: BrokerClient;
  let smart: BrokerClient;
  let leaderId = -1;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3 });
    const admin = rawCoordinator(cluster.bootstrap);
    const topic = await unary<object, { partitions: Array<{ leader: number }> }>(admin, 'CreateTopic', { name: 'fw', partitions: 1, replicationFactor: 3 });
    admin.close();
    leaderId = topic.partitions[0]!.leader;
    const other = cluster.brokers.find((b) => b.id !== leaderId)!;
    simple = rawBroker(other.address, { forward: true });
    smart = rawBroker(other.address);
    // Every broker learns of the topic and its leader through the metadata push.
    await waitFor(() => unary(simple, 'Produce', { topic: 'fw', partition: 0, records: [{ value: Buffer.from('v0') }] }), { timeoutMs: 15_000, description: 'a forwarded produce' });
  });

  afterAll(async () => {
    simple?.close();
    smart?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('forwards a unary Produce to the leader and answers with its offset', async () => {
    const res = await unary<object, { baseOffset: number; partition: number }>(simple, 'Produce', { topic: 'fw', partition: 0, records: [{ value: Buffer.from('v1') }] });
    expect(res.partition).toBe(0);
    expect(res.baseOffset).toBe(1);
  });

  it('answers NOT_LEADER naming the leader when the client asks for no forwarding', async () => {
    const f = await failure(smart, 'Produce', { topic: 'fw', partition: 0, records: [{ value: Buffer.from('never') }] });
    expect([f.errorCode, f.leaderId]).toEqual(['NOT_LEADER', String(leaderId)]);
  });

  it('forwards each request of a ProduceStream', async () => {
    const call: grpc.ClientDuplexStream<object, ProduceStreamResponse__Output> = simple.ProduceStream();
    const answers: ProduceStreamResponse__Output[] = [];
    call.on('data', (m: ProduceStreamResponse__Output) => answers.push(m));
    for (let i = 0; i < 5; i++) call.write({ correlationId: i, request: { topic: 'fw', partition: 0, records: [{ value: Buffer.from(`s${i}`) }] } });
    await waitFor(() => answers.length === 5, { timeoutMs: 10_000, description: '5 answers' });
    call.end();
    expect(answers.every((a) => a.ok !== null && a.ok !== undefined)).toBe(true);
    expect(new Set(answers.map((a) => Number(a.ok!.baseOffset))).size).toBe(5);
  });

  it('forwards Fetch and relays the leader\'s batches untouched', async () => {
    const res = await unary<object, { batches: Array<{ records: { records: Array<{ value: Buffer }> } }>; highWatermark: number }>(simple, 'Fetch', { topic: 'fw', partition: 0, offset: 0 });
    expect(res.highWatermark).toBe(7);
    const values = res.batches.flatMap((b) => b.records.records.map((r) => r.value.toString()));
    expect(values.slice(0, 2)).toEqual(['v0', 'v1']);
    const f = await failure(smart, 'Fetch', { topic: 'fw', partition: 0, offset: 0 });
    expect(f.errorCode).toBe('NOT_LEADER');
  });

  it('relays a Subscribe stream from the leader, new records included', async () => {
    const call: grpc.ClientDuplexStream<object, SubscribeResponse__Output> = simple.Subscribe();
    const values: string[] = [];
    call.on('data', (m: SubscribeResponse__Output) => {
      for (const b of m.batches) for (const r of b.records?.records ?? []) values.push(r.value.toString());
    });
    call.on('error', () => undefined);
    call.write({ start: { topic: 'fw', partition: 0, position: { earliest: true }, credit: { bytes: 1_000_000, records: 1_000 } } });
    await waitFor(() => values.length >= 7, { timeoutMs: 10_000, description: 'the existing records' });
    await unary(simple, 'Produce', { topic: 'fw', partition: 0, records: [{ value: Buffer.from('late') }] });
    await waitFor(() => values.includes('late'), { timeoutMs: 10_000, description: 'a record produced after subscribing' });
    call.cancel();
    expect(values.slice(0, 2)).toEqual(['v0', 'v1']);
  });

  it('never forwards twice: a forwarded request reaching a non-leader gets NOT_LEADER', async () => {
    const grpcJs = await import('@grpc/grpc-js');
    const md = new grpcJs.Metadata();
    md.set('runnel-forwarded', '1');
    const err = await new Promise<grpc.ServiceError>((resolve, reject) => {
      simple.Produce({ topic: 'fw', partition: 0, records: [{ value: Buffer.from('x') }] }, md, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null) => (e ? resolve(e) : reject(new Error('succeeded'))));
    });
    expect(String(err.metadata.get('runnel-error-code')[0])).toBe('NOT_LEADER');
  });
});
