import { describe, expect, it } from 'vitest';
import { applyAll, electLeaders, electPartition, emptyState } from '../src/index.js';
import type { MetadataCommand, PartitionRecord } from '../src/index.js';

const none = { awaitingBrokerIds: new Set<number>() };
const p = (over: Partial<PartitionRecord>): PartitionRecord => ({ partition: 0, replicas: [1], leader: 1, leaderEpoch: 3, highestEpoch: 3, status: 'online', ...over });

describe('electPartition', () => {
  it('keeps a live leader', () => {
    expect(electPartition(p({}), () => true, none)).toEqual({ kind: 'keep' });
  });

  it('takes a single-replica partition offline when its leader dies, keeping the epoch', () => {
    expect(electPartition(p({}), () => false, none)).toEqual({ kind: 'change', leader: -1, epoch: 3 });
  });

  it('brings an offline partition back with epoch + 1 when its replica returns', () => {
    expect(electPartition(p({ leader: -1, status: 'offline' }), (id) => id === 1, none)).toEqual({ kind: 'change', leader: 1, epoch: 4 });
  });

  it('never reuses an epoch handed out before (highestEpoch)', () => {
    expect(electPartition(p({ leader: -1, status: 'offline', highestEpoch: 7 }), () => true, none)).toEqual({ kind: 'change', leader: 1, epoch: 8 });
  });

  it('prefers the preferred leader, else the first live replica', () => {
    const q = p({ replicas: [1, 2, 3], leader: -1, status: 'offline' });
    expect(electPartition(q, () => true, none)).toMatchObject({ leader: 1 });
    expect(electPartition(q, (id) => id !== 1, none)).toMatchObject({ leader: 2 });
  });

  it('leaves the leadership of an awaited broker (coordinator restart) in place', () => {
    expect(electPartition(p({}), () => false, { awaitingBrokerIds: new Set([1]) })).toEqual({ kind: 'keep' });
  });
});

describe('electLeaders', () => {
  it('offline on death, online with epoch + 1 on return', () => {
    const topic = {
      name: 't', topicId: 'tid', replicationFactor: 1,
      settings: { retentionMs: -1, retentionBytes: -1, maxMessageBytes: 10, cleanupPolicy: 'delete' as const, uncleanLeaderElection: false },
      partitions: [p({ partition: 0, replicas: [1], leader: 1, leaderEpoch: 1, highestEpoch: 1 }), p({ partition: 1, replicas: [2], leader: 2, leaderEpoch: 1, highestEpoch: 1 })],
    };
    const reg = (id: number, inc = 'x'): MetadataCommand => ({ type: 'RegisterBroker', brokerId: id, address: `h:${id}`, rack: '', incarnation: inc });
    let s = applyAll(emptyState('c'), [reg(1), reg(2), { type: 'CreateTopic', topic }]);
    expect(electLeaders(s, none)).toEqual([]);
    s = applyAll(s, [{ type: 'MarkBrokerDead', brokerId: 1, incarnation: 'x' }]);
    const down = electLeaders(s, none);
    expect(down).toEqual([{ type: 'ChangeLeader', topic: 't', topicId: 'tid', partition: 0, leader: -1, epoch: 1 }]);
    s = applyAll(s, down);
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ leader: -1, leaderEpoch: 1, status: 'offline' });
    expect(electLeaders(s, none)).toEqual([]);
    s = applyAll(s, [reg(1, 'y')]);
    const up = electLeaders(s, none);
    expect(up).toEqual([{ type: 'ChangeLeader', topic: 't', topicId: 'tid', partition: 0, leader: 1, epoch: 2 }]);
    s = applyAll(s, up);
    expect(s.topics.get('t')?.partitions[0]).toMatchObject({ leader: 1, leaderEpoch: 2, highestEpoch: 2, status: 'online' });
    expect(s.topics.get('t')?.partitions[1]).toMatchObject({ leader: 2, leaderEpoch: 1 });
  });
});
