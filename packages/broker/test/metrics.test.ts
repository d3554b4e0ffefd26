// The broker's metrics, without a cluster: the pure parts (topic label bound, group lag, partition
// health), BrokerMetrics fed by its hooks and rendered against fake sources, the HTTP endpoint, and
// the --metrics-port / --metrics-host configuration. test/metrics.test.ts scrapes a real cluster.
import { describe, expect, it } from 'vitest';
import type { ClusterMetadata__Output, GroupDescription } from '@runnel/protocol';
import { encodeBatch } from '@runnel/storage';
import { ConfigError, parseBrokerConfig } from '../src/config.js';
import { BrokerMetrics, requestedAckLabel } from '../src/metrics/broker-metrics.js';
import type { BrokerMetricsSources } from '../src/metrics/broker-metrics.js';
import { groupLag } from '../src/metrics/group-lag.js';
import { startMetricsServer } from '@runnel/protocol';
import { offlinePartitions, partitionHealth } from '../src/metrics/partition-health.js';
import { OTHER_TOPIC_LABEL, TopicLabels } from '../src/metrics/topic-labels.js';
import { silentLogger } from './helpers.js';

/** `name{labels} value` lines of an exposition text. */
function line(text: string, prefix: string): number | undefined {
  const l = text.split('\n').find((x) => x.startsWith(`${prefix} `));
  return l === undefined ? undefined : Number(l.slice(prefix.length + 1));
}

describe('TopicLabels', () => {
  it('labels existing topics up to the bound, the rest and unknown names as _other, and forgets deleted ones', () => {
    const topics = new Set(['a', 'b', 'c']);
    const labels = new TopicLabels(2, (t) => topics.has(t));
    expect(labels.of('a')).toBe('a');
    expect(labels.of('nope')).toBe(OTHER_TOPIC_LABEL);
    expect(labels.of('b')).toBe('b');
    expect(labels.of('c')).toBe(OTHER_TOPIC_LABEL);
    expect(labels.of('a')).toBe('a');
    topics.delete('a');
    expect(labels.prune()).toEqual(['a']);
    expect(labels.size).toBe(1);
    expect(labels.of('c')).toBe('c');
  });
});

describe('groupLag', () => {
  const groups = [
    { group: 'g1', offsets: [{ topic: 't', partition: 0, offset: 10 }, { topic: 't', partition: 1, offset: -1 }, { topic: 'u', partition: 0, offset: 5 }] },
    { group: 'g2', offsets: [{ topic: 't', partition: 0, offset: 30 }] },
  ];
  const hw = (topic: string, partition: number): { highWatermark: number; epochStarts: number[] } | undefined => {
    const h = topic === 't' ? [25, 40][partition] : undefined;
    return h === undefined ? undefined : { highWatermark: h, epochStarts: [] };
  };

  it('is HW minus committed, never negative, skipping partitions with no commit or no known HW', () => {
    expect(groupLag(groups, hw, 100)).toEqual([
      { group: 'g1', topic: 't', partition: 0, lag: 15 },
      { group: 'g2', topic: 't', partition: 0, lag: 0 },
    ]);
  });

  it('stops at the series bound', () => {
    expect(groupLag(groups, hw, 1)).toHaveLength(1);
  });

  it('leaves out the epoch-start markers between the committed offset and the HW (no consumer receives them)', () => {
    const view = { highWatermark: 25, epochStarts: [0, 12, 20, 25] };
    expect(groupLag([{ group: 'g', offsets: [{ topic: 't', partition: 0, offset: 10 }] }], () => view, 10)).toEqual([{ group: 'g', topic: 't', partition: 0, lag: 13 }]);
    // Read everything (commit at the HW) after a leader change whose marker is the last offset: 0.
    expect(groupLag([{ group: 'g', offsets: [{ topic: 't', partition: 0, offset: 24 }] }], () => ({ highWatermark: 25, epochStarts: [24] }), 10)[0]!.lag).toBe(0);
  });
});

describe('partitionHealth and offlinePartitions', () => {
  it('counts under-replicated leaders and bounds the follower-lag series', () => {
    const led = [
      { topic: 't', partition: 0, replicaSet: [1, 2, 3], inSyncCount: 3, followerLagRecords: 0 },
      { topic: 't', partition: 1, replicaSet: [1, 2, 3], inSyncCount: 2, followerLagRecords: 7 },
      { topic: 'u', partition: 0, replicaSet: [1], inSyncCount: 1, followerLagRecords: 0 },
    ];
    expect(partitionHealth(led, 2)).toEqual({
      led: 3, underReplicated: 1, followerLags: [{ topic: 't', partition: 0, lag: 0 }, { topic: 't', partition: 1, lag: 7 }],
    });
  });

  it('counts partitions with no leader in the metadata', () => {
    const p = (partition: number, leader: number, state: 'PARTITION_STATE_ONLINE' | 'PARTITION_STATE_OFFLINE') => ({ partition, leader, state, replicas: [1], leaderEpoch: 1, inSyncReplicas: [] });
    const snapshot = {
      version: 3, clusterId: 'c', brokers: [],
      topics: [{ name: 't', topicId: 'id', partitions: [p(0, 1, 'PARTITION_STATE_ONLINE'), p(1, -1, 'PARTITION_STATE_OFFLINE'), p(2, 2, 'PARTITION_STATE_OFFLINE')] }],
    } as unknown as ClusterMetadata__Output;
    expect(offlinePartitions(snapshot)).toBe(2);
  });
});

