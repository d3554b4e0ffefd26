import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunnelError } from '@runnel/protocol';
import { RetriesExhaustedError, RunnelClient } from '../src/index.js';
import { FakeCluster, waitFor } from './fake-cluster.js';

let cluster: FakeCluster;
let client: RunnelClient;

beforeEach(async () => {
  cluster = await FakeCluster.start(2);
  client = new RunnelClient({ bootstrap: cluster.bootstrap, requestTimeoutMs: 5_000, retry: { retriesMax: 3, initialBackoffMs: 5, backoffMsMax: 20 } });
});

afterEach(async () => {
  await client.close();
  cluster.stop();
});

describe('producer against a stub cluster', () => {
  it('sends to the partition leader and resolves every record offset in order', async () => {
    cluster.addTopic('events', 2, [1, 2]);
    const producer = client.producer({ lingerMs: 1 });
    const res = await producer.send('events', [
      { value: 'a', partition: 0 },
      { value: 'b', partition: 1 },
      { value: 'c', partition: 0 },
    ]);
    expect(res).toEqual([
      { topic: 'events', partition: 0, offset: 0 },
      { topic: 'events', partition: 1, offset: 0 },
      { topic: 'events', partition: 0, offset: 1 },
    ]);
    expect(cluster.values('events', 0)).toEqual(['a', 'c']);
    expect(cluster.values('events', 1)).toEqual(['b']);
    // Keyed records land on partitionForKey(key, 2) and keep their order.
    const keyed = await producer.send('events', Array.from({ length: 10 }, (_, i) => ({ key: 'user-7', value: `k${i}` })));
    expect(new Set(keyed.map((r) => r.partition)).size).toBe(1);
    expect(keyed.map((r) => r.offset)).toEqual([...keyed.keys()].map((i) => keyed[0]!.offset + i));
    // acks none: the broker answers with -1.
    const none = client.producer({ acks: 'none' });
    expect(await none.send('events', { value: 'z', partition: 1 })).toEqual([{ topic: 'events', partition: 1, offset: -1 }]);
  });

  it('follows a NOT_LEADER answer to the leader it names, even while metadata is stale', async () => {
    cluster.addTopic('moved', 1, [1]);
    const b2 = cluster.broker(2);
    // Broker 1 says broker 2 leads now; the coordinator still says broker 1 (stale).
    cluster.broker(1).notLeader = { id: 2, address: b2.address };
    const real = cluster.metadata;
    // Broker 2 accepts although the metadata names broker 1 (it has heard of the change first).
    (b2 as unknown as { check: () => RunnelError | undefined }).check = () => undefined;
    const res = await client.producer().send('moved', { value: 'x' });
    expect(res).toEqual([{ topic: 'moved', partition: 0, offset: 0 }]);
    expect(cluster.broker(1).produceRequests).toBe(1);
    expect(b2.produceRequests).toBe(1);
    expect(cluster.metadata).toBe(real);
  });

  it('follows a LEADERSHIP_LOST answer (appended, then the leadership moved) to the leader it names, like NOT_LEADER', async () => {
    cluster.addTopic('lost', 1, [1]);
    const b2 = cluster.broker(2);
    cluster.broker(1).produceError = () => new RunnelError('LEADERSHIP_LOST', 'appended, then the leadership moved; may still commit', { leaderId: 2, leaderAddress: b2.address });
    (b2 as unknown as { check: () => RunnelError | undefined }).check = () => undefined;
    const res = await client.producer().send('lost', { value: 'x' });
    expect(res).toEqual([{ topic: 'lost', partition: 0, offset: 0 }]);
    expect(cluster.broker(1).produceRequests).toBe(1);
    expect(b2.produceRequests).toBe(1);
  });

  it('gives up with RetriesExhaustedError after retriesMax retries, keeping the last code', async () => {
    cluster.addTopic('stuck', 1, [1]);
    cluster.broker(1).notLeader = { id: -1, address: '' };
    const err = await client.producer().send('stuck', { value: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect(err).toBeInstanceOf(RunnelError);
    expect((err as RetriesExhaustedError).code).toBe('NOT_LEADER');
    expect((err as RetriesExhaustedError).attempts).toBe(4);
    expect(cluster.broker(1).produceRequests).toBe(4);
    expect(cluster.describeClusterCalls).toBeGreaterThanOrEqual(2); // refreshed metadata between attempts
  });

  it('fails at once on non-retriable errors: unknown topic, too large, broker rejection', async () => {
    cluster.addTopic('small', 1, [1], { maxMessageBytes: 10 });
    await expect(client.producer().send('nope', { value: 'x' })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    await expect(client.producer().send('small', { value: 'x'.repeat(11) })).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE' });
    await expect(client.producer().send('small', { value: 'x', partition: 3 })).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
    cluster.broker(1).produceError = () => new RunnelError('STORAGE_ERROR', 'disk on fire');
    await expect(client.producer().send('small', { value: 'x' })).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
    expect(cluster.broker(1).produceRequests).toBe(1);
  });

  it('pipelines requests on one stream, within max_in_flight, matching answers by correlation id', async () => {
    cluster.addTopic('pipe', 8, [1, 1, 1, 1, 1, 1, 1, 1]);
    const b1 = cluster.broker(1);
    b1.holdProduce = true;
    const producer = client.producer({ lingerMs: 0, inFlightRequestsMax: 5 });
    const sends = Array.from({ length: 8 }, (_, p) => producer.send('pipe', { value: `v${p}`, partition: p }));
    await waitFor(() => b1.held.length === 5, 5_000, '5 requests in flight');
    expect(new Set(b1.held.map((h) => h.correlationId)).size).toBe(5);
    b1.releaseHeld('reverse'); // answers out of order
    await waitFor(() => b1.held.length === 3, 5_000, 'the other 3 requests');
    b1.releaseHeld('reverse');
    const results = await Promise.all(sends);
    expect(results.map((r) => r[0])).toEqual(Array.from({ length: 8 }, (_, p) => ({ topic: 'pipe', partition: p, offset: 0 })));
    expect(b1.outstandingMax).toBe(5);
    for (let p = 0; p < 8; p++) expect(cluster.values('pipe', p)).toEqual([`v${p}`]);

    // The broker's max_in_flight (2, carried on every answer) caps the window further.
    b1.maxInFlight = 2;
    b1.holdProduce = false;
    await producer.send('pipe', { value: 'learn', partition: 0 });
    b1.holdProduce = true;
    b1.outstandingMax = 0;
    const more = Array.from({ length: 6 }, (_, p) => producer.send('pipe', { value: 'y', partition: p }));
    let answered = 0;
    while (answered < 6) {
      await waitFor(() => b1.held.length > 0, 5_000, 'a held request');
      expect(b1.held.length).toBeLessThanOrEqual(2);
      answered += b1.held.length;
      b1.releaseHeld();
    }
    await Promise.all(more);
    expect(b1.outstandingMax).toBe(2);
  });

  it('retries a batch whose stream broke on the new leader, and flush waits for acks', async () => {
    cluster.addTopic('failover', 1, [1]);
    const producer = client.producer({ lingerMs: 50 });
    const p = producer.send('failover', [{ value: '1' }, { value: '2' }]);
    // Leader moves before the batch is sent; broker 1 now refuses without a hint.
    cluster.setLeader('failover', 0, 2);
    cluster.broker(1).notLeader = { id: -1, address: '' };
    await producer.flush();
    expect(await p).toEqual([{ topic: 'failover', partition: 0, offset: 0 }, { topic: 'failover', partition: 0, offset: 1 }]);
    expect(cluster.values('failover', 0)).toEqual(['1', '2']);
  });

  it('applies backpressure: send waits while bufferBytesMax is full', async () => {
    cluster.addTopic('bp', 1, [1]);
    const b1 = cluster.broker(1);
    b1.holdProduce = true;
    const producer = client.producer({ lingerMs: 0, batchBytesMax: 200, bufferBytesMax: 400 });
    let secondDone = false;
    const first = producer.send('bp', { value: Buffer.alloc(300) });
    const second = producer.send('bp', { value: Buffer.alloc(300) }).then((r) => {
      secondDone = true;
      return r;
    });
    await waitFor(() => b1.held.length === 1, 5_000, 'first request');
    expect(b1.produceRequests).toBe(1); // the second record is not even accepted yet
    b1.releaseHeld();
    await first;
    await waitFor(() => b1.held.length === 1, 5_000, 'second request');
    expect(secondDone).toBe(false);
    b1.releaseHeld();
    expect((await second)[0]?.offset).toBe(1);
  });

  it('rejects sends after close', async () => {
    cluster.addTopic('c', 1, [1]);
    const producer = client.producer();
    await producer.send('c', { value: 'x' });
    await producer.close();
    await expect(producer.send('c', { value: 'y' })).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
