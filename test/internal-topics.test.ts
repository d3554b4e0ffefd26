// Internal topics ("__" names, such as `__offsets`) are created by brokers only. A plain client that
// sets CreateTopic.internal, with or without made-up broker identity headers, is refused and
// nothing is created; a broker (here: on a consumer group's first FindGroupCoordinator) still
// creates `__offsets`.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerClient, CoordinatorClient } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, headers, rawBroker, rawCoordinator, unary } from './grpc-raw.js';

describe('internal topics', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  let broker: BrokerClient;

  const topicNames = async (): Promise<string[]> =>
    (await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {})).topics.map((t) => t.name).sort();

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 1 });
    coordinator = rawCoordinator(cluster.bootstrap);
    broker = rawBroker(cluster.node(1).address);
  });

  afterAll(async () => {
    coordinator?.close();
    broker?.close();
    await cluster?.stopAll({ removeData: true });
  });

  // Made-up identity headers get UNKNOWN_BROKER (retriable, so a real broker that must register
  // again after a coordinator restart gets there): refused all the same.
  it.each([
    ['internal = true', {}, grpc.status.INVALID_ARGUMENT, 'INVALID_TOPIC_NAME'],
    ['internal = true and a registered broker id with a made-up incarnation', { 'runnel-broker-id': '1', 'runnel-broker-incarnation': 'made-up' }, grpc.status.FAILED_PRECONDITION, 'UNKNOWN_BROKER'],
    ['internal = true and an unknown broker id', { 'runnel-broker-id': '77', 'runnel-broker-incarnation': 'made-up' }, grpc.status.FAILED_PRECONDITION, 'UNKNOWN_BROKER'],
    ['internal = true and a broker id alone', { 'runnel-broker-id': '1' }, grpc.status.FAILED_PRECONDITION, 'UNKNOWN_BROKER'],
  ])('CreateTopic of a "__" name from a client with %s is refused and creates nothing', async (_what, extra, status, code) => {
    const before = await topicNames();
    for (const name of ['__sneaky', '__offsets']) {
      const f = await failure(coordinator, 'CreateTopic', { name, partitions: 1, replicationFactor: 1, internal: true }, headers(extra));
      expect(f.code).toBe(status);
      expect(f.errorCode).toBe(code);
      expect(f.details).toMatch(/broker/);
    }
    expect(await topicNames()).toEqual(before);
  });

  it('a non-"__" name with internal = true from a client is refused too', async () => {
    const f = await failure(coordinator, 'CreateTopic', { name: 'plain', partitions: 1, replicationFactor: 1, internal: true });
    expect(f.errorCode).toBe('INVALID_TOPIC_NAME');
    expect(await topicNames()).not.toContain('plain');
  });

  it('a broker still creates __offsets for the first consumer group', async () => {
    expect(await topicNames()).not.toContain('__offsets');
    const found = await waitFor(
      () => unary<object, { brokerId: number }>(broker, 'FindGroupCoordinator', { group: 'g1' }),
      { timeoutMs: 20_000, description: 'FindGroupCoordinator to answer' },
    );
    expect(found.brokerId).toBe(1);
    expect(await topicNames()).toContain('__offsets');
  });
});
