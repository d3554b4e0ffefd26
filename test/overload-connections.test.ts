// Issue 18, "many idle or slow connections": 1,000 Subscribe streams that never grant credit and
// 1,000 ProduceStreams that went quiet, over a few connections, against one broker started with
// --subscriptions-max 1000 and --produce-streams-max 1000 (as RUNNEL_* variables: the testkit passes
// one environment to every process). Measures the broker's RSS per open stream, checks the 1,001st
// of each kind is refused with RESOURCE_EXHAUSTED / TOO_MANY_STREAMS naming the flag, that plain
// produce / fetch traffic keeps its latency meanwhile, and that closing everything frees the slots
// (another 1,000 open) without the RSS growing again. RUNNEL_OVERLOAD_SECONDS (default 60) is how
// long the streams stay open under that traffic; the file runs with RUNNEL_OVERLOAD=1 (vitest.config.ts).
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_CHANNEL_OPTIONS, runnelGrpc } from '@runnel/protocol';
import type { BrokerClient, CoordinatorClient, ProduceStreamResponse__Output } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { noForwarding, rawCoordinator, toFailure, unary } from './grpc-raw.js';
import type { CallFailure } from './grpc-raw.js';
import { residentBytes as rssBytes } from './support/broker-metrics.js';

const STREAMS = 1_000;
const CONNECTIONS = 10;
const PARTITIONS = 4;
const SECONDS = Number(process.env.RUNNEL_OVERLOAD_SECONDS ?? 60);
/** Generous for two shared cores, still far below what one buffered record set per stream would cost. */
const RSS_PER_STREAM_BYTES_MAX = 64 * 1024;
/** An idle connection is a socket and an HTTP/2 session with its buffers. */
const RSS_PER_CONNECTION_BYTES_MAX = 256 * 1024;
/** Connections of the per-connection measurement (each a socket on both sides). */
const CONNECTIONS_MANY = 500;
const LATENCY_MS_MAX = 1_000;

type Stream = grpc.ClientDuplexStream<unknown, unknown>;

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

/** Its own TCP connection each (grpc-js shares subchannels between clients by default). */
function connection(address: string): BrokerClient {
  return new (runnelGrpc().runnel.v1.Broker)(address, grpc.credentials.createInsecure(), {
    ...GRPC_CHANNEL_OPTIONS, 'grpc.use_local_subchannel_pool': 1, interceptors: [noForwarding],
  });
}

/** Resolves with the stream once its first answer arrives, rejects with the call's failure. */
function firstAnswer(call: Stream): Promise<Stream> {
  return new Promise((resolve, reject) => {
    call.once('data', () => resolve(call));
    call.once('error', (e: grpc.ServiceError) => reject(toFailure(e)));
  });
}

/** A Subscribe with no credit at all: the broker answers its start message, then has nothing to push. */
function idleSubscriber(client: BrokerClient, topic: string, partition: number): Promise<Stream> {
  const call = client.Subscribe() as unknown as Stream;
  call.on('error', () => undefined);
  const answered = firstAnswer(call);
  call.write({ start: { topic, partition, position: { latest: true } } });
  return answered;
}

/** A ProduceStream that sends one small record, is answered, and then goes quiet. */
function idleProducer(client: BrokerClient, topic: string, partition: number): Promise<Stream> {
  const call = client.ProduceStream() as unknown as Stream;
  call.on('error', () => undefined);
  const answered = new Promise<Stream>((resolve, reject) => {
    call.once('data', (m: ProduceStreamResponse__Output) => (m.ok !== undefined && m.ok !== null ? resolve(call) : reject(new Error(`produce answered ${JSON.stringify(m.error)}`))));
    call.once('error', (e: grpc.ServiceError) => reject(toFailure(e)));
  });
  call.write({ correlationId: 1, request: { topic, partition, records: [{ value: Buffer.from('hello') }], acks: 'ACKS_LEADER' } });
  return answered;
}

async function expectRefused(opened: Promise<Stream>, flag: string): Promise<CallFailure> {
  const failure = await opened.then(
    (s) => {
      s.cancel();
      throw new Error(`the stream over the limit was accepted (${flag})`);
    },
    (e: unknown) => e as CallFailure,
  );
  expect(failure.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  expect(failure.errorCode).toBe('TOO_MANY_STREAMS');
  expect(failure.retriable).toBe('true');
  expect(failure.details).toContain(flag);
  expect(failure.details).toContain(String(STREAMS));
  return failure;
}

/** Opens `count` streams spread over the connections and partitions, a bounded number at a time. */
async function openAll(count: number, clients: readonly BrokerClient[], open: (c: BrokerClient, partition: number) => Promise<Stream>): Promise<Stream[]> {
  const out: Stream[] = [];
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    out.push(...await Promise.all(Array.from({ length: n }, (_, j) => open(clients[(i + j) % clients.length]!, (i + j) % PARTITIONS))));
  }
  return out;
}

function closeAll(streams: Stream[]): void {
  for (const s of streams.splice(0)) s.cancel();
}

