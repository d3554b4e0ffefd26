import { describe, expect, it } from 'vitest';
import { apply, applyAll, emptyState } from '../src/index.js';
import type { MetadataCommand, MetadataState, TopicRecord } from '../src/index.js';

const settings = { retentionMs: 1000, retentionBytes: -1, maxMessageBytes: 1024, cleanupPolicy: 'delete' as const, uncleanLeaderElection: false };

function topic(name: string, leaders: number[], topicId = `${name}-id`): TopicRecord {
  return {
    name,
    topicId,
    replicationFactor: 1,
    settings,
    partitions: leaders.map((leader, partition) => ({ partition, replicas: [leader], leader, leaderEpoch: 1, highestEpoch: 1, status: 'online' as const })),
  };
}

const reg = (brokerId: number, incarnation = 'a'): MetadataCommand => ({ type: 'RegisterBroker', brokerId, address: `h:${brokerId}`, rack: '', incarnation });

function base(): MetadataState {
  return applyAll(emptyState('c'), [reg(1), reg(2), { type: 'CreateTopic', topic: topic('t', [1, 2]) }]);
}

describe('apply', () => {
  it('bumps the version once per change and leaves the state untouched for a repeat', () => {
    const s = base();
    expect(s.version).toBe(3);
    for (const c of [reg(1), { type: 'CreateTopic', topic: topic('t', [1, 2]) } as const]) {
      expect(apply(s, c)).toBe(s);
    }
  });

  it('is idempotent for every command when replayed', () => {
    const commands: MetadataCommand[] = [
      reg(1),
      reg(2),
      { type: 'CreateTopic', topic: topic('t', [1, 2]) },
      { type: 'MarkBrokerDead', brokerId: 1, incarnation: 'a' },
      { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: -1, epoch: 1 },
      reg(1, 'b'),
      { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: 1, epoch: 2 },
      { type: 'CreateTopic', topic: topic('u', [2]) },
      { type: 'DeleteTopic', name: 'u', topicId: 'u-id' },
    ];
    const once = applyAll(emptyState('c'), commands);
    expect(applyAll(emptyState('c'), commands)).toEqual(once);
    // Every ChangeLeader of the log is stale once the log has been applied.
    for (const c of commands) if (c.type === 'ChangeLeader') expect(apply(once, c)).toBe(once);
    // Replaying each command right after itself changes nothing either.
    let s = emptyState('c');
    for (const c of commands) {
      s = apply(s, c);
      expect(apply(s, c)).toBe(s);
    }
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ leader: 1, leaderEpoch: 2, highestEpoch: 2, status: 'online' });
    expect(s.topics.has('u')).toBe(false);
  });

  it('ignores a ChangeLeader with a stale epoch', () => {
    const s = applyAll(base(), [{ type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: -1, epoch: 1 }, { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: 1, epoch: 3 }]);
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ leader: 1, leaderEpoch: 3, highestEpoch: 3, status: 'online' });
    expect(apply(s, { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: 1, epoch: 2 })).toBe(s);
    expect(apply(s, { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: -1, epoch: 2 })).toBe(s);
  });

  it('lets a leadership end (go offline) within its epoch, but never start again at that epoch', () => {
    const s = base();
    const off = apply(s, { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 1, leader: -1, epoch: 1 });
    expect(off.topics.get('t')?.partitions[1]).toMatchObject({ leader: -1, leaderEpoch: 1, status: 'offline' });
    expect(apply(off, { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 1, leader: 2, epoch: 1 })).toBe(off);
  });

  it('ignores commands for another topic id, unknown topics and partitions', () => {
    const s = base();
    expect(apply(s, { type: 'ChangeLeader', topic: 't', topicId: 'old', partition: 0, leader: 1, epoch: 9 })).toBe(s);
    expect(apply(s, { type: 'ChangeLeader', topic: 'x', topicId: 'x-id', partition: 0, leader: 1, epoch: 9 })).toBe(s);
    expect(apply(s, { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 7, leader: 1, epoch: 9 })).toBe(s);
    expect(apply(s, { type: 'DeleteTopic', name: 't', topicId: 'old' })).toBe(s);
    expect(apply(s, { type: 'CreateTopic', topic: topic('t', [2], 'other') })).toBe(s);
  });

  it('marks a broker dead only for the incarnation it names', () => {
    const s = apply(base(), reg(1, 'b'));
    expect(apply(s, { type: 'MarkBrokerDead', brokerId: 1, incarnation: 'a' })).toBe(s);
    const dead = apply(s, { type: 'MarkBrokerDead', brokerId: 1, incarnation: 'b' });
    expect(dead.brokers.get(1)?.alive).toBe(false);
    expect(apply(dead, reg(1, 'b')).brokers.get(1)?.alive).toBe(true);
  });

  it('asserts that a new leader is one of the replicas', () => {
    expect(() => apply(base(), { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: 2, epoch: 5 })).toThrow(/not a replica/);
  });
});

describe('applyAll of many partition commands', () => {
  it('gives the same state as applying them one by one, and leaves the state it started from untouched', () => {
    const start = apply(emptyState('c'), { type: 'CreateTopic', topic: topic('t', [1, 1, 1, 1]) });
    const before = JSON.stringify([...start.topics.values()]);
    const commands: MetadataCommand[] = [
      { type: 'ReserveEpoch', topic: 't', topicId: 't-id', partition: 0, epoch: 5 },
      { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: 1, epoch: 5 },
      { type: 'ChangeLeader', topic: 't', topicId: 't-id', partition: 0, leader: -1, epoch: 5 },
      { type: 'ReserveEpoch', topic: 't', topicId: 't-id', partition: 3, epoch: 2 },
      { type: 'DeleteTopic', name: 't', topicId: 't-id' },
      { type: 'CreateTopic', topic: topic('t', [1, 1], 'other-id') },
      { type: 'ChangeLeader', topic: 't', topicId: 'other-id', partition: 1, leader: 1, epoch: 7 },
    ];
    const oneByOne = commands.reduce((s, c) => apply(s, c), start);
    const batched = applyAll(start, commands);
    expect([...batched.topics.values()]).toEqual([...oneByOne.topics.values()]);
    expect(batched.version).toBe(oneByOne.version);
    expect(JSON.stringify([...start.topics.values()])).toBe(before);
  });
});
