// kill -9 of a partition's broker under QUORUM produce load (fsync always, replication 1): after it
// restarts, every acknowledged record is there at its acknowledged offset, and nothing corrupt is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';

describe('broker kill -9', () => {
  let cluster: Cluster;
  let client: RunnelClient;

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 2, sessionTimeoutMs: 1000, heartbeatIntervalMs: 200, fsync: 'always' });
    client = new RunnelClient({ bootstrap: cluster.bootstrap, retry: { retriesMax: 2, initialBackoffMs: 20, backoffMsMax: 100 } });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('loses no acknowledged record', async () => {
    const topic = await client.admin.createTopic({ name: 'crash', partitions: 1, replicationFactor: 1 });
    const leader = cluster.node(topic.partitions[0]!.leader);
    const producer = client.producer({ acks: 'quorum', lingerMs: 1 });
    const acked = new Map<string, number>();
    let stop = false;
    let seq = 0;
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        const value = `w${w}-${seq++}`;
        try {
          const [m] = await producer.send('crash', { value, partition: 0 });
          acked.set(value, m!.offset);
        } catch {
          return; // the broker is gone: outcome unknown for this one, stop this worker
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await waitFor(() => acked.size >= 1500, { timeoutMs: 30_000 });
    await cluster.kill(leader);
    stop = true;
    await Promise.all(workers);
    await producer.close().catch(() => undefined);
    const ackedBeforeKill = new Map(acked);
    expect(ackedBeforeKill.size).toBeGreaterThanOrEqual(1500);

    await cluster.restart(leader);
    const consumer = client.consumer({ topic: 'crash', from: 'earliest' });
    const read = new Map<number, string>();
    const maxAcked = Math.max(...ackedBeforeKill.values());
    const timer = setTimeout(() => void consumer.close(), 30_000);
    for await (const r of consumer) {
      expect(read.has(r.offset)).toBe(false);
      read.set(r.offset, r.value.toString());
      if (r.offset >= maxAcked) break;
    }
    clearTimeout(timer);
    await consumer.close();
    for (const [value, offset] of ackedBeforeKill) expect(read.get(offset), `acked ${value}@${offset}`).toBe(value);
    // Offsets only grow (control batches, such as a new leader's epoch-start marker, take offsets
    // that consumers never see).
    const offsets = [...read.keys()];
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
  });
});
