import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotLeaderError, RunnelError } from '@runnel/protocol';
import { RunnelClient, type ConsumedRecord, type Consumer } from '../src/index.js';
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

function fill(topic: string, partition: number, batches: number, perBatch: number, valueBytes = 1): void {
  for (let b = 0; b < batches; b++) {
    const base = cluster.endOffset(topic, partition);
    cluster.append(topic, partition, Array.from({ length: perBatch }, (_, i) => ({ value: Buffer.from(String(base + i).padStart(valueBytes, '0')) })));
  }
}

async function take(consumer: Consumer, n: number): Promise<ConsumedRecord[]> {
  const out: ConsumedRecord[] = [];
  const it = consumer[Symbol.asyncIterator]();
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('consumer against a stub cluster', () => {
  it('reads every partition in offset order, skipping control batches and records before the start', async () => {
    cluster.addTopic('t', 2, [1, 2]);
    fill('t', 0, 3, 4); // offsets 0..11
    cluster.append('t', 0, [{ value: Buffer.from('ctl') }], { control: true }); // offset 12
    fill('t', 0, 1, 2); // 13..14
    fill('t', 1, 2, 3); // 0..5
    const consumer = client.consumer({ topic: 't', from: { offset: 2 }, partitions: [0] });
    const got = await take(consumer, 11);
    expect(got.map((r) => r.offset)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]);
    expect(got.every((r) => r.value.toString() !== 'ctl')).toBe(true);
    expect(got[0]).toMatchObject({ topic: 't', partition: 0, key: undefined, leaderEpoch: 1 });
    expect(consumer.positions().get(0)).toBe(14);
    await consumer.close();

    const all = client.consumer({ topic: 't', from: 'earliest' });
    const records = await take(all, 14 + 6);
    const byPartition = new Map<number, number[]>();
    for (const r of records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.offset]);
    expect(byPartition.get(0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14]);
    expect(byPartition.get(1)).toEqual([0, 1, 2, 3, 4, 5]);
    await all.close();
  });

  it('from latest delivers only new records, pushed as they arrive; close ends the iteration', async () => {
    cluster.addTopic('live', 1, [1]);
    fill('live', 0, 1, 5);
    const consumer = client.consumer({ topic: 'live' });
    await waitFor(() => consumer.positions().get(0) === 5, 5_000, 'start resolved');
    const reading = take(consumer, 3);
    fill('live', 0, 1, 3);
    expect((await reading).map((r) => r.offset)).toEqual([5, 6, 7]);
    const it = consumer[Symbol.asyncIterator]; // iterating twice is refused
    expect(() => it.call(consumer)).toThrow();
    await consumer.close();
  });

  it('never has more than the credit window granted or buffered (the broker counts)', async () => {
    cluster.addTopic('credit', 1, [1]);
    fill('credit', 0, 200, 5, 40); // 200 batches of 5 records, ~250 bytes each
    const batchBytes = cluster.log('credit', 0).map((b) => b.encoded.length);
    const maxBatch = Math.max(...batchBytes);
    const creditBytes = 2_000;
    let consumedBytes = 0; // bytes of batches fully handed to us
    let nextOffset = 0;
    const violations: string[] = [];
    cluster.onCredit = (s) => {
      // The client may only grant back what it consumed: granted <= window + consumed.
      if (s.grantedBytes > creditBytes + consumedBytes) violations.push(`granted ${s.grantedBytes} > ${creditBytes} + ${consumedBytes}`);
      if (s.grantedRecords > 20 + nextOffset) violations.push(`granted ${s.grantedRecords} records at offset ${nextOffset}`);
    };
    const consumer = client.consumer({ topic: 'credit', from: 'earliest', creditBytes, creditRecords: 20 });
    const it = consumer[Symbol.asyncIterator]();
    for (let n = 0; n < 1000; n++) {
      const r = await it.next();
      if (r.done) throw new Error('ended early');
      expect(r.value.offset).toBe(n);
      nextOffset = n + 1;
      if (nextOffset % 5 === 0) consumedBytes += batchBytes[nextOffset / 5 - 1] ?? 0;
      if (n === 100) {
        // Paused: let the broker push all it may, then check what it pushed.
        const s = cluster.subscriptions[0]!;
        await waitFor(() => s.pushedBytes >= s.grantedBytes || s.pushedRecords >= s.grantedRecords, 5_000, 'broker out of credit');
        expect(s.pushedBytes - consumedBytes).toBeLessThanOrEqual(creditBytes + maxBatch);
        expect(s.grantedBytes - consumedBytes).toBeLessThanOrEqual(creditBytes);
      }
    }
    const s = cluster.subscriptions[0]!;
    expect(cluster.subscriptions).toHaveLength(1);
    expect(violations).toEqual([]);
    expect(s.grantedBytes).toBeGreaterThan(creditBytes); // credit was given back as we consumed
    expect(s.pushedRecords).toBe(1000);
    await consumer.close();
  });

  it('resubscribes after a stream error from the next offset, without gaps or duplicates', async () => {
    cluster.addTopic('flaky', 1, [1]);
    fill('flaky', 0, 10, 10); // 0..99
    const b1 = cluster.broker(1);
    b1.subscribeFailAfterBatches = 3; // every stream breaks after 3 batches
    const consumer = client.consumer({ topic: 'flaky', from: { offset: 5 } });
    const got = await take(consumer, 95);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 95 }, (_, i) => i + 5));
    const starts = cluster.subscriptions.map((s) => s.start?.position?.offset);
    expect(starts).toEqual([5, 30, 60, 90]);
    await consumer.close();
  });

  it('follows NOT_LEADER trailers to the named leader and resumes there', async () => {
    cluster.addTopic('moving', 1, [1]);
    fill('moving', 0, 4, 5); // 0..19
    const b1 = cluster.broker(1);
    const b2 = cluster.broker(2);
    b1.subscribeFailAfterBatches = 2;
    b1.subscribeFailWith = () => {
      b1.notLeader = { id: 2, address: b2.address };
      return new NotLeaderError('moving', 0, 2, b2.address);
    };
    // Broker 2 serves although the (stale) metadata still names broker 1.
    (b2 as unknown as { check: () => RunnelError | undefined }).check = () => undefined;
    const consumer = client.consumer({ topic: 'moving', from: 'earliest' });
    const got = await take(consumer, 20);
    expect(got.map((r) => r.offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(cluster.subscriptions.map((s) => [s.brokerId, s.start?.position?.at === 'offset' ? s.start.position.offset : s.start?.position?.at])).toEqual([
      [1, 'earliest'],
      [2, 10],
    ]);
    await consumer.close();
  });

  it('throws OFFSET_OUT_OF_RANGE and UNKNOWN_TOPIC from the iterator', async () => {
    cluster.addTopic('short', 1, [1]);
    fill('short', 0, 1, 3);
    const c1 = client.consumer({ topic: 'short', from: { offset: 50 } });
    await expect(take(c1, 1)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    const c2 = client.consumer({ topic: 'missing', from: 'earliest' });
    await expect(take(c2, 1)).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    const c3 = client.consumer({ topic: 'short', partitions: [4] });
    await expect(take(c3, 1)).rejects.toMatchObject({ code: 'UNKNOWN_PARTITION' });
  });

  it('ends iteration when the client closes', async () => {
    cluster.addTopic('idle', 1, [1]);
    const consumer = client.consumer({ topic: 'idle', from: 'earliest' });
    const reading = take(consumer, 1);
    await waitFor(() => cluster.subscriptions.length === 1, 5_000, 'subscribed');
    await client.close();
    expect(await reading).toEqual([]);
  });
});
