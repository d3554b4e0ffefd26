// Creating the widest topic the cluster allows must not stall any process: the coordinator paces
// the first elections of its partitions, the brokers apply the metadata in slices, and small
// requests to every process stay fast meanwhile. Beyond the per-broker replica limit a CreateTopic
// is refused with nothing created. Raw gRPC, real processes, a short session timeout so a stall
// would be declared a death (and cost the existing topic its leader epoch).
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARTITIONS_MAX } from '@runnel/protocol';
import type { BrokerClient, CoordinatorClient } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker, rawCoordinator, unary } from './grpc-raw.js';

const SESSION_TIMEOUT_MS = 1_500;
/** BROKER_REPLICAS_MAX of packages/coordinator/src/constants.ts (the refusal must name it). */
const BROKER_REPLICAS_MAX = 500;
const BROKERS = 3;
const REPLICATION = 3;
/** The steady topic's one partition takes one replica on every broker; the wide topic gets the rest. */
const WIDE_PARTITIONS = Math.floor((BROKERS * BROKER_REPLICAS_MAX - REPLICATION) / REPLICATION);
/**
 * A small request to any process answers within this long while the wide topic is created. Before
 * the elections were paced and the metadata applied in slices, a broker stalled ~1.9 s and the
 * coordinator for longer (every broker was declared dead, again and again); a loaded 2-core CI
 * machine shows up to a few hundred ms on an idle cluster.
 */
const PROBE_LATENCY_MS_MAX = 1_000;
/** CreateTopic answers within this long (it waits up to 5 s for the first leaders). */
const CREATE_ANSWER_MS_MAX = 10_000;

interface PartitionView { partition: number; leader: number; leaderEpoch: number }
interface TopicView { name: string; partitions: PartitionView[] }

describe('CreateTopic of the widest allowed topic', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  let brokers: BrokerClient[];

  const describeTopic = (name: string): Promise<TopicView> => unary<object, TopicView>(coordinator, 'DescribeTopic', { name });
  const aliveBrokers = async (): Promise<number> =>
    (await unary<object, { brokers: Array<{ alive: boolean }> }>(coordinator, 'DescribeCluster', {})).brokers.filter((b) => b.alive).length;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: BROKERS, sessionTimeoutMs: SESSION_TIMEOUT_MS });
    coordinator = rawCoordinator(cluster.bootstrap);
    brokers = cluster.brokers.map((b) => rawBroker(b.address));
    await unary(coordinator, 'CreateTopic', { name: 'steady', partitions: 1, replicationFactor: REPLICATION });
    await waitFor(async () => ((await describeTopic('steady')).partitions[0]!.leader >= 0 ? true : undefined), {
      timeoutMs: 15_000, description: 'the steady topic to have a leader',
    });
  });

  afterAll(async () => {
    coordinator?.close();
    for (const b of brokers ?? []) b.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('one partition more than the brokers have room for is refused with INVALID_PARTITIONS, naming the limit, and creates nothing', async () => {
    const over = await failure(coordinator, 'CreateTopic', { name: 'over', partitions: WIDE_PARTITIONS + 1, replicationFactor: REPLICATION });
    expect(over.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(over.errorCode).toBe('INVALID_PARTITIONS');
    expect(over.details).toContain(String(BROKER_REPLICAS_MAX));
    const most = await failure(coordinator, 'CreateTopic', { name: 'over', partitions: PARTITIONS_MAX, replicationFactor: REPLICATION });
    expect(most.errorCode).toBe('INVALID_PARTITIONS');
    expect((await failure(coordinator, 'DescribeTopic', { name: 'over' })).errorCode).toBe('UNKNOWN_TOPIC');
    const topics = await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {});
    expect(topics.topics.map((t) => t.name)).toEqual(['steady']);
  });

  it(`the widest allowed topic (${WIDE_PARTITIONS} partitions x ${REPLICATION}) gets every leader while every process answers small requests fast, with no broker declared dead and no existing leader epoch changed`, async () => {
    const epochs = async (): Promise<Array<Pick<PartitionView, 'partition' | 'leader' | 'leaderEpoch'>>> =>
      (await describeTopic('steady')).partitions.map(({ partition, leader, leaderEpoch }) => ({ partition, leader, leaderEpoch }));
    const steadyBefore = await epochs();
    let stop = false;
    const probeMsMax = new Map<string, number>();
    const probe = async (name: string, call: () => Promise<unknown>): Promise<void> => {
      while (!stop) {
        const t = performance.now();
        await call();
        probeMsMax.set(name, Math.max(probeMsMax.get(name) ?? 0, performance.now() - t));
      }
    };
    const probing = Promise.all([
      probe('coordinator', () => describeTopic('steady')),
      ...brokers.map((b, i) => probe(`broker ${cluster.brokers[i]!.id}`, () => unary(b, 'GetMetadata', { topics: ['steady'] }))),
    ]);
    try {
      const start = performance.now();
      const created = await unary<object, TopicView>(coordinator, 'CreateTopic', { name: 'wide', partitions: WIDE_PARTITIONS, replicationFactor: REPLICATION });
      const answeredMs = performance.now() - start;
      expect(answeredMs).toBeLessThan(CREATE_ANSWER_MS_MAX);
      expect(created.partitions).toHaveLength(WIDE_PARTITIONS);
      await waitFor(async () => ((await describeTopic('wide')).partitions.every((p) => p.leader >= 0) ? true : undefined), {
        timeoutMs: 30_000, description: 'every partition of the wide topic to have a leader',
      });
      for (const b of brokers) {
        await waitFor(async () => {
          const m = await unary<object, { topics: TopicView[] }>(b, 'GetMetadata', { topics: ['wide'] });
          return m.topics[0]!.partitions.every((p) => p.leader >= 0) ? true : undefined;
        }, { timeoutMs: 15_000, description: 'every broker to know every leader of the wide topic' });
      }
      // One more session timeout of probing: a stall now would still be declared a death.
      const until = performance.now() + SESSION_TIMEOUT_MS;
      await waitFor(() => (performance.now() >= until ? true : undefined), { timeoutMs: SESSION_TIMEOUT_MS * 3, description: 'a session timeout of probing' });
      console.info(`CreateTopic answered in ${Math.round(answeredMs)} ms, every leader known after ${Math.round(performance.now() - start - SESSION_TIMEOUT_MS)} ms`);
    } finally {
      stop = true;
      await probing;
    }
    console.info(`slowest small request (ms): ${JSON.stringify(Object.fromEntries([...probeMsMax].map(([k, v]) => [k, Math.round(v)])))}`);
    for (const [name, ms] of probeMsMax) expect(ms, `slowest small request to ${name}`).toBeLessThan(PROBE_LATENCY_MS_MAX);
    expect(await aliveBrokers()).toBe(BROKERS);
    expect(await epochs()).toEqual(steadyBefore);
  }, 90_000);
});
