import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunnelClient, RunnelError } from '../src/index.js';
import { FakeCluster, waitFor } from './fake-cluster.js';

let cluster: FakeCluster;
let client: RunnelClient;

beforeEach(async () => {
  cluster = await FakeCluster.start(2);
  client = new RunnelClient({ bootstrap: cluster.bootstrap, requestTimeoutMs: 5_000, retry: { retriesMax: 2, initialBackoffMs: 5, backoffMsMax: 20 } });
});

afterEach(async () => {
  await client.close();
  cluster.stop();
});

describe('admin and metadata against a stub cluster', () => {
  it('creates, lists, describes and deletes topics', async () => {
    const info = await client.admin.createTopic({ name: 'orders', partitions: 3 });
    expect(info.name).toBe('orders');
    expect(info.partitions).toHaveLength(3);
    await expect(client.admin.createTopic({ name: 'orders', partitions: 3 })).rejects.toMatchObject({ code: 'TOPIC_ALREADY_EXISTS' });
    expect((await client.admin.listTopics()).map((t) => t.name)).toEqual(['orders']);
    expect((await client.admin.describeTopic('orders')).partitions.map((p) => p.leader)).toEqual([1, 2, 1]);
    await expect(client.admin.describeTopic('nope')).rejects.toBeInstanceOf(RunnelError);
    await client.admin.deleteTopic('orders');
    expect(await client.admin.listTopics()).toEqual([]);
    expect((await client.admin.describeCluster()).brokers.map((b) => b.id)).toEqual([1, 2]);
  });

  it('joins assignments with leader offsets; offline partitions report -1', async () => {
    cluster.addTopic('o', 3, [1, 2, -1]);
    cluster.append('o', 0, [{ value: Buffer.from('a') }, { value: Buffer.from('b') }]);
    const rows = await client.admin.partitionOffsets('o');
    expect(rows).toEqual([
      { partition: 0, leader: 1, replicas: [1], leaderEpoch: 1, state: 'PARTITION_STATE_ONLINE', logStartOffset: 0, highWatermark: 2, logEndOffset: 2 },
      { partition: 1, leader: 2, replicas: [2], leaderEpoch: 1, state: 'PARTITION_STATE_ONLINE', logStartOffset: 0, highWatermark: 0, logEndOffset: 0 },
      { partition: 2, leader: -1, replicas: [-1], leaderEpoch: 1, state: 'PARTITION_STATE_OFFLINE', logStartOffset: -1, highWatermark: -1, logEndOffset: -1 },
    ]);
  });

  it('offsetForTimestamp follows NOT_LEADER trailers to the hinted leader', async () => {
    cluster.addTopic('ts', 1, [1]);
    for (let i = 0; i < 10; i++) cluster.append('ts', 0, [{ value: Buffer.from(String(i)) }]);
    const b2 = cluster.broker(2);
    cluster.broker(1).notLeader = { id: 2, address: b2.address };
    (b2 as unknown as { check: () => undefined }).check = () => undefined;
    expect(await client.admin.offsetForTimestamp('ts', 0, 123)).toBe(7);
    expect(cluster.broker(1).listOffsetsCalls).toBe(1);
    expect(b2.listOffsetsCalls).toBe(1);
  });

  it('caches metadata, keeps it fresh through WatchMetadata, and refreshes on demand', async () => {
    const first = await client.metadata();
    expect(first.topics).toEqual([]);
    expect(cluster.describeClusterCalls).toBe(1);
    cluster.addTopic('late', 1, [2]);
    await waitFor(() => cluster.metadata.version === 2, 1_000);
    // The watch delivers the change without another DescribeCluster.
    let md = await client.metadata();
    for (const deadline = Date.now() + 5_000; md.topics.length === 0 && Date.now() < deadline; md = await client.metadata()) {
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(md.topics.map((t) => t.name)).toEqual(['late']);
    expect(cluster.describeClusterCalls).toBe(1);
    const forced = await client.refreshMetadata();
    expect(forced.version).toBe(cluster.metadata.version);
    expect(cluster.describeClusterCalls).toBe(2);
  });

  it('falls back to a broker for metadata while the coordinator is down', async () => {
    cluster.addTopic('fb', 1, [1]);
    await client.metadata();
    cluster.coordinatorDown = true;
    const md = await client.refreshMetadata();
    expect(md.topics.map((t) => t.name)).toEqual(['fb']);
  });

  it('reports an unreachable coordinator after bounded retries', async () => {
    const lonely = new RunnelClient({ bootstrap: '127.0.0.1:1', requestTimeoutMs: 1_000, retry: { retriesMax: 1, initialBackoffMs: 1, backoffMsMax: 5 } });
    await expect(lonely.metadata()).rejects.toMatchObject({ code: 'COORDINATOR_UNAVAILABLE', attempts: 2 });
    await lonely.close();
  });
});
