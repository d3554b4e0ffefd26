// Replication factor 3, QUORUM acks, real processes: a follower's kill -9 and restart, and a leader
// paused (SIGSTOP) past the session timeout then resumed (SIGCONT) - fenced, it truncates what was
// not committed, and nothing acknowledged is lost.
import { describe, expect, it } from 'vitest';
import { waitFor } from '@runnel/testkit';
import { SESSION_TIMEOUT_MS, checkReplicasOnDisk, partitionInfo, replicatedClusterFixture, waitFullyInSync } from './support/replicated-cluster.js';

describe('follower and paused-leader failures', () => {
  const fixture = replicatedClusterFixture();

  it('kill -9 of a follower: the high watermark keeps moving; restarted, it catches up', async () => {
    const { cluster, client, topic, producer, load } = await fixture.startUnderLoad('kill-follower', { workers: 4, partition: 0, acksBefore: 500 });

    const p = await partitionInfo(client, 'kill-follower', 0);
    const follower = p.replicas.find((b) => b !== p.leader)!;
    await cluster.kill(follower);
    const killedAt = Date.now();
    const hwAtKill = (await client.admin.partitionOffsets('kill-follower'))[0]!.highWatermark;
    await waitFor(() => load.ackedSince(killedAt) >= 1000, { timeoutMs: 30_000, description: 'acks while the follower is down' });
    const hwWhileDown = (await client.admin.partitionOffsets('kill-follower'))[0]!.highWatermark;
    expect(hwWhileDown).toBeGreaterThan(hwAtKill + 500);
    expect((await partitionInfo(client, 'kill-follower', 0)).leader).toBe(p.leader);

    await cluster.restart(follower);
    await waitFullyInSync(client, 'kill-follower');
    await load.stop();
    await producer.close();
    expect(load.failures).toEqual([]);
    expect(await checkReplicasOnDisk(cluster, topic.topicId, 0, p.replicas, load.ackedOffsets(0))).toEqual([]);
  });

  it('a leader paused past the session timeout is replaced and fenced, then rejoins without losing anything acknowledged', async () => {
    const { cluster, client, topic, producer, load } = await fixture.startUnderLoad('pause-leader', { workers: 4, partition: 0, acksBefore: 500 });

    const before = await partitionInfo(client, 'pause-leader', 0);
    await cluster.pause(before.leader);
    const pausedAt = Date.now();
    await waitFor(async () => (await partitionInfo(client, 'pause-leader', 0)).leader !== before.leader, {
      timeoutMs: SESSION_TIMEOUT_MS * 10,
      description: 'a new leader while the old one is paused',
    });
    await waitFor(() => load.ackedSince(pausedAt) >= 300, { timeoutMs: 30_000, description: 'acks on the new leader' });
    const during = await partitionInfo(client, 'pause-leader', 0);
    expect(during.leaderEpoch).toBeGreaterThan(before.leaderEpoch);

    await cluster.resume(before.leader);
    await waitFullyInSync(client, 'pause-leader');
    await load.stop();
    await producer.close();
    expect(await checkReplicasOnDisk(cluster, topic.topicId, 0, before.replicas, load.ackedOffsets(0))).toEqual([]);
  });
});