describe('BrokerMetrics', () => {
  it('maps requested ack levels (unspecified = quorum)', () => {
    expect(['ACKS_NONE', 'ACKS_LEADER', 'ACKS_QUORUM', 'ACKS_ALL', 'ACKS_UNSPECIFIED', undefined].map((a) => requestedAckLabel(a as never)))
      .toEqual(['none', 'leader', 'quorum', 'all', 'quorum', 'quorum']);
  });

  it('renders what its hooks were told and the scrape-time gauges, and drops series of deleted topics', async () => {
    const metrics = new BrokerMetrics(silentLogger);
    const topics = new Set(['orders', '__offsets']);
    const leader = {
      topic: 'orders', partition: 0, isLeading: true, highWatermark: 50, replicaSet: [1, 2, 3],
      status: () => ({ inSyncReplicas: [1, 2] }), followerLagRecords: () => 4, log: { epochEntries: () => [], logStartOffset: 0 },
    };
    const follower = { topic: 'orders', partition: 1, isLeading: false, highWatermark: 20, log: { epochEntries: () => [], logStartOffset: 0 } };
    const groups: GroupDescription[] = [{ group: 'readers', offsets: [
      { topic: 'orders', partition: 0, offset: 45 }, { topic: 'orders', partition: 1, offset: 20 }, { topic: 'other', partition: 0, offset: 1 },
    ] }];
    const sources = {
      registry: { closing: false, all: () => [leader], hosted: () => [leader, follower] },
      metadata: {
        version: 9,
        topic: (t: string) => (topics.has(t) ? {} : undefined),
        snapshot: { topics: [{ partitions: [{ leader: 1, state: 'PARTITION_STATE_ONLINE' }, { leader: -1, state: 'PARTITION_STATE_OFFLINE' }] }] },
      },
      groups: { list: () => Promise.resolve(groups.map((g) => ({ group: g.group }))), describe: (g: string) => Promise.resolve(groups.find((x) => x.group === g)!) },
    } as unknown as BrokerMetricsSources;
    metrics.attach(sources);

    metrics.produced('orders', 'QUORUM', 10, 1000);
    metrics.produced('orders', 'QUORUM', 5, 500);
    metrics.produced('orders', 'NONE', 1, 10);
    metrics.produced('gone-already', 'LEADER', 1, 10);
    metrics.produceAnswered('quorum', performance.now() - 3);
    metrics.produceFailed(new Error('boom'));
    const batch = encodeBatch({ baseOffset: 0, recordCount: 3, leaderEpoch: 1, maxTimestampMs: 0, producerId: 0, producerSequence: 0, attributes: 0, recordSet: Buffer.alloc(30) });
    metrics.delivered('subscribe', 'orders', [batch, batch]);
    metrics.delivered('fetch', 'orders', []);
    metrics.storageWrite({ durationSeconds: 0.002, sync: true, entries: 4 });

    const text = await metrics.render();
    expect(line(text, 'runnel_produce_requests_total{topic="orders",acks="quorum"}')).toBe(2);
    expect(line(text, 'runnel_produce_records_total{topic="orders",acks="quorum"}')).toBe(15);
    expect(line(text, 'runnel_produce_bytes_total{topic="orders",acks="quorum"}')).toBe(1500);
    expect(line(text, 'runnel_produce_requests_total{topic="orders",acks="none"}')).toBe(1);
    expect(line(text, `runnel_produce_requests_total{topic="${OTHER_TOPIC_LABEL}",acks="leader"}`)).toBe(1);
    expect(line(text, 'runnel_produce_duration_seconds_count{acks="quorum"}')).toBe(1);
    expect(line(text, 'runnel_produce_errors_total{code="INTERNAL"}')).toBe(1);
    expect(line(text, 'runnel_delivered_records_total{topic="orders",api="subscribe"}')).toBe(6);
    expect(line(text, 'runnel_delivered_bytes_total{topic="orders",api="subscribe"}')).toBe(2 * batch.length);
    expect(line(text, 'runnel_delivered_records_total{topic="orders",api="fetch"}')).toBeUndefined();
    expect(line(text, 'runnel_storage_write_duration_seconds_count{sync="true"}')).toBe(1);
    expect(line(text, 'runnel_storage_write_entries_total')).toBe(4);
    expect(line(text, 'runnel_partitions_hosted')).toBe(2);
    expect(line(text, 'runnel_partitions_led')).toBe(1);
    expect(line(text, 'runnel_partitions_under_replicated')).toBe(1);
    expect(line(text, 'runnel_partitions_offline')).toBe(1);
    expect(line(text, 'runnel_metadata_version')).toBe(9);
    expect(line(text, 'runnel_follower_lag_records{topic="orders",partition="0"}')).toBe(4);
    // Against the leader's HW (50) and the follower's (20); no HW known for "other".
    expect(line(text, 'runnel_consumer_group_lag_records{group="readers",topic="orders",partition="0"}')).toBe(5);
    expect(line(text, 'runnel_consumer_group_lag_records{group="readers",topic="orders",partition="1"}')).toBe(0);
    expect(text).not.toContain('topic="other"');
    expect(text).toContain('nodejs_eventloop_lag_seconds');

    topics.delete('orders');
    const after = await metrics.render();
    expect(after).not.toContain('runnel_produce_requests_total{topic="orders"');
    expect(after).not.toContain('runnel_delivered_records_total{topic="orders"');
  });

  it('renders zeros before the broker attaches its sources', async () => {
    const text = await new BrokerMetrics(silentLogger).render();
    expect(line(text, 'runnel_partitions_led')).toBe(0);
    expect(text).not.toContain('runnel_consumer_group_lag_records{');
  });
});

