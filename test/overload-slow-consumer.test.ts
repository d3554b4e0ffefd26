// Issue 18: a slow consumer never costs the broker memory; the log is the buffer. One producer at
// full speed for RUNNEL_OVERLOAD_SECONDS (default 60) against 3 brokers (replication 3), one group
// member processing 100 records/s. Every broker's RSS stays within a bound relative to its idle RSS,
// the group's lag is visible the whole time (admin describeGroup and the broker metric
// runnel_consumer_group_lag_records), and afterwards the member catches up at full speed and reads
// every acknowledged record exactly once, in offset order. The client's memory is bounded too
// (credit window per partition), so the test process's heap stays flat while the backlog grows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { brokerMetricsEnv, rssBytes, scrape, type Sample } from './support/broker-metrics.js';

const SECONDS = Number(process.env.RUNNEL_OVERLOAD_SECONDS ?? 60);
const TOPIC = 'backlog';
const GROUP = 'slow-readers';
const SLOW_RATE_PER_S = 100;
const VALUE_BYTES = 1000;
const RECORDS_PER_SEND = 200;
const SENDS_IN_FLIGHT = 16;
const SAMPLE_MS = 500;
const MB = 1024 * 1024;
/**
 * Broker RSS bound: 2x idle plus a fixed allowance for LevelDB's write buffers, block cache and
 * mapped table files, the replication windows and gRPC buffers under full-speed produce. Measured
 * at 60 s on 2 loaded cores: idle ~92 MB, max 167-309 MB (the leader highest) with a ~470 MB
 * backlog. A broker that kept the backlog in memory would exceed it; the summary line prints the
 * backlog so a run too slow to tell (backlog below the allowance) shows as such.
 */
const BROKER_RSS_ALLOWANCE_BYTES = 256 * MB;
/** Test-process heap growth bound while the backlog grows (the consumer buffers one credit window). */
const CLIENT_HEAP_GROWTH_BYTES_MAX = 192 * MB;

const mb = (b: number): number => Math.round(b / MB);
const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function groupLagMetric(samples: readonly Sample[]): number | undefined {
  const s = samples.find((x) => x.name === 'runnel_consumer_group_lag_records' && x.labels.group === GROUP && x.labels.topic === TOPIC);
  return s?.value;
}

