// Two clusters on one machine, each with a topic "same". A client of cluster A whose broker
// address now leads to cluster B's broker (here through the client's addressMap; in life, an
// address reused by another cluster) must not get its writes acknowledged by B: B refuses every
// call carrying A's cluster id with WRONG_CLUSTER, and nothing is written there. (A consumer treats
// WRONG_CLUSTER as retriable, like any lost leader: it resubscribes after a metadata refresh.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient, RunnelError } from '@runnel/client';
import { startCluster } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';

describe('a client that reaches a broker of another cluster', () => {
  let a: Cluster;
  let b: Cluster;
  let clientA: RunnelClient;
  let clientB: RunnelClient;

  beforeAll(async () => {
    [a, b] = await Promise.all([startCluster({ brokers: 1 }), startCluster({ brokers: 1 })]);
    clientA = new RunnelClient({ bootstrap: a.bootstrap });
    clientB = new RunnelClient({ bootstrap: b.bootstrap });
    await clientA.admin.createTopic({ name: 'same', partitions: 1, replicationFactor: 1 });
    await clientB.admin.createTopic({ name: 'same', partitions: 1, replicationFactor: 1 });
    await clientA.producer({ acks: 'quorum' }).send('same', { value: 'in A' });
  });

  afterAll(async () => {
    await clientA?.close();
    await clientB?.close();
    await Promise.all([a?.stopAll({ removeData: true }), b?.stopAll({ removeData: true })]);
  });

  it('has its produce refused with WRONG_CLUSTER (retried, then reported); the other cluster stores nothing', async () => {
    const misdirected = new RunnelClient({
      bootstrap: a.bootstrap,
      addressMap: { [a.node(1).address]: b.node(1).address },
      retry: { retriesMax: 2, initialBackoffMs: 10, backoffMsMax: 50 },
    });
    try {
      const produced = await misdirected.producer({ acks: 'quorum' }).send('same', { value: 'meant for A' }).then(() => undefined, (e: unknown) => e);
      expect(produced).toBeInstanceOf(RunnelError);
      expect((produced as RunnelError).code).toBe('WRONG_CLUSTER');
    } finally {
      await misdirected.close();
    }
    const inB = await clientB.admin.partitionOffsets('same');
    expect(inB.map((p) => p.logEndOffset)).toEqual([0]);
    const inA = await clientA.admin.partitionOffsets('same');
    expect(inA.map((p) => p.logEndOffset)).toEqual([1]);
  });
});
