// Replication factor 3, QUORUM acks, real processes: kill -9 of the leader under load loses no
// acknowledged record, and losing two of three replicas takes the partition offline until one returns.
import { describe, expect, it } from 'vitest';
import { waitFor } from '@runnel/testkit';
import { failure, rawBroker } from './grpc-raw.js';
import { checkReplicasOnDisk, partitionInfo, replicatedClusterFixture, waitFullyInSync } from './support/replicated-cluster.js';

describe('leader failure', () => {
  const fixture = replicatedClusterFixture();

  it('kill -9 of the leader under QUORUM load: every acknowledged record survives, on every replica, at its offset', async () => {
    const { cluster, client, topic, producer, load } = await fixture.startUnderLoad('kill-leader', { workers: 6, partition: 0, acksBefore: 1000 });

    const before = await partitionInfo(client, 'kill-leader', 0);
    await cluster.kill(before.leader);
    const killedAt = Date.now();
    await waitFor(() => load.ackedSince(killedAt) >= 500, { timeoutMs: 30_000, description: '500 acks after the kill' });
    const failoverMs = load.firstAckAfter(killedAt)! - killedAt;
    const after = await partitionInfo(client, 'kill-leader', 0);
    expect(after.leader).not.toBe(before.leader);
    expect(after.leaderEpoch).toBeGreaterThan(before.leaderEpoch);
    process.stdout.write(`failover: kill -9 of leader ${before.leader} -> first acknowledged produce on leader ${after.leader}: ${failoverMs} ms\n`);

    await cluster.restart(before.leader);
    await load.stop();
    await producer.close();
    await waitFullyInSync(client, 'kill-leader');

    // Read back through the leader: every acknowledged value at its offset, offsets increasing.
    const acked = load.ackedOffsets(0);
    const consumer = client.consumer({ topic: 'kill-leader', from: 'earliest' });
    const read = new Map<number, string>();
    const lastAcked = Math.max(...acked.values());
    let previous = -1;
    for await (const r of consumer) {
      expect(r.offset).toBeGreaterThan(previous);
      previous = r.offset;
      read.set(r.offset, r.value.toString());
      if (r.offset >= lastAcked) break;
    }
    for (const [value, offset] of acked) expect(read.get(offset), `${value}@${offset}`).toBe(value);

    // And on disk, on all three replicas.
    expect(await checkReplicasOnDisk(cluster, topic.topicId, 0, before.replicas, acked)).toEqual([]);
  });

  it('losing two of three replicas takes the partition offline with a clear error; one returning brings it back without loss', async () => {
    const { cluster, client } = await fixture.start();
    const topic = await client.admin.createTopic({ name: 'two-down', partitions: 1, replicationFactor: 3 });
    await waitFullyInSync(client, 'two-down');
    const producer = client.producer({ acks: 'quorum' });
    const sent = await Promise.all(Array.from({ length: 300 }, (_, i) => producer.send('two-down', { value: `v${i}`, partition: 0 })));
    const acked = new Map(sent.map((m, i) => [`v${i}`, m[0]!.offset]));

    const p = await partitionInfo(client, 'two-down', 0);
    const follower = p.replicas.find((b) => b !== p.leader)!;
    const survivor = p.replicas.find((b) => b !== p.leader && b !== follower)!;
    await cluster.kill(p.leader);
    await cluster.kill(follower);
    await waitFor(async () => (await partitionInfo(client, 'two-down', 0)).state === 'PARTITION_STATE_OFFLINE', { timeoutMs: 20_000, description: 'partition offline' });
    const offline = await partitionInfo(client, 'two-down', 0);
    expect(offline.leader).toBe(-1);

    const broker = rawBroker(cluster.node(survivor).address);
    try {
      const f = await failure(broker, 'Produce', { topic: 'two-down', partition: 0, records: [{ value: Buffer.from('x') }] });
      expect(f.errorCode).toBe('PARTITION_OFFLINE');
      expect(f.retriable).toBe('true');
      expect(f.details).toMatch(/offline|no leader/i);
    } finally {
      broker.close();
    }

    await cluster.restart(p.leader);
    await waitFor(async () => (await partitionInfo(client, 'two-down', 0)).leader >= 0, { timeoutMs: 30_000, description: 'partition back online' });
    const more = await producer.send('two-down', { value: 'after', partition: 0 });
    expect(more[0]!.offset).toBeGreaterThan(Math.max(...acked.values()));
    acked.set('after', more[0]!.offset);
    await producer.close();

    const consumer = client.consumer({ topic: 'two-down', from: 'earliest' });
    const read = new Map<number, string>();
    for await (const r of consumer) {
      read.set(r.offset, r.value.toString());
      if (r.value.toString() === 'after') break;
    }
    for (const [value, offset] of acked) expect(read.get(offset), `${value}@${offset}`).toBe(value);
    expect(topic.topicId).toBeTruthy();
  });
});
