// Replication factor 3, QUORUM acks, real processes behind fault proxies: a leader cut off from both
// of its followers, but still heard by the coordinator and by clients, gives up its leadership within
// seconds (it reports itself isolated; the coordinator elects one of the others, which can form a
// majority), so writes go on during the cut and nothing acknowledged is lost.
import { describe, expect, it } from 'vitest';
import { waitFor } from '@runnel/testkit';
import { checkReplicasOnDisk, partitionInfo, replicatedClusterFixture, waitFullyInSync } from './support/replicated-cluster.js';

describe('leader isolated from its followers', () => {
  const fixture = replicatedClusterFixture({ networkFaults: true });

  it('loses its leadership to a follower within seconds while the cut lasts; every acknowledged record survives on every replica', async () => {
    const { cluster, client, topic, producer, load } = await fixture.startUnderLoad('isolated', { workers: 4, partition: 0, acksBefore: 300 });

    const before = await partitionInfo(client, 'isolated', 0);
    const followers = before.replicas.filter((b) => b !== before.leader);
    for (const f of followers) cluster.network!.cut(`broker-${before.leader}`, `broker-${f}`);
    const cutAt = Date.now();
    const after = await waitFor(async () => {
      const p = await partitionInfo(client, 'isolated', 0);
      return p.leader >= 0 && p.leader !== before.leader ? p : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100, description: 'a new leader while the old one is cut from its followers' });
    const movedMs = Date.now() - cutAt;
    expect(followers).toContain(after.leader);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    const movedAt = Date.now();
    await waitFor(() => load.ackedSince(movedAt) >= 200, { timeoutMs: 30_000, description: '200 acks from the new leader during the cut' });
    process.stdout.write(`leader ${before.leader} cut from its followers: leadership on broker ${after.leader} after ${movedMs} ms; first ack after the move ${load.firstAckAfter(movedAt)! - cutAt} ms after the cut\n`);

    cluster.network!.heal();
    await load.stop();
    await producer.close();
    await waitFullyInSync(client, 'isolated');

    const acked = load.ackedOffsets(0);
    const lastAcked = Math.max(...acked.values());
    const consumer = client.consumer({ topic: 'isolated', from: 'earliest' });
    const read = new Map<number, string>();
    for await (const r of consumer) {
      read.set(r.offset, r.value.toString());
      if (r.offset >= lastAcked) break;
    }
    for (const [value, offset] of acked) expect(read.get(offset), `${value}@${offset}`).toBe(value);
    // The old leader's uncommitted tail was truncated: all three replicas agree, every ack on each.
    expect(await checkReplicasOnDisk(cluster, topic.topicId, 0, before.replicas, acked)).toEqual([]);
  });
});
