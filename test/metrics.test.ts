// Prometheus metrics on a real cluster: a coordinator and 2 brokers as processes on 127.0.0.1, each
// started with its own --metrics-port (the testkit gives every node the same environment, so this
// test spawns the built mains itself). A produce load, a consumer group that commits, then scrapes
// of every process's GET /metrics over HTTP: non-zero produce counters, a filled latency
// histogram, partitions led, event-loop lag, fsync latency, delivered records, follower lag,
// consumer-group lag; the coordinator's cluster gauges and election counters; /healthz and 404.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnelClient } from '@runnel/client';
import { locateMain, waitFor } from '@runnel/testkit';
import { freePorts, parseMetrics, sum, type Sample } from './support/broker-metrics.js';

const TOPIC = 'metered';
const GROUP = 'metered-readers';
const PARTITIONS = 2;
const FIRST_LOAD = 600;
const SECOND_LOAD = 150;
const READY_TIMEOUT_MS = 20_000;

function has(samples: readonly Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

async function get(port: number, urlPath: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function scrape(port: number): Promise<Sample[]> {
  const res = await get(port, '/metrics');
  expect(res.status).toBe(200);
  expect(res.type).toContain('text/plain');
  return parseMetrics(res.body);
}

interface Node {
  readonly child: ChildProcess;
  readonly address: string;
  readonly metricsPort: number;
}

/** Starts a built main with an IPC channel and resolves with its address once it reports ready. */
function startNode(role: 'coordinator' | 'broker', args: readonly string[], metricsPort: number, logFile: string): Promise<Node> {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(process.execPath, [locateMain(role), ...args, '--metrics-port', String(metricsPort), '--log-level', 'warn'], {
    stdio: ['ignore', log, log, 'ipc'],
  });
  fs.closeSync(log);
  return new Promise<Node>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${role} not ready within ${READY_TIMEOUT_MS} ms; see ${logFile}`));
    }, READY_TIMEOUT_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${role} exited before ready (code ${code}, signal ${signal}); see ${logFile}`));
    });
    child.on('message', (m: { type?: string; address?: string }) => {
      if (m.type !== 'ready' || typeof m.address !== 'string') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ child, address: m.address, metricsPort });
    });
  });
}

/** SIGTERM, then SIGKILL if it has not exited within 15 s. */
function stopNode(node: Node | undefined): Promise<void> {
  if (node === undefined || node.child.exitCode !== null || node.child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => node.child.kill('SIGKILL'), 15_000);
    node.child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    node.child.kill('SIGTERM');
  });
}

