import { describe, expect, it } from 'vitest';
import { applyAll, changeOps, loadState, MemoryMetaKv, planCreateTopic } from '../src/index.js';
import { persistChange } from '../src/metadata-store.js';

describe('metadata store', () => {
  it('creates a cluster id once and round-trips brokers, topics, epochs and version', async () => {
    const kv = new MemoryMetaKv();
    const first = await loadState(kv, () => 'cluster-1');
    expect(first.created).toBe(true);
    let s = applyAll(first.state, [{ type: 'RegisterBroker', brokerId: 1, address: 'h:1', rack: 'r', incarnation: 'i' }]);
    const create = planCreateTopic(s, { name: 'orders', partitions: 3, replicationFactor: 0 }, () => 'tid');
    s = applyAll(s, [create, { type: 'ChangeLeader', topic: 'orders', topicId: 'tid', partition: 1, leader: -1, epoch: 1 }]);
    await persistChange(kv, first.state, s);
    const again = await loadState(kv, () => 'cluster-2');
    expect(again.created).toBe(false);
    expect(again.state).toEqual(s);
    expect(again.state.clusterId).toBe('cluster-1');
  });

  it('writes only what changed, and deletes removed topics', async () => {
    const kv = new MemoryMetaKv();
    const { state } = await loadState(kv, () => 'c');
    const withBroker = applyAll(state, [{ type: 'RegisterBroker', brokerId: 1, address: 'h:1', rack: '', incarnation: 'i' }]);
    const a = applyAll(withBroker, [planCreateTopic(withBroker, { name: 'a', partitions: 1, replicationFactor: 1 }, () => 'a1')]);
    const b = applyAll(a, [planCreateTopic(a, { name: 'b', partitions: 1, replicationFactor: 1 }, () => 'b1')]);
    expect(changeOps(a, b).map((o) => o.key)).toEqual(['coordinator/topic/b', 'coordinator/cluster']);
    const c = applyAll(b, [{ type: 'DeleteTopic', name: 'a', topicId: 'a1' }]);
    expect(changeOps(b, c).map((o) => `${o.type} ${o.key}`)).toEqual(['del coordinator/topic/a', 'put coordinator/cluster']);
    expect(changeOps(c, c)).toEqual([]);
  });
});