describe('many idle streams on one broker', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  let clients: BrokerClient[] = [];
  let pid: number;
  const streams: Stream[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      brokers: 1,
      env: { ...process.env, RUNNEL_SUBSCRIPTIONS_MAX: String(STREAMS), RUNNEL_PRODUCE_STREAMS_MAX: String(STREAMS) },
    });
    coordinator = rawCoordinator(cluster.coordinator.address);
    for (const name of ['idle', 'live']) {
      await unary(coordinator, 'CreateTopic', { name, partitions: name === 'idle' ? PARTITIONS : 1, replicationFactor: 1 });
    }
    const broker = cluster.brokers[0]!;
    pid = broker.pid!;
    clients = Array.from({ length: CONNECTIONS }, () => connection(broker.address));
    await waitFor(async () => {
      try {
        await unary(clients[0]!, 'Produce', { topic: 'idle', partition: PARTITIONS - 1, records: [{ value: Buffer.from('x') }] });
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 20_000, description: 'the broker leads the new partitions' });
  });

  afterAll(async () => {
    closeAll(streams);
    for (const c of clients) c.close();
    coordinator?.close();
    await cluster?.stopAll({ removeData: process.env.KEEP === undefined });
  });

  it(`holds ${STREAMS} credit-less subscriptions and ${STREAMS} quiet produce streams in bounded memory, refuses the next of each naming its flag, and keeps serving produce and fetch`, async () => {
    const live = connection(cluster.brokers[0]!.address);
    clients.push(live);
    // Warm up the paths the idle streams use, so the baseline is not taken cold.
    closeAll(await openAll(2 * CONNECTIONS, clients, (c, p) => idleSubscriber(c, 'idle', p)));
    closeAll(await openAll(2 * CONNECTIONS, clients, (c, p) => idleProducer(c, 'idle', p)));
    const startRss = await rssBytes(pid);

    // Idle connections, measured first (on fresh memory) and kept open throughout: each its own TCP
    // connection and HTTP/2 session that made one call and then sends nothing.
    const many = Array.from({ length: CONNECTIONS_MANY }, () => connection(cluster.brokers[0]!.address));
    clients.push(...many);
    for (let i = 0; i < many.length; i += 100) await Promise.all(many.slice(i, i + 100).map((c) => unary(c, 'GetMetadata', {})));
    const idleRss = await rssBytes(pid);
    const perConnection = (idleRss - startRss) / CONNECTIONS_MANY;

    streams.push(...await openAll(STREAMS, clients.slice(0, CONNECTIONS), (c, p) => idleSubscriber(c, 'idle', p)));
    const subscribedRss = await rssBytes(pid);
    streams.push(...await openAll(STREAMS, clients.slice(0, CONNECTIONS), (c, p) => idleProducer(c, 'idle', p)));
    const openRss = await rssBytes(pid);

    await expectRefused(idleSubscriber(clients[0]!, 'idle', 0), '--subscriptions-max');
    await expectRefused(idleProducer(clients[1]!, 'idle', 0), '--produce-streams-max');

    // Plain unary traffic on its own connection while every stream stays open.
    const latencies: number[] = [];
    let offset = 0;
    const until = Date.now() + SECONDS * 1000;
    while (Date.now() < until) {
      const started = performance.now();
      const produced = await unary<unknown, { baseOffset: number }>(live, 'Produce', { topic: 'live', partition: 0, records: [{ value: Buffer.from('live') }] });
      const fetched = await unary<unknown, { batches: unknown[] }>(live, 'Fetch', { topic: 'live', partition: 0, offset, maxWaitMs: 5_000 });
      latencies.push(performance.now() - started);
      expect(fetched.batches.length).toBeGreaterThan(0);
      offset = Number(produced.baseOffset) + 1;
    }
    const peakRss = await rssBytes(pid);
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Infinity;
    const maxLatency = latencies[latencies.length - 1] ?? Infinity;

    closeAll(streams);
    // Every slot is free again: another full set opens (a leaked count would refuse some).
    streams.push(...await openAll(STREAMS, clients.slice(0, CONNECTIONS), (c, p) => idleSubscriber(c, 'idle', p)));
    streams.push(...await openAll(STREAMS, clients.slice(0, CONNECTIONS), (c, p) => idleProducer(c, 'idle', p)));
    const reopenedRss = await rssBytes(pid);
    closeAll(streams);
    const closedRss = await rssBytes(pid);


    const perSubscription = (subscribedRss - idleRss) / STREAMS;
    const perProducer = (openRss - subscribedRss) / STREAMS;
    const perStream = (openRss - idleRss) / (2 * STREAMS);
    console.log(
      `overload-connections: idle RSS ${mib(startRss)} MiB; +${CONNECTIONS_MANY} idle connections ${mib(idleRss)} MiB (${(perConnection / 1024).toFixed(1)} KiB each); +${STREAMS} subscriptions ${mib(subscribedRss)} MiB (${(perSubscription / 1024).toFixed(1)} KiB each); `
      + `+${STREAMS} produce streams ${mib(openRss)} MiB (${(perProducer / 1024).toFixed(1)} KiB each); ${(perStream / 1024).toFixed(1)} KiB per stream over ${CONNECTIONS} connections; `
      + `after ${SECONDS} s of traffic ${mib(peakRss)} MiB; reopened ${mib(reopenedRss)} MiB; closed ${mib(closedRss)} MiB; `
      + `produce+fetch p99 ${p99.toFixed(1)} ms, max ${maxLatency.toFixed(1)} ms over ${latencies.length} rounds`,
    );
    expect(perStream).toBeLessThan(RSS_PER_STREAM_BYTES_MAX);
    expect(perConnection).toBeLessThan(RSS_PER_CONNECTION_BYTES_MAX);
    expect(p99).toBeLessThan(LATENCY_MS_MAX);
    // A second full set costs little more than the first did: closed streams gave their memory back.
    expect(reopenedRss - peakRss).toBeLessThan(0.5 * (openRss - idleRss) + 32 * 1024 * 1024);
  }, (SECONDS + 120) * 1000);
});
