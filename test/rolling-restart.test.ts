// Rolling restart of every broker under QUORUM load, with controlled shutdown (SIGTERM): leaderships
// move before each broker stops, so no produce fails; preferred leaders come back afterwards.
import { describe, expect, it } from 'vitest';
import { waitFor } from '@runnel/testkit';
import { checkReplicasOnDisk, replicatedClusterFixture, waitFullyInSync } from './support/replicated-cluster.js';

describe('rolling restart', () => {
  const fixture = replicatedClusterFixture();

  it('restarts every broker one by one under QUORUM load with zero failed produces', async () => {
    const { cluster, client, topic, producer, load } = await fixture.startUnderLoad('rolling', { partitions: 3, workers: 6, acksBefore: 500 });

    for (const broker of cluster.brokers.map((b) => b.id)) {
      const ackedBefore = load.acked.size;
      await cluster.stop(broker); // SIGTERM: controlled shutdown first; rejects on a non-zero exit
      await cluster.restart(broker);
      await waitFullyInSync(client, 'rolling');
      await waitFor(() => load.acked.size >= ackedBefore + 300, { timeoutMs: 30_000, description: `progress after restarting broker ${broker}` });
    }
    await waitFor(
      async () => (await client.admin.describeTopic('rolling')).partitions.every((p) => p.leader === p.replicas[0]),
      { timeoutMs: 30_000, description: 'preferred leaders back' },
    );
    await load.stop();
    await producer.close();
    expect(load.failures).toEqual([]);

    const info = await client.admin.describeTopic('rolling');
    for (const p of info.partitions) {
      // checkReplicasOnDisk stops the cluster first; later calls find it stopped already.
      // The load ran until just now: the last acknowledged batches are on a majority, maybe not yet on all three.
      const majority = Math.floor(p.replicas.length / 2) + 1;
      expect(await checkReplicasOnDisk(cluster, topic.topicId, p.partition, p.replicas, load.ackedOffsets(p.partition), majority)).toEqual([]);
    }
  });
});
