// Two clusters on one machine, each with a topic "same". A client of cluster A whose broker
// address now leads to cluster B's broker (here through the client's addressMap; in life, an
// address reused by another cluster) must not get its writes acknowledged by B: B refuses every
// call carrying A's cluster id with WRONG_CLUSTER, and nothing is written there. (A consumer treats
// WRONG_CLUSTER as retriable, like any lost leader: it resubscribes after a metadata refresh.)
// The coordinator applies the same rule to the same header: an admin call meant for cluster A that
// reaches B's coordinator changes nothing there.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient, RunnelError } from '@runnel/client';
import { startCluster } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, headers, rawCoordinator, unary } from './grpc-raw.js';

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

  it('has its coordinator calls refused with WRONG_CLUSTER by the other cluster\'s coordinator, which changes nothing', async () => {
    const coordinatorB = rawCoordinator(b.bootstrap);
    try {
      const idOf = async (c: Cluster): Promise<string> => {
        const raw = rawCoordinator(c.bootstrap);
        try {
          return (await unary<object, { clusterId: string }>(raw, 'DescribeCluster', {})).clusterId;
        } finally {
          raw.close();
        }
      };
      const [idA, idB] = await Promise.all([idOf(a), idOf(b)]);
      expect(idA).not.toBe(idB);
      const meantForA = headers({ 'runnel-cluster-id': idA });
      const topicsBefore = await unary<object, { topics: Array<{ name: string }> }>(coordinatorB, 'ListTopics', {});
      for (const [method, request] of [
        ['CreateTopic', { name: 'only-in-a', partitions: 1, replicationFactor: 1 }],
        ['DeleteTopic', { name: 'same' }],
        ['ListTopics', {}],
        ['DescribeTopic', { name: 'same' }],
        ['DescribeCluster', {}],
      ] as const) {
        const f = await failure(coordinatorB, method, request, meantForA);
        expect({ method, code: f.code, errorCode: f.errorCode }).toEqual({ method, code: grpc.status.FAILED_PRECONDITION, errorCode: 'WRONG_CLUSTER' });
        expect(f.details).toContain(idA);
      }
      const topicsAfter = await unary<object, { topics: Array<{ name: string }> }>(coordinatorB, 'ListTopics', {});
      expect(topicsAfter.topics.map((t) => t.name).sort()).toEqual(topicsBefore.topics.map((t) => t.name).sort());
      // Its own id, or none, is served.
      await unary(coordinatorB, 'DescribeTopic', { name: 'same' }, headers({ 'runnel-cluster-id': idB }));
    } finally {
      coordinatorB.close();
    }
  });
});