describe('a slow consumer under a full-speed producer', () => {
  let cluster: Cluster;
  let client: RunnelClient;
  let metricsPorts: number[];

  beforeAll(async () => {
    const { env, ports } = await brokerMetricsEnv(process.env, 3);
    metricsPorts = [...ports.values()];
    cluster = await startCluster({ brokers: 3, env, ...(process.env.RUNNEL_OVERLOAD_FSYNC === undefined ? {} : { fsync: process.env.RUNNEL_OVERLOAD_FSYNC as 'never' }) });
    client = new RunnelClient({ ...cluster.clientOptions(), retry: { retriesMax: 20, initialBackoffMs: 50, backoffMsMax: 1000 } });
    await client.admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3 });
  });

  afterAll(async () => {
    await client?.close();
    await cluster?.stopAll({ removeData: process.env.KEEP === undefined });
  });

  it(`keeps broker memory bounded, shows the lag, then catches up missing nothing (${SECONDS} s)`, async () => {
    const pids = cluster.brokers.map((b) => b.pid!);
    const rssAll = async (): Promise<Array<{ rss: number; anon: number }>> => Promise.all(pids.map(async (p) => (await rssBytes(p)) ?? { rss: 0, anon: 0 }));
    // Idle: the largest of a few samples (a GC can be mid-way at any one).
    const idle = [0, 0, 0];
    for (let i = 0; i < 4; i++) {
      (await rssAll()).forEach((r, j) => { idle[j] = Math.max(idle[j]!, r.rss); });
      await sleepMs(250);
    }
    const maxRss = [...idle];
    const maxAnon = [0, 0, 0];
    const heapStart = process.memoryUsage().heapUsed;
    let heapMax = heapStart;

    // The member joins first, so the lag is visible from the first produced record on.
    let catchingUp = false;
    let consumed = 0;
    let lastOffset = -1;
    const problems: string[] = [];
    const seen = new Set<number>();
    const consumer = client.consumer({ group: GROUP, topic: TOPIC, from: 'earliest' });
    const iterator = consumer[Symbol.asyncIterator]();
    const firstRecord = iterator.next();
    await waitFor(() => consumer.assignment().length === 1, { timeoutMs: 30_000, description: 'the member owns the partition' });

    // The producer: SENDS_IN_FLIGHT loops of RECORDS_PER_SEND records each, for SECONDS.
    const producer = client.producer({ acks: 'quorum' });
    const ackedAt: number[] = []; // offset -> sequence number + 1
    let produced = 0;
    let seq = 0;
    const padding = 'x'.repeat(VALUE_BYTES);
    const produceUntil = Date.now() + SECONDS * 1000;
    const loops = Array.from({ length: SENDS_IN_FLIGHT }, async () => {
      while (Date.now() < produceUntil) {
        const first = seq;
        seq += RECORDS_PER_SEND;
        const records = Array.from({ length: RECORDS_PER_SEND }, (_, i) => ({ value: `${first + i}:${padding}`, partition: 0 }));
        const meta = await producer.send(TOPIC, records);
        meta.forEach((m, i) => { ackedAt[m.offset] = first + i + 1; });
        produced += meta.length;
      }
    });

    // The member: 100 records/s while the producer runs, then as fast as it can.
    const slowStart = Date.now();
    const reading = (async () => {
      for (let n = await firstRecord; n.done !== true; n = await iterator.next()) {
        const r = n.value;
        if (r.offset <= lastOffset) problems.push(`offset ${r.offset} after ${lastOffset}`);
        lastOffset = r.offset;
        const s = Number(r.value.toString('utf8', 0, r.value.indexOf(':')));
        if (seen.has(s)) problems.push(`record ${s} read twice`);
        seen.add(s);
        const want = ackedAt[r.offset];
        if (want !== undefined && want !== s + 1) problems.push(`offset ${r.offset} holds ${s}, acknowledged ${want - 1}`);
        consumed++;
        if (!catchingUp) {
          const due = slowStart + (consumed * 1000) / SLOW_RATE_PER_S - Date.now();
          if (due > 0) await sleepMs(due);
        }
        if (catchingUp && consumed >= produced && seen.size >= produced) {
          // The last record's loop body is still running, so commit what was returned, not processed.
          await consumer.commit();
          await consumer.close();
          break;
        }
      }
    })();

    // Samples: RSS of every broker, the test process's heap, and the lag both ways.
    const lags: Array<{ tMs: number; admin: number | undefined; metric: number | undefined }> = [];
    let sampling = true;
    const sampleErrors: string[] = [];
    const sampler = (async () => {
      while (sampling) {
        (await rssAll()).forEach((r, j) => {
          maxRss[j] = Math.max(maxRss[j]!, r.rss);
          maxAnon[j] = Math.max(maxAnon[j]!, r.anon);
        });
        heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
        const g = await client.admin.describeGroup(GROUP).catch((err: unknown) => { sampleErrors.push(String(err)); return undefined; });
        const admin = g?.partitions.find((p) => p.topic === TOPIC && p.partition === 0)?.lag;
        const scraped = await Promise.all(metricsPorts.map((port) => scrape(port).then(groupLagMetric, () => undefined)));
        const metric = scraped.reduce<number | undefined>((a, v) => (v === undefined ? a : Math.max(a ?? 0, v)), undefined);
        lags.push({ tMs: Date.now() - slowStart, admin, metric });
        await sleepMs(SAMPLE_MS);
      }
    })();

    await Promise.all(loops);
    await producer.close();
    const slowMs = Date.now() - slowStart;
    const consumedSlow = consumed;
    catchingUp = true;
    const catchUpStart = Date.now();
    await waitFor(() => consumed >= produced && seen.size >= produced, {
      timeoutMs: Math.max(120_000, SECONDS * 10_000), intervalMs: 200, description: `the member to read all ${produced} acknowledged records`,
    }).catch((err: unknown) => { throw new Error(`${String(err)}; read ${consumed}, distinct ${seen.size}`); });
    const catchUpS = (Date.now() - catchUpStart) / 1000;
    await reading;
    await consumer.close();
    const maxLag = Math.max(...lags.map((l) => l.admin ?? 0));
    if (sampleErrors.length > 0) console.log(`describeGroup failures: ${sampleErrors.slice(0, 3).join('; ')}`);
    const catchUpRate = Math.round((produced - consumedSlow) / catchUpS);
    console.log(
      `overload-slow-consumer (${SECONDS} s): idle RSS MB [${idle.map(mb).join(', ')}], max RSS MB [${maxRss.map(mb).join(', ')}] (anonymous [${maxAnon.map(mb).join(', ')}]), `
      + `backlog MB ${mb((produced - consumedSlow) * (VALUE_BYTES + 10))}, `
      + `records produced ${produced} (${Math.round(produced / (slowMs / 1000))}/s), read slowly ${consumedSlow}, max lag ${maxLag}, `
      + `catch-up ${catchUpRate} records/s (${catchUpS.toFixed(1)} s), client heap MB ${mb(heapStart)} -> max ${mb(heapMax)}`,
    );

    // Everything was committed: lag 0.
    await waitFor(async () => {
      const g = await client.admin.describeGroup(GROUP);
      if (g.partitions.find((p) => p.topic === TOPIC)?.lag !== 0) return false;
      const scraped = await Promise.all(metricsPorts.map((port) => scrape(port).then(groupLagMetric)));
      return scraped.some((v) => v === 0) && scraped.every((v) => v === undefined || v === 0);
    }, { timeoutMs: 10_000, description: 'lag 0 (describeGroup and metric) after the member read everything' });
    sampling = false;
    await sampler;

    expect(problems.slice(0, 10)).toEqual([]);
    expect(seen.size).toBe(produced);
    for (let j = 0; j < 3; j++) expect(maxRss[j]!, `broker ${j + 1} RSS`).toBeLessThan(2 * idle[j]! + BROKER_RSS_ALLOWANCE_BYTES);
    expect(heapMax - heapStart).toBeLessThan(CLIENT_HEAP_GROWTH_BYTES_MAX);
    // Visible the whole time: every sample of the slow phase after the first commit shows lag,
    // in describeGroup and in the broker metric, and the lag reached the backlog's size.
    const firstCommitMs = lags.find((l) => l.admin !== undefined)?.tMs ?? Infinity;
    expect(firstCommitMs, 'the first commit (auto-commit every second) within 15 s').toBeLessThan(15_000);
    const slowPhase = lags.filter((l) => l.tMs >= firstCommitMs && l.tMs <= slowMs);
    expect(slowPhase.length).toBeGreaterThan(0);
    // A sample may fail to be taken under load (a describe or scrape timing out), but none may read 0.
    expect(slowPhase.filter((l) => l.admin === 0 || l.metric === 0)).toEqual([]);
    expect(slowPhase.filter((l) => l.admin === undefined).length, JSON.stringify(slowPhase)).toBeLessThanOrEqual(slowPhase.length / 10);
    expect(slowPhase.filter((l) => l.metric === undefined).length, JSON.stringify(slowPhase)).toBeLessThanOrEqual(slowPhase.length / 10);
    expect(maxLag).toBeGreaterThan((produced - consumedSlow) / 2);
  }, Math.max(180_000, SECONDS * 15_000));
});
