// Group lag is the number of records a consumer of the group still has to receive. A new leader
// appends an epoch-start control batch that no consumer ever receives, so a group that has read
// everything keeps lag 0 across leader changes (here: broker restarts), and k unread records
// (with markers among them) are lag k.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';

const TOPIC = 'lagged';
const GROUP = 'readers';

describe('group lag across leader changes', () => {
  let cluster: Cluster;
  let client: RunnelClient;

  const hw = async (): Promise<number> => (await client.admin.partitionOffsets(TOPIC))[0]!.highWatermark;
  const lag = async (): Promise<number | undefined> => {
    const g = await client.admin.describeGroup(GROUP);
    const p = g.partitions.find((x) => x.topic === TOPIC && x.partition === 0);
    return p?.lag;
  };
  /** Restarts the only broker: a new leader epoch, so a new epoch-start marker once it leads again. */
  const restart = async (): Promise<void> => {
    const before = await hw();
    await cluster.restart(1);
    await waitFor(async () => (await hw()) > before, { timeoutMs: 30_000, description: 'the new epoch-start marker to be committed' });
  };

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 1 });
    client = new RunnelClient({ bootstrap: cluster.bootstrap });
    await client.admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 1 });
    const producer = client.producer({ acks: 'quorum' });
    for (const v of ['a', 'b', 'c']) await producer.send(TOPIC, { value: v, partition: 0 });
    const consumer = client.consumer({ group: GROUP, topic: TOPIC, from: 'earliest', autoCommit: false });
    try {
      let seen = 0;
      for await (const _r of consumer) {
        seen += 1;
        if (seen === 3) {
          await consumer.commit();
          break;
        }
      }
    } finally {
      await consumer.close();
    }
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('is 0 for a group that has read everything, before and after leader changes', async () => {
    expect(await lag()).toBe(0);
    await restart();
    expect(await lag()).toBe(0);
    await restart();
    expect(await lag()).toBe(0);
  });

  it('counts only the unread data records, not the markers among them', async () => {
    const producer = client.producer({ acks: 'quorum' });
    await producer.send(TOPIC, { value: 'd', partition: 0 });
    await restart();
    await producer.send(TOPIC, { value: 'e', partition: 0 });
    expect(await lag()).toBe(2);
  });
});
