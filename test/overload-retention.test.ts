// Issue 18: a consumer slower than retention. Records it has not read are deleted by retention
// while it stalls; on its next read it is told (OFFSET_OUT_OF_RANGE for a plain consumer; the reset
// policy for a group member, with the loss reported to the application), never silently skipped.
// The broker counts it (runnel_consumer_offset_out_of_range_total, runnel_consumer_offsets_lost_total)
// and logs one event naming topic, partition, requested offset and log start.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient, type RecordsLost } from '@runnel/client';
import { RunnelError } from '@runnel/protocol';
import { readLogTail, startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { brokerMetricsEnv, scrape, sum } from './support/broker-metrics.js';

const RETENTION_MS = 1000;

describe('a consumer slower than retention', () => {
  let cluster: Cluster;
  let client: RunnelClient;
  let metricsPort: number;

  beforeAll(async () => {
    const { env, ports } = await brokerMetricsEnv({ ...process.env, RUNNEL_RETENTION_CHECK_INTERVAL_MS: '200' }, 1);
    metricsPort = ports.get(1)!;
    cluster = await startCluster({ brokers: 1, env });
    client = new RunnelClient(cluster.clientOptions());
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: process.env.KEEP === undefined });
  });

  /** Produces one record every 50 ms (each its own batch, so retention deletes them one by one) until stopped. */
  function trickle(topic: string): { stop(): Promise<number> } {
    const producer = client.producer({ acks: 'quorum', lingerMs: 0 });
    let running = true;
    let sent = 0;
    const loop = (async () => {
      while (running) {
        await producer.send(topic, { value: `t${sent}`, partition: 0 });
        sent++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        await producer.close();
        return sent;
      },
    };
  }

  async function logStart(topic: string): Promise<number> {
    return (await client.admin.partitionOffsets(topic))[0]!.logStartOffset;
  }

  it('a plain consumer gets OFFSET_OUT_OF_RANGE after the records it had, and the broker counts and logs the loss', async () => {
    await client.admin.createTopic({ name: 'r', partitions: 1, replicationFactor: 1, config: { retentionMs: RETENTION_MS } });
    const producer = client.producer({ acks: 'quorum', lingerMs: 0 });
    for (let i = 0; i < 5; i++) await producer.send('r', { value: `v${i}`, partition: 0 });
    await producer.close();

    // One record of credit: the broker pushes one batch at a time, so it stops at offset 4.
    const consumer = client.consumer({ topic: 'r', partitions: [0], from: 'earliest', creditRecords: 1 });
    const it = consumer[Symbol.asyncIterator]();
    const offsets: number[] = [];
    for (let i = 0; i < 3; i++) offsets.push((await it.next()).value!.offset);

    const t = trickle('r');
    await waitFor(async () => (await logStart('r')) >= 10, { timeoutMs: 20_000, description: 'retention deleted past what the consumer read' });
    await t.stop();

    let error: unknown;
    try {
      for (;;) {
        const n = await it.next();
        if (n.done === true) break;
        offsets.push(n.value.offset);
      }
    } catch (err) {
      error = err;
    }
    await consumer.close();
    // What it had buffered (offset 3) came first, then the error; nothing past the gap was handed out.
    expect(offsets).toEqual([0, 1, 2, 3]);
    expect(error).toBeInstanceOf(RunnelError);
    expect((error as RunnelError).code).toBe('OFFSET_OUT_OF_RANGE');
    expect((error as RunnelError).message).toMatch(/offset 4 was deleted by retention/);

    const samples = await scrape(metricsPort);
    expect(sum(samples, 'runnel_consumer_offset_out_of_range_total', { topic: 'r', api: 'subscribe' })).toBeGreaterThanOrEqual(1);
    expect(sum(samples, 'runnel_consumer_offsets_lost_total', { topic: 'r', api: 'subscribe' })).toBeGreaterThanOrEqual(6);
    const log = await readLogTail(join(cluster.logDir, 'broker-1.log'), 1 << 20);
    expect(log).toMatch(/"topic":"r","partition":0,"api":"subscribe","requestedOffset":4,"logStartOffset":\d+,"lostOffsets":\d+.*"msg":"consumer offset deleted by retention"/);
  });

  it('a group member applies its reset policy and reports how many records it lost', async () => {
    await client.admin.createTopic({ name: 'g', partitions: 1, replicationFactor: 1, config: { retentionMs: RETENTION_MS } });
    const before = sum(await scrape(metricsPort), 'runnel_consumer_offset_out_of_range_total', { topic: 'g' });

    const lost: RecordsLost[] = [];
    const consumer = client.consumer({
      group: 'slow', topic: 'g', from: 'earliest', creditRecords: 1, autoCommit: false, onRecordsLost: (e) => lost.push(e),
    });
    const it = consumer[Symbol.asyncIterator]();
    const first = it.next();
    // Joined first (it takes longer than the retention): the first records are then read at once.
    await waitFor(() => consumer.assignment().length === 1, { timeoutMs: 20_000, description: 'the member owns g/0' });
    const producer = client.producer({ acks: 'quorum', lingerMs: 0 });
    for (let i = 0; i < 5; i++) await producer.send('g', { value: `v${i}`, partition: 0 });
    await producer.close();
    const offsets: number[] = [];
    offsets.push((await first).value!.offset);
    for (let i = 0; i < 2; i++) offsets.push((await it.next()).value!.offset);

    const t = trickle('g');
    await waitFor(async () => (await logStart('g')) >= 10, { timeoutMs: 20_000, description: 'retention deleted past what the member read' });
    // Read on while records keep coming, until past the gap.
    let resumedAt: number | undefined;
    try {
      for (;;) {
        const n = await it.next();
        if (n.done === true) break;
        offsets.push(n.value.offset);
        if (n.value.offset > 4) {
          resumedAt = n.value.offset;
          break;
        }
      }
    } finally {
      await t.stop();
      await consumer.close();
    }
    expect(offsets.slice(0, 4)).toEqual([0, 1, 2, 3]);
    expect(resumedAt).toBeGreaterThanOrEqual(10);
    // The jump is reported, exactly: from the offset refused to the one the reset policy resumed at.
    expect(lost).toEqual([{ topic: 'g', partition: 0, requestedOffset: 4, resumedOffset: resumedAt, records: resumedAt! - 4, reset: 'earliest' }]);
    const after = sum(await scrape(metricsPort), 'runnel_consumer_offset_out_of_range_total', { topic: 'g' });
    expect(after).toBeGreaterThan(before);
  });
});
