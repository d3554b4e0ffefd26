// The coordinator's metrics without processes: the cluster summary, CoordinatorMetrics rendered
// against a hand-built state with election events, and the --metrics-port configuration.
// test/metrics.test.ts scrapes a real cluster.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseCoordinatorConfig } from '../src/index.js';
import type { BrokerRecord, MetadataState, PartitionRecord, TopicRecord } from '../src/index.js';
import { clusterSummary } from '../src/metrics/cluster-summary.js';
import { CoordinatorMetrics } from '../src/metrics/coordinator-metrics.js';

const broker = (id: number, alive: boolean): BrokerRecord => ({ id, address: `127.0.0.1:${7400 + id}`, rack: '', incarnation: `i${id}`, alive });
const partition = (n: number, leader: number, replicas: number[]): PartitionRecord => ({
  partition: n, replicas, leader, leaderEpoch: 1, highestEpoch: 1, status: leader < 0 ? 'offline' : 'online',
});
const topic = (name: string, partitions: PartitionRecord[]): TopicRecord => ({
  name, topicId: `${name}-id`, replicationFactor: 3,
  settings: { retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1_048_576, cleanupPolicy: 'delete', uncleanLeaderElection: false },
  partitions,
});

const state: MetadataState = {
  clusterId: 'c',
  version: 42,
  brokers: new Map([[1, broker(1, true)], [2, broker(2, true)], [3, broker(3, false)], [4, broker(4, false)]]),
  topics: new Map([
    ['a', topic('a', [partition(0, 1, [1, 2, 3]), partition(1, 2, [2, 3, 1]), partition(2, -1, [3, 1, 2])])],
    ['b', topic('b', [partition(0, 1, [1])])],
  ]),
};
// Partition a/0 reported with 2 of 3 in sync; a/1 unreported; b/0 with its only replica.
const isr = (topicId: string, p: PartitionRecord): readonly number[] | undefined => {
  if (topicId === 'a-id' && p.partition === 0) return [1, 2];
  if (topicId === 'b-id') return [1];
  return undefined;
};

describe('clusterSummary', () => {
  it('counts brokers by state, topics, partitions, offline and under-replicated partitions', () => {
    expect(clusterSummary(state, new Set([3]), isr)).toEqual({
      liveBrokers: 2, awaitedBrokers: 1, deadBrokers: 1, topics: 2, partitions: 4, offlinePartitions: 1, underReplicatedPartitions: 1, metadataVersion: 42,
    });
  });
});

describe('CoordinatorMetrics', () => {
  it('renders the summary gauges and counts elections by outcome', async () => {
    const metrics = new CoordinatorMetrics();
    metrics.attach({ state: () => state, awaiting: () => new Set([3]), isr });
    metrics.electionEvent({ kind: 'electing', epoch: 2 });
    metrics.electionEvent({ kind: 'elected', epoch: 2, leader: 1, unclean: false });
    metrics.electionEvent({ kind: 'electing', epoch: 3 });
    metrics.electionEvent({ kind: 'offline', epoch: 3, promises: 1 });
    metrics.electionEvent({ kind: 'elected', epoch: 4, leader: 2, unclean: true });
    const text = await metrics.render();
    const value = (series: string): number | undefined => {
      const l = text.split('\n').find((x) => x.startsWith(`${series} `));
      return l === undefined ? undefined : Number(l.slice(series.length + 1));
    };
    expect(value('runnel_coordinator_brokers{state="live"}')).toBe(2);
    expect(value('runnel_coordinator_brokers{state="awaited"}')).toBe(1);
    expect(value('runnel_coordinator_brokers{state="dead"}')).toBe(1);
    expect(value('runnel_coordinator_topics')).toBe(2);
    expect(value('runnel_coordinator_partitions')).toBe(4);
    expect(value('runnel_coordinator_offline_partitions')).toBe(1);
    expect(value('runnel_coordinator_under_replicated_partitions')).toBe(1);
    expect(value('runnel_coordinator_metadata_version')).toBe(42);
    expect(value('runnel_coordinator_leader_elections_started_total')).toBe(2);
    expect(value('runnel_coordinator_leader_elections_total{outcome="elected"}')).toBe(1);
    expect(value('runnel_coordinator_leader_elections_total{outcome="unclean"}')).toBe(1);
    expect(value('runnel_coordinator_leader_elections_total{outcome="offline"}')).toBe(1);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });
});

describe('--metrics-port and --metrics-host', () => {
  it('default to off and to --host, and may not clash with the gRPC port', () => {
    expect(parseCoordinatorConfig({ dataDir: 'd', metricsPort: '9400' })).toMatchObject({ metricsPort: 9400, metricsHost: undefined });
    const error = (raw: Record<string, unknown>): ConfigError | undefined => {
      try {
        parseCoordinatorConfig({ dataDir: 'd', ...raw });
      } catch (err) {
        return err as ConfigError;
      }
      return undefined;
    };
    expect(error({ metricsPort: '-1' })?.message).toBe('--metrics-port: must be at least 0');
    expect(error({ metricsPort: '7400' })?.message).toBe('--metrics-port: must differ from --port (both are 7400)');
    expect(error({ metricsPort: '7400', metricsHost: '127.0.0.2' })).toBeUndefined();
    expect(error({ metricsHost: '' })?.flag).toBe('--metrics-host');
  });
});