describe('Prometheus metrics of a real cluster', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'runnel-metrics-'));
  let coordinator: Node | undefined;
  const brokers: Node[] = [];
  let client: RunnelClient | undefined;
  let valueBytes = 0;

  beforeAll(async () => {
    const [coordinatorMetrics = 0, ...brokerMetrics] = await freePorts(3);
    coordinator = await startNode('coordinator', [
      '--data-dir', path.join(dataDir, 'coordinator'), '--port', '0', '--session-timeout-ms', '2000', '--heartbeat-interval-ms', '200',
    ], coordinatorMetrics, path.join(dataDir, 'coordinator.log'));
    const coordinatorAddress = coordinator.address;
    brokers.push(...await Promise.all(brokerMetrics.map((port, i) => startNode('broker', [
      '--id', String(i + 1), '--data-dir', path.join(dataDir, `broker-${i + 1}`), '--port', '0', '--coordinator', coordinatorAddress, '--fsync', 'always',
    ], port, path.join(dataDir, `broker-${i + 1}.log`)))));
    client = new RunnelClient({ bootstrap: coordinatorAddress });
    await client.admin.createTopic({ name: TOPIC, partitions: PARTITIONS, replicationFactor: 2 });

    // The load: FIRST_LOAD records with acks quorum (the default), a few with acks leader.
    const producer = client.producer({ lingerMs: 1 });
    const leaderAcks = client.producer({ acks: 'leader' });
    const sends = Array.from({ length: FIRST_LOAD }, (_, i) => {
      const value = `value-${i}-${'x'.repeat(100)}`;
      valueBytes += value.length;
      return producer.send(TOPIC, { key: `k${i % 20}`, value });
    });
    sends.push(leaderAcks.send(TOPIC, { key: 'leader-acked', value: 'v' }));
    valueBytes += 1;
    await Promise.all(sends);
    await producer.flush();
    await leaderAcks.flush();

    // A consumer group reads all of it and commits, then more is produced: its lag is SECOND_LOAD.
    const consumer = client.consumer({ group: GROUP, topic: TOPIC, from: 'earliest', autoCommit: false });
    const records = consumer[Symbol.asyncIterator]();
    for (let read = 0; read < FIRST_LOAD + 1; read++) expect((await records.next()).done).toBe(false);
    await consumer.commit();
    await consumer.close();
    await Promise.all(Array.from({ length: SECOND_LOAD }, (_, i) => producer.send(TOPIC, { key: `k${i % 20}`, value: `late-${i}` })));
    await producer.flush();
    await producer.close();
    await leaderAcks.close();
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await Promise.all(brokers.map((b) => stopNode(b)));
    await stopNode(coordinator);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('brokers count produce requests, records and bytes by topic and ack level, and time them', async () => {
    const scrapes = await Promise.all(brokers.map((b) => scrape(b.metricsPort)));
    const total = (name: string, labels: Record<string, string> = {}): number => scrapes.reduce((a, s) => a + sum(s, name, labels), 0);
    expect(total('runnel_produce_requests_total', { topic: TOPIC, acks: 'quorum' })).toBeGreaterThan(0);
    expect(total('runnel_produce_requests_total', { topic: TOPIC, acks: 'leader' })).toBe(1);
    expect(total('runnel_produce_records_total', { topic: TOPIC })).toBe(FIRST_LOAD + 1 + SECOND_LOAD);
    expect(total('runnel_produce_bytes_total', { topic: TOPIC })).toBeGreaterThan(valueBytes);
    // The group's commit is a produce to __offsets, by the broker itself.
    expect(total('runnel_produce_requests_total', { topic: '__offsets' })).toBeGreaterThan(0);
    // Latency histogram: one observation per request answered, in cumulative buckets.
    const answered = total('runnel_produce_duration_seconds_count', { acks: 'quorum' });
    expect(answered).toBeGreaterThan(0);
    expect(total('runnel_produce_duration_seconds_bucket', { acks: 'quorum', le: '+Inf' })).toBe(answered);
    expect(total('runnel_produce_duration_seconds_sum', { acks: 'quorum' })).toBeGreaterThan(0);
    expect(total('runnel_produce_errors_total')).toBe(0);
  });

  it('brokers report partitions led, fsync latency, deliveries, follower lag and event-loop lag', async () => {
    const scrapes = await Promise.all(brokers.map((b) => scrape(b.metricsPort)));
    const total = (name: string, labels: Record<string, string> = {}): number => scrapes.reduce((a, s) => a + sum(s, name, labels), 0);
    // Every partition of the topic and of __offsets is led by one of the two brokers.
    expect(total('runnel_partitions_led')).toBeGreaterThanOrEqual(PARTITIONS + 1);
    for (const s of scrapes) expect(sum(s, 'runnel_partitions_led')).toBeGreaterThan(0);
    expect(total('runnel_partitions_offline')).toBe(0);
    expect(total('runnel_storage_write_duration_seconds_count', { sync: 'true' })).toBeGreaterThan(0);
    expect(total('runnel_delivered_records_total', { topic: TOPIC, api: 'subscribe' })).toBeGreaterThanOrEqual(FIRST_LOAD + 1);
    expect(total('runnel_delivered_bytes_total', { topic: TOPIC })).toBeGreaterThan(valueBytes);
    // One follower-lag series per partition of the topic, on its leader.
    const lagSeries = scrapes.flatMap((s) => s.filter((x) => x.name === 'runnel_follower_lag_records' && x.labels['topic'] === TOPIC));
    expect(lagSeries.map((x) => x.labels['partition']).sort()).toEqual(['0', '1']);
    for (const s of scrapes) {
      expect(has(s, 'nodejs_eventloop_lag_seconds')).toBe(true);
      expect(has(s, 'process_cpu_seconds_total')).toBe(true);
      expect(sum(s, 'runnel_metadata_version')).toBeGreaterThan(0);
    }
    // Both replicas of every partition catch up: no lag, nothing under-replicated.
    await waitFor(async () => {
      const now = await Promise.all(brokers.map((b) => scrape(b.metricsPort)));
      return now.every((s) => sum(s, 'runnel_follower_lag_records') === 0 && sum(s, 'runnel_partitions_under_replicated') === 0);
    }, { timeoutMs: 10_000, description: 'follower lag 0 and no under-replicated partition' });
  });

  it('the broker coordinating a group that committed reports its lag', async () => {
    // HW minus committed offset over the partitions: the SECOND_LOAD records produced after the commit.
    const lag = await waitFor(async () => {
      const now = await Promise.all(brokers.map((b) => scrape(b.metricsPort)));
      const withGroup = now.filter((s) => s.some((x) => x.name === 'runnel_consumer_group_lag_records' && x.labels['group'] === GROUP));
      if (withGroup.length !== 1) return undefined;
      const series = withGroup[0]!.filter((x) => x.name === 'runnel_consumer_group_lag_records' && x.labels['group'] === GROUP);
      const value = series.reduce((a, x) => a + x.value, 0);
      return value === SECOND_LOAD ? series : undefined;
    }, { timeoutMs: 10_000, description: `group lag ${SECOND_LOAD} on the group's coordinator` });
    expect(lag.map((x) => `${x.labels['topic']}/${x.labels['partition']}`).sort()).toEqual([`${TOPIC}/0`, `${TOPIC}/1`]);
  });

  it('the coordinator reports brokers, topics, partitions, elections and the metadata version', async () => {
    const s = await scrape(coordinator!.metricsPort);
    expect(sum(s, 'runnel_coordinator_brokers', { state: 'live' })).toBe(2);
    expect(sum(s, 'runnel_coordinator_brokers', { state: 'dead' })).toBe(0);
    expect(sum(s, 'runnel_coordinator_topics')).toBe(2); // the topic and __offsets
    expect(sum(s, 'runnel_coordinator_partitions')).toBeGreaterThanOrEqual(PARTITIONS + 1);
    expect(sum(s, 'runnel_coordinator_offline_partitions')).toBe(0);
    expect(sum(s, 'runnel_coordinator_leader_elections_total', { outcome: 'elected' })).toBeGreaterThanOrEqual(PARTITIONS + 1);
    expect(sum(s, 'runnel_coordinator_leader_elections_started_total')).toBeGreaterThanOrEqual(PARTITIONS + 1);
    expect(sum(s, 'runnel_coordinator_leader_elections_total', { outcome: 'offline' })).toBe(0);
    expect(sum(s, 'runnel_coordinator_metadata_version')).toBeGreaterThan(0);
    expect(has(s, 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('serves /healthz, and 404 / 405 for anything else', async () => {
    for (const port of [coordinator!.metricsPort, ...brokers.map((b) => b.metricsPort)]) {
      expect(await get(port, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
      expect((await get(port, '/nope')).status).toBe(404);
      const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
      expect(post.status).toBe(405);
      await post.text();
    }
  });
});
