import { PARTITIONS_MAX, TOPIC_MESSAGE_BYTES_DEFAULT, TOPIC_MESSAGE_BYTES_MAX } from '@runnel/protocol';
import type { RunnelError } from '@runnel/protocol';
import { describe, expect, it } from 'vitest';
import { applyAll, BROKER_REPLICAS_MAX, CLUSTER_PARTITIONS_MAX, emptyState, planCreateTopic, TOPIC_RETENTION_MS_DEFAULT } from '../src/index.js';
import type { CreateTopicInput, MetadataState } from '../src/index.js';

function state(liveBrokers: number): MetadataState {
  return applyAll(emptyState('c'), Array.from({ length: liveBrokers }, (_, i) => ({ type: 'RegisterBroker' as const, brokerId: i + 1, address: `h:${i + 1}`, rack: '', incarnation: 'i' })));
}

function code(s: MetadataState, input: CreateTopicInput): string {
  try {
    planCreateTopic(s, input, () => 'id');
  } catch (err) {
    return (err as RunnelError).code;
  }
  return 'OK';
}

describe('planCreateTopic', () => {
  const s = state(3);
  const ok = { name: 't', partitions: 1, replicationFactor: 1 };

  it('applies defaults: replication min(3, live brokers), retention 7 days, no size limit, 1 MiB messages, no leader until elected', () => {
    const c = planCreateTopic(s, { name: 't', partitions: 2, replicationFactor: 0, config: null }, () => 'id');
    expect(c.topic).toMatchObject({
      name: 't', topicId: 'id', replicationFactor: 3,
      settings: { retentionMs: TOPIC_RETENTION_MS_DEFAULT, retentionBytes: -1, maxMessageBytes: TOPIC_MESSAGE_BYTES_DEFAULT, cleanupPolicy: 'delete', uncleanLeaderElection: false },
    });
    expect(c.topic.partitions).toEqual([
      { partition: 0, replicas: [1, 2, 3], leader: -1, leaderEpoch: 0, highestEpoch: 0, status: 'offline' },
      { partition: 1, replicas: [2, 3, 1], leader: -1, leaderEpoch: 0, highestEpoch: 0, status: 'offline' },
    ]);
    expect(planCreateTopic(state(2), { name: 't', partitions: 1, replicationFactor: 0 }).topic.replicationFactor).toBe(2);
  });

  it('refuses bad input with the right code', () => {
    expect(code(s, { ...ok, name: '' })).toBe('INVALID_TOPIC_NAME');
    expect(code(s, { ...ok, name: 'a b' })).toBe('INVALID_TOPIC_NAME');
    expect(code(s, { ...ok, name: '__internal' })).toBe('INVALID_TOPIC_NAME');
    expect(code(s, { ...ok, partitions: 0 })).toBe('INVALID_PARTITIONS');
    expect(code(s, { ...ok, partitions: PARTITIONS_MAX + 1 })).toBe('INVALID_PARTITIONS');
    expect(code(s, { ...ok, partitions: 1.5 })).toBe('INVALID_PARTITIONS');
    expect(code(s, { ...ok, replicationFactor: -1 })).toBe('INVALID_REPLICATION_FACTOR');
    expect(code(s, { ...ok, replicationFactor: 6 })).toBe('INVALID_REPLICATION_FACTOR');
    for (const rf of [2, 3]) expect(code(s, { ...ok, replicationFactor: rf })).toBe('OK');
    for (const rf of [4, 5]) expect(code(s, { ...ok, replicationFactor: rf })).toBe('NOT_ENOUGH_BROKERS');
    expect(code(s, { ...ok, config: { uncleanLeaderElection: 'yes' as unknown as boolean } })).toBe('INVALID_CONFIG');
    expect(code(s, { ...ok, config: { retentionMs: -2 } })).toBe('INVALID_CONFIG');
    expect(code(s, { ...ok, config: { retentionBytes: -5 } })).toBe('INVALID_CONFIG');
    expect(code(s, { ...ok, config: { maxMessageBytes: -1 } })).toBe('INVALID_CONFIG');
    expect(code(s, { ...ok, config: { maxMessageBytes: TOPIC_MESSAGE_BYTES_MAX + 1 } })).toBe('INVALID_CONFIG');
    expect(code(s, { ...ok, config: { cleanupPolicy: 'CLEANUP_POLICY_COMPACT' } })).toBe('INVALID_CONFIG');
    expect(code(state(0), ok)).toBe('NOT_ENOUGH_BROKERS');
    expect(code(applyAll(s, [planCreateTopic(s, ok, () => 'x')]), ok)).toBe('TOPIC_ALREADY_EXISTS');
  });

  it('explains a replication factor above the live brokers', () => {
    expect(() => planCreateTopic(s, { ...ok, replicationFactor: 4 })).toThrow('replication factor 4 needs 4 live broker(s); 3 alive');
  });

  it('accepts the edge values of the config', () => {
    const c = planCreateTopic(s, { ...ok, config: { retentionMs: -1, retentionBytes: 1, maxMessageBytes: TOPIC_MESSAGE_BYTES_MAX } });
    expect(c.topic.settings).toEqual({ retentionMs: -1, retentionBytes: 1, maxMessageBytes: TOPIC_MESSAGE_BYTES_MAX, cleanupPolicy: 'delete', uncleanLeaderElection: false });
  });

  it('refuses more replicas than the live brokers have room for (BROKER_REPLICAS_MAX each), counting existing topics', () => {
    const s = state(3);
    expect(code(s, { name: 'w', partitions: BROKER_REPLICAS_MAX, replicationFactor: 3 })).toBe('OK');
    expect(code(s, { name: 'w', partitions: BROKER_REPLICAS_MAX + 1, replicationFactor: 3 })).toBe('INVALID_PARTITIONS');
    expect(code(s, { name: 'w', partitions: 3 * BROKER_REPLICAS_MAX, replicationFactor: 1 })).toBe('OK');
    const half = applyAll(s, [planCreateTopic(s, { name: 'a', partitions: BROKER_REPLICAS_MAX / 2, replicationFactor: 3 })]);
    expect(code(half, { name: 'b', partitions: BROKER_REPLICAS_MAX / 2, replicationFactor: 3 })).toBe('OK');
    expect(code(half, { name: 'b', partitions: BROKER_REPLICAS_MAX / 2 + 1, replicationFactor: 3 })).toBe('INVALID_PARTITIONS');
    expect(() => planCreateTopic(half, { name: 'b', partitions: BROKER_REPLICAS_MAX, replicationFactor: 3 })).toThrow(String(BROKER_REPLICAS_MAX));
  });

  it('refuses more partitions than the cluster may hold in all (CLUSTER_PARTITIONS_MAX)', () => {
    const s = state(Math.ceil((CLUSTER_PARTITIONS_MAX + 1) / BROKER_REPLICAS_MAX) + 1);
    const full = applyAll(s, [planCreateTopic(s, { name: 'a', partitions: CLUSTER_PARTITIONS_MAX - 1, replicationFactor: 1 })]);
    expect(code(full, { name: 'b', partitions: 1, replicationFactor: 1 })).toBe('OK');
    expect(code(full, { name: 'b', partitions: 2, replicationFactor: 1 })).toBe('INVALID_PARTITIONS');
  });
});
