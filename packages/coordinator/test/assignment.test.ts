import { describe, expect, it } from 'vitest';
import { applyAll, assignReplicas, brokerLoad, brokerRing, emptyState, planCreateTopic } from '../src/index.js';
import type { MetadataState } from '../src/index.js';

const noLoad = { leaderCounts: new Map<number, number>(), replicaCounts: new Map<number, number>() };
const brokers = (ids: number[], rack = (_id: number) => '') => ids.map((id) => ({ id, rack: rack(id) }));

function counts(lists: number[][], pick: (l: number[]) => number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of lists) for (const b of pick(l)) m.set(b, (m.get(b) ?? 0) + 1);
  return m;
}

function stateWith(ids: number[]): MetadataState {
  return applyAll(emptyState('c'), ids.map((id) => ({ type: 'RegisterBroker' as const, brokerId: id, address: `h:${id}`, rack: '', incarnation: 'i' })));
}

describe('assignReplicas', () => {
  it('spreads 12 partitions over 3 brokers: 4 leaders each, round-robin', () => {
    const lists = assignReplicas({ partitions: 12, replicationFactor: 1, brokers: brokers([3, 1, 2]), load: noLoad });
    expect(lists.map((l) => l[0])).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    expect([...counts(lists, (l) => [l[0] ?? -1]).values()]).toEqual([4, 4, 4]);
  });

  it('balances leaders across successive topics', () => {
    let s = stateWith([1, 2, 3]);
    let n = 0;
    for (const partitions of [4, 2, 1, 1, 1, 5, 7, 3]) {
      s = applyAll(s, [planCreateTopic(s, { name: `t${n++}`, partitions, replicationFactor: 1 }, () => `id${n}`)]);
      const leaders = brokerLoad(s).leaderCounts;
      const values = [1, 2, 3].map((b) => leaders.get(b) ?? 0);
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
    }
    // 24 partitions in all: exactly 8 each.
    expect([1, 2, 3].map((b) => brokerLoad(s).leaderCounts.get(b))).toEqual([8, 8, 8]);
  });

  it('single-partition topics go round the brokers', () => {
    let s = stateWith([1, 2, 3]);
    const leaders: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = planCreateTopic(s, { name: `t${i}`, partitions: 1, replicationFactor: 1 }, () => `id${i}`);
      leaders.push(c.topic.partitions[0]?.replicas[0] ?? -1);
      s = applyAll(s, [c]);
    }
    expect(leaders).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('with replicas: distinct brokers per partition, leaders and replicas even', () => {
    const lists = assignReplicas({ partitions: 12, replicationFactor: 3, brokers: brokers([1, 2, 3, 4]), load: noLoad });
    for (const l of lists) expect(new Set(l).size).toBe(3);
    expect([...counts(lists, (l) => [l[0] ?? -1]).values()]).toEqual([3, 3, 3, 3]);
    expect([...counts(lists, (l) => l).values()]).toEqual([9, 9, 9, 9]);
  });

  it('rack-aware: replicas of a partition sit in different racks when racks allow', () => {
    const rackOf = (id: number) => (id <= 2 ? 'a' : id <= 4 ? 'b' : 'c');
    const bs = brokers([1, 2, 3, 4, 5, 6], rackOf);
    expect(brokerRing(bs).map((b) => b.rack)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    const lists = assignReplicas({ partitions: 30, replicationFactor: 3, brokers: bs, load: noLoad });
    for (const l of lists) expect(new Set(l.map(rackOf)).size).toBe(3);
    expect([...counts(lists, (l) => [l[0] ?? -1]).values()]).toEqual([5, 5, 5, 5, 5, 5]);
  });
});
