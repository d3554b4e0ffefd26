// A real cluster (coordinator + 3 brokers as processes on 127.0.0.1): topics, produce and consume
// in order, the data still there after the whole cluster restarts, and NOT_LEADER hints.
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import type { ConsumedRecord } from '@runnel/client';
import { startCluster } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker } from './grpc-raw.js';
import { readAll } from './support/read-all.js';

const RECORDS = 6000;
const PARTITIONS = 3;


describe('produce and consume on a real cluster', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runnel-e2e-'));
  let cluster: Cluster;
  let client: RunnelClient;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3, dataDir, sessionTimeoutMs: 1500 });
    client = new RunnelClient({ bootstrap: cluster.bootstrap });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: true });
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('spreads partition leaders over the brokers', async () => {
    const topic = await client.admin.createTopic({ name: 'spread', partitions: 6, replicationFactor: 1 });
    const leaders = topic.partitions.map((p) => p.leader);
    for (const b of cluster.brokers) expect(leaders.filter((l) => l === b.id)).toHaveLength(2);
  });

  it('delivers every record once, in order per partition, at the acknowledged offsets — also after a full restart', async () => {
    await client.admin.createTopic({ name: 'orders', partitions: PARTITIONS, replicationFactor: 1 });
    const producer = client.producer({ acks: 'quorum' });
    const sent = Array.from({ length: RECORDS }, (_, i) => ({ key: `k${i % 50}`, value: `v${i}` }));
    const acks = (await Promise.all(sent.map((r) => producer.send('orders', r)))).map((m) => m[0]!);
    await producer.flush();

    // Offsets per partition are unique, and follow send order for each key.
    const byPartition = new Map<number, number[]>();
    for (const a of acks) byPartition.set(a.partition, [...(byPartition.get(a.partition) ?? []), a.offset]);
    for (const offsets of byPartition.values()) expect(new Set(offsets).size).toBe(offsets.length);
    const lastByKey = new Map<string, number>();
    sent.forEach((s, i) => {
      expect(acks[i]!.offset, `${s.value} after earlier records of ${s.key}`).toBeGreaterThan(lastByKey.get(s.key) ?? -1);
      lastByKey.set(s.key, acks[i]!.offset);
    });

    const check = (records: ConsumedRecord[]): void => {
      expect(records).toHaveLength(RECORDS);
      const seen = new Map<string, { partition: number; offset: number }>();
      for (const r of records) seen.set(r.value.toString(), { partition: r.partition, offset: r.offset });
      sent.forEach((s, i) => expect(seen.get(s.value), s.value).toEqual({ partition: acks[i]!.partition, offset: acks[i]!.offset }));
      // In offset order per partition; offsets between records are control records (never delivered).
      const last = new Map<number, number>();
      for (const r of records) {
        expect(r.offset).toBeGreaterThan(last.get(r.partition) ?? -1);
        last.set(r.partition, r.offset);
      }
    };
    check(await readAll(client, 'orders', RECORDS));

    // Whole cluster down and up again on the same data: same records at the same offsets.
    await client.close();
    await cluster.stopAll({ removeData: false });
    cluster = await startCluster({ brokers: 3, dataDir, sessionTimeoutMs: 1500 });
    client = new RunnelClient({ bootstrap: cluster.bootstrap });
    const topics = await client.admin.listTopics();
    expect(topics.map((t) => t.name).sort()).toEqual(['orders', 'spread']);
    check(await readAll(client, 'orders', RECORDS));
    const offsets = await client.admin.partitionOffsets('orders');
    expect(offsets.reduce((n, p) => n + p.highWatermark, 0)).toBeGreaterThanOrEqual(RECORDS);
  });

  it('answers a request to the wrong broker with NOT_LEADER naming the leader', async () => {
    const topic = await client.admin.describeTopic('orders');
    const p = topic.partitions[0]!;
    const other = cluster.brokers.find((b) => b.id !== p.leader)!;
    const leader = cluster.brokers.find((b) => b.id === p.leader)!;
    const broker = rawBroker(other.address);
    try {
      const f = await failure(broker, 'Produce', { topic: 'orders', partition: 0, records: [{ value: Buffer.from('x') }] });
      expect(f.errorCode).toBe('NOT_LEADER');
      expect(f.retriable).toBe('true');
      expect(f.leaderId).toBe(String(leader.id));
      expect(f.leaderAddress).toBe(leader.address);
    } finally {
      broker.close();
    }
  });
});
