// Shared setup of the replication tests: a 3-broker cluster with short timeouts, a client whose
// retries outlast a failover, and helpers to wait on partition state.
import { afterEach } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import type { Producer } from '@runnel/client';
import type { TopicInfo__Output } from '@runnel/protocol';
import { compareReplicas, readReplicaLog } from './replica-log.js';
import { ProduceWorkload } from './workload.js';

export const SESSION_TIMEOUT_MS = 1000;

export interface ReplicatedClusterOptions {
  /** Fault proxies on every link (`cluster.network`); the client dials through them. */
  readonly networkFaults?: boolean;
}

export async function startReplicatedCluster(options: ReplicatedClusterOptions = {}): Promise<{ cluster: Cluster; client: RunnelClient }> {
  const cluster = await startCluster({
    brokers: 3,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: 200,
    fsync: 'always',
    env: { RUNNEL_PREFERRED_LEADER_CHECK_INTERVAL_MS: '1000' },
    ...(options.networkFaults === true ? { networkFaults: true } : {}),
  });
  const client = new RunnelClient({
    ...cluster.clientOptions(),
    requestTimeoutMs: 3000,
    retry: { retriesMax: 40, initialBackoffMs: 50, backoffMsMax: 500 },
  });
  return { cluster, client };
}

/**
 * For a describe block: `start()` gives a fresh replicated cluster and client, stopped (data removed)
 * after each test.
 */
export interface LoadSpec {
  readonly partitions?: number;
  /** Concurrent senders. */
  readonly workers: number;
  /** Send to this partition only (default: let the partitioner spread the records). */
  readonly partition?: number;
  /** Acks to wait for before returning. */
  readonly acksBefore: number;
}

export interface LoadedCluster {
  readonly cluster: Cluster;
  readonly client: RunnelClient;
  readonly topic: TopicInfo__Output;
  readonly producer: Producer;
  readonly load: ProduceWorkload;
}

export interface ReplicatedClusterFixture {
  start(): Promise<{ cluster: Cluster; client: RunnelClient }>;
  /** start(), then topic `name` replicated 3 times and fully in sync, under a QUORUM load that has had `acksBefore` acks. */
  startUnderLoad(name: string, spec: LoadSpec): Promise<LoadedCluster>;
}

export function replicatedClusterFixture(options: ReplicatedClusterOptions = {}): ReplicatedClusterFixture {
  let current: { cluster: Cluster; client: RunnelClient } | undefined;
  afterEach(async () => {
    await current?.client.close();
    await current?.cluster.stopAll({ removeData: true });
    current = undefined;
  });
  return {
    async start() {
      current = await startReplicatedCluster(options);
      return current;
    },
    async startUnderLoad(name, spec) {
      const { cluster, client } = await this.start();
      const topic = await client.admin.createTopic({ name, partitions: spec.partitions ?? 1, replicationFactor: 3 });
      await waitFullyInSync(client, name);
      const producer = client.producer({ acks: 'quorum', lingerMs: 1 });
      const load = new ProduceWorkload(producer, name, spec.workers, spec.partition);
      await waitFor(() => load.acked.size >= spec.acksBefore, { timeoutMs: 30_000, description: `${spec.acksBefore} acks before the fault` });
      return { cluster, client, topic, producer, load };
    },
  };
}

export async function partitionInfo(client: RunnelClient, topic: string, partition: number): Promise<TopicInfo__Output['partitions'][number]> {
  const info = await client.admin.describeTopic(topic);
  const p = info.partitions.find((x) => x.partition === partition);
  if (p === undefined) throw new Error(`no partition ${partition} in ${topic}`);
  return p;
}

/** Waits until every partition of `topic` is online with all its replicas in sync. */
export async function waitFullyInSync(client: RunnelClient, topic: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      const info = await client.admin.describeTopic(topic);
      return info.partitions.every((p) => p.leader >= 0 && p.inSyncReplicas.length === p.replicas.length);
    },
    { timeoutMs, intervalMs: 100, description: `${topic} fully in sync` },
  );
}

/**
 * Stops the cluster (keeping data), reads every replica's log from disk and checks that replicas
 * agree below the committed end and that each acknowledged value is on at least `copiesMin`
 * replicas: every replica (the default) once the test waited for them to be in sync, a majority
 * (what a QUORUM ack promises) when the cluster is stopped while the last batches may still be on
 * their way to the slowest follower.
 */
export async function checkReplicasOnDisk(
  cluster: Cluster, topicId: string, partition: number, replicas: readonly number[], acked: ReadonlyMap<string, number>,
  copiesMin = replicas.length,
): Promise<string[]> {
  await cluster.stopAll({ removeData: false });
  const logs = await Promise.all(replicas.map((b) => readReplicaLog(cluster.dataDir, b, topicId, partition)));
  const committedEnd = Math.max(...logs.map((l) => l.highWatermark));
  return compareReplicas(logs, committedEnd, acked, copiesMin);
}
