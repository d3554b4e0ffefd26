import { describe, expect, it } from 'vitest';
import { RunnelError } from '@runnel/protocol';
import {
  consumedJson, formatClusterStatus, formatEndpoints, formatThroughput, formatTopicDescribe, partitionStateName, percentile, producedJson,
} from '../src/format.js';
import { formatError } from '../src/errors.js';
import { topicView } from '../src/commands/topic.js';
import { statusView } from '../src/commands/cluster-status.js';

const info = {
  name: 'demo',
  topicId: 'abc',
  replicationFactor: 2,
  config: { retentionMs: 604_800_000, retentionBytes: -1, maxMessageBytes: 1_048_576, cleanupPolicy: 'CLEANUP_POLICY_DELETE' },
  partitions: [
    { partition: 0, leader: 1, replicas: [1, 2], inSyncReplicas: [1, 2], leaderEpoch: 3, state: 'PARTITION_STATE_ONLINE' },
    { partition: 1, leader: -1, replicas: [2, 3], leaderEpoch: 1, state: 'PARTITION_STATE_OFFLINE' },
  ],
};

describe('format', () => {
  it('topic describe JSON has the keys scripts rely on, offsets merged by partition', () => {
    const view = topicView(info, [{ partition: 0, leader: 1, replicas: [1, 2], leaderEpoch: 4, state: 'PARTITION_STATE_ONLINE', logStartOffset: 0, highWatermark: 10, logEndOffset: 12 }]);
    expect(view).toEqual({
      name: 'demo', topicId: 'abc', replicationFactor: 2,
      config: { retentionMs: 604_800_000, retentionBytes: -1, maxMessageBytes: 1_048_576, cleanupPolicy: 'delete', uncleanLeaderElection: false },
      partitions: [
        { partition: 0, leader: 1, replicas: [1, 2], inSyncReplicas: [1, 2], epoch: 4, state: 'online', logStartOffset: 0, highWatermark: 10, logEndOffset: 12 },
        { partition: 1, leader: -1, replicas: [2, 3], inSyncReplicas: [], epoch: 1, state: 'offline', logStartOffset: null, highWatermark: null, logEndOffset: null },
      ],
    });
    const text = formatTopicDescribe(view);
    expect(text).toContain('topic demo (id abc): 2 partitions, replication 2');
    expect(text).toMatch(/│ 0\s+│ 1\s+│ 1,2\s+│ 1,2\s+│ 4\s+│ online/);
    expect(text).toMatch(/│ 1\s+│ none\s+│ 2,3\s+│ -\s+│ 1/);
    expect(text).not.toMatch(/\u001b\[/); // no colours in pipes
  });

  it('topic describe shows uncleanLeaderElection in --json and the table (false when the topic did not opt in)', () => {
    const plain = topicView(info, undefined);
    expect(plain.config.uncleanLeaderElection).toBe(false);
    expect(formatTopicDescribe(plain)).toContain('unclean leader election no');
    const lossy = topicView({ ...info, config: { ...info.config, uncleanLeaderElection: true } }, undefined);
    expect(lossy.config).toEqual({ retentionMs: 604_800_000, retentionBytes: -1, maxMessageBytes: 1_048_576, cleanupPolicy: 'delete', uncleanLeaderElection: true });
    expect(formatTopicDescribe(lossy)).toContain('unclean leader election YES (lossy)');
  });

  it('partition states normalise', () => {
    expect(partitionStateName('PARTITION_STATE_ONLINE')).toBe('online');
    expect(partitionStateName('offline')).toBe('offline');
  });

  it('endpoint table lists role, id, address, pid and log file', () => {
    const text = formatEndpoints([{ role: 'coordinator', id: 0, address: '127.0.0.1:7400', pid: 11, logFile: '/d/logs/coordinator.log' }, { role: 'broker', id: 1, address: '127.0.0.1:7401', pid: undefined, logFile: '/d/logs/broker-1.log' }]);
    expect(text).toMatch(/role\s+│ id\s+│ address\s+│ pid\s+│ log file/);
    expect(text).toMatch(/coordinator\s+│ 0\s+│ 127\.0\.0\.1:7400\s+│ 11\s+│ \/d\/logs\/coordinator\.log/);
    expect(text).toMatch(/broker\s+│ 1\s+│ 127\.0\.0\.1:7401\s+│ -/);
  });

  it('cluster status is healthy only when everything is alive and SERVING', () => {
    const metadata = { clusterId: 'c1', version: 7, brokers: [{ id: 1, address: 'a:1', alive: true }, { id: 2, address: 'a:2', alive: false }] };
    expect(statusView('a:0', 'SERVING', metadata, ['SERVING', 'UNREACHABLE'], null).healthy).toBe(false);
    const ok = statusView('a:0', 'SERVING', { ...metadata, brokers: [{ id: 1, address: 'a:1', alive: true }] }, ['SERVING'], null);
    expect(ok.healthy).toBe(true);
    expect(formatClusterStatus(ok)).toContain('cluster c1: cluster is healthy');
    const down = statusView('a:0', 'UNREACHABLE', undefined, [], 'UNREACHABLE: connection refused');
    expect(down.healthy).toBe(false);
    expect(formatClusterStatus(down)).toContain('NOT healthy (UNREACHABLE: connection refused)');
  });

  it('produce and consume lines', () => {
    expect(producedJson(2, 41)).toBe('{"partition":2,"offset":41}\n');
    expect(JSON.parse(consumedJson({ partition: 1, offset: 5, key: Buffer.from('k'), value: Buffer.from('v'), timestampMs: 9 })))
      .toEqual({ partition: 1, offset: 5, key: 'k', value: 'v', timestampMs: 9 });
    expect(JSON.parse(consumedJson({ partition: 1, offset: 5, key: undefined, value: Buffer.from(''), timestampMs: 9 })).key).toBeNull();
  });

  it('throughput summary and percentiles', () => {
    const text = formatThroughput({ records: 1000, failed: 0, bytes: 1024 * 1024, seconds: 0.5, acks: 'quorum', latencyMsP50: 1.25, latencyMsP99: 9 });
    expect(text).toBe('1000 records acknowledged, in 0.50 s, 2000 records/s, 2.00 MB/s, acks=quorum, ack latency p50 1.3 ms, p99 9.0 ms\n');
    // --acks none: nothing is acknowledged, so nothing is said to be.
    const none = formatThroughput({ records: 10, failed: 0, bytes: 100, seconds: 1, acks: 'none' });
    expect(none).toMatch(/^10 records sent \(not acknowledged: --acks none\), in 1\.00 s/);
    expect(none).not.toContain('acknowledged,');
    const samples = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
  });

  it('errors print as error: CODE: message', () => {
    expect(formatError(new RunnelError('UNKNOWN_TOPIC', 'no topic named x'))).toBe('error: UNKNOWN_TOPIC: no topic named x');
    expect(formatError(new Error('boom'))).toBe('error: boom');
  });
});
