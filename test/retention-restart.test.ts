// Issue 11, item 1: a replicated partition that retention emptied (log start = LEO = HW > 0 on every
// replica) must survive a restart of the whole cluster. Before the fix both followers died on every
// start with "truncation to 0 below HW" (the new leader took their epoch-less fetch for divergence).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { readLogTail, startCluster, waitFor } from '@runnel/testkit';
import type { Cluster, ExitInfo } from '@runnel/testkit';

describe('retention then a whole-cluster restart', () => {
  let cluster: Cluster;
  let client: RunnelClient | undefined;
  const unexpectedExits: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      brokers: 3,
      sessionTimeoutMs: 1500,
      heartbeatIntervalMs: 300,
      env: { ...process.env, RUNNEL_RETENTION_CHECK_INTERVAL_MS: '200' },
      onUnexpectedExit: (node, exit: ExitInfo) => unexpectedExits.push(`${node.role} ${node.id} exited (code ${exit.code}, signal ${exit.signal})`),
    });
    client = new RunnelClient({ ...cluster.clientOptions(), retry: { retriesMax: 20, initialBackoffMs: 50, backoffMsMax: 500 } });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: process.env.KEEP === undefined });
  });

  async function brokerLogs(): Promise<string[]> {
    return Promise.all(cluster.brokers.map((b) => readLogTail(join(cluster.logDir, `broker-${b.id}.log`), 1 << 20)));
  }

  it('restarts every broker after retention emptied a partition: no replica crashes, and it takes writes again', async () => {
    await client!.admin.createTopic({ name: 'r', partitions: 1, replicationFactor: 3, config: { retentionMs: 1000 } });
    const producer = client!.producer({ acks: 'quorum', lingerMs: 0 });
    for (let i = 0; i < 3; i++) await producer.send('r', { value: `v${i}`, partition: 0 });
    await producer.close();

    // Every replica (leader and followers alike) deletes the three records below its HW.
    const emptiedLine = /"logStartOffset":3,"msg":"retention deleted old batches"/;
    await waitFor(async () => (await brokerLogs()).every((l) => emptiedLine.test(l)), {
      timeoutMs: 20_000, description: 'retention emptied the log on all three replicas',
    });
    const emptied = (await client!.admin.partitionOffsets('r'))[0]!;
    expect([emptied.logStartOffset, emptied.highWatermark, emptied.logEndOffset]).toEqual([3, 3, 3]);

    await client!.close();
    client = undefined;
    for (const b of cluster.brokers) await cluster.stop(b.id);
    for (const b of cluster.brokers) await cluster.restart(b.id);
    client = new RunnelClient({ ...cluster.clientOptions(), retry: { retriesMax: 20, initialBackoffMs: 50, backoffMsMax: 500 } });

    // The partition is online with all three replicas in sync, and a QUORUM write is acknowledged.
    let seen = '';
    await waitFor(async () => {
      const p = (await client!.admin.describeTopic('r')).partitions[0]!;
      seen = JSON.stringify(p);
      return p.state === 'PARTITION_STATE_ONLINE' && p.inSyncReplicas.length === 3;
    }, { timeoutMs: 30_000, description: "r/0 online with three in-sync replicas after the restart" }).catch((err: unknown) => { throw new Error(`${String(err)}; last seen ${seen}`); });
    const after = client!.producer({ acks: 'quorum', lingerMs: 0 });
    const [m] = await after.send('r', { value: 'after', partition: 0 });
    await after.close();
    expect(m!.offset).toBeGreaterThanOrEqual(emptied.highWatermark);
    await waitFor(async () => (await client!.admin.describeTopic('r')).partitions[0]!.inSyncReplicas.length === 3, {
      timeoutMs: 10_000, description: 'every replica has the new record',
    });

    expect(unexpectedExits).toEqual([]);
    for (const log of await brokerLogs()) expect(log).not.toMatch(/AssertionError|below HW/);
  });

  it('a follower that was down while the leader\'s retention deleted past its log end starts again at the leader\'s log start and catches up', async () => {
    await client!.admin.createTopic({ name: 'lag', partitions: 1, replicationFactor: 3, config: { retentionMs: 1000 } });
    const producer = client!.producer({ acks: 'quorum', lingerMs: 0 });
    await producer.send('lag', { value: 'a', partition: 0 });
    const info = (await client!.admin.describeTopic('lag')).partitions[0]!;
    const follower = info.replicas.find((id) => id !== info.leader)!;
    await cluster.stop(follower);
    for (let i = 0; i < 3; i++) await producer.send('lag', { value: `b${i}`, partition: 0 });
    await producer.close();
    // The leader deletes everything, including what the stopped follower never got.
    await waitFor(async () => (await client!.admin.partitionOffsets('lag'))[0]!.logStartOffset === 4, {
      timeoutMs: 20_000, description: 'the leader\'s retention past the stopped follower\'s log end',
    });
    await cluster.restart(follower);
    await waitFor(async () => (await client!.admin.describeTopic('lag')).partitions[0]!.inSyncReplicas.length === 3, {
      timeoutMs: 20_000, description: 'the restarted follower back in sync',
    });
    const log = await readLogTail(join(cluster.logDir, `broker-${follower}.log`), 1 << 20);
    expect(log).toContain('log started again there');
    expect(unexpectedExits).toEqual([]);
  });
});