describe('the metrics endpoint', () => {
  it('serves /metrics and /healthz, 404 elsewhere, 405 for other methods, 503 past the scrape bound; close() stops it', async () => {
    let serving = false;
    const hanging: Array<(s: string) => void> = [];
    let hang = false;
    const server = await startMetricsServer({
      host: '127.0.0.1', port: 0, logger: silentLogger, contentType: 'text/plain; version=0.0.4; charset=utf-8', serving: () => serving,
      render: () => (hang ? new Promise<string>((resolve) => hanging.push(resolve)) : Promise.resolve('up 1\n')),
    });
    const url = (p: string): string => `http://127.0.0.1:${server.port}${p}`;
    try {
      const metrics = await fetch(url('/metrics?x=1'));
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(await metrics.text()).toBe('up 1\n');
      expect((await fetch(url('/healthz'))).status).toBe(503);
      serving = true;
      expect(await (await fetch(url('/healthz'))).text()).toBe('ok\n');
      expect((await fetch(url('/metrics'), { method: 'HEAD' })).status).toBe(200);
      expect((await fetch(url('/'))).status).toBe(404);
      const post = await fetch(url('/metrics'), { method: 'POST', body: 'x' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD');

      hang = true;
      const slow = Array.from({ length: 4 }, () => fetch(url('/metrics')));
      await expect.poll(() => hanging.length).toBe(4);
      expect((await fetch(url('/metrics'))).status).toBe(503);
      for (const resolve of hanging) resolve('late 1\n');
      for (const r of await Promise.all(slow)) expect(await r.text()).toBe('late 1\n');
    } finally {
      await server.close();
    }
    await expect(fetch(url('/healthz'))).rejects.toThrow();
  });
});

describe('--metrics-port and --metrics-host', () => {
  it('default to off and to --host, and are validated', () => {
    expect(parseBrokerConfig({ id: 1, dataDir: 'd' })).toMatchObject({ metricsPort: 0, metricsHost: undefined });
    expect(parseBrokerConfig({ id: 1, dataDir: 'd', metricsPort: '9401', metricsHost: '0.0.0.0' })).toMatchObject({ metricsPort: 9401, metricsHost: '0.0.0.0' });
    const error = (raw: Record<string, unknown>): ConfigError | undefined => {
      try {
        parseBrokerConfig({ id: 1, dataDir: 'd', ...raw });
      } catch (err) {
        return err as ConfigError;
      }
      return undefined;
    };
    expect(error({ metricsPort: '70000' })?.message).toBe('--metrics-port: must be at most 65535');
    expect(error({ metricsPort: 'x' })?.flag).toBe('--metrics-port');
    expect(error({ metricsHost: ' ' })?.flag).toBe('--metrics-host');
    expect(error({ port: '7401', metricsPort: '7401' })?.message).toBe('--metrics-port: must differ from --port (both are 7401)');
    expect(error({ port: '7401', metricsPort: '7401', metricsHost: '10.0.0.1' })).toBeUndefined();
  });
});
