// No single request may hold a broker's event loop long enough to cost it its leadership: requests
// beyond the documented limits (docs/errors.md, "Limits") are refused before they are decoded in
// full, and the largest allowed ones are served while a concurrent small request stays fast. Raw
// gRPC, real processes, a short session timeout so a stall would be declared a death.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_CHANNEL_OPTIONS, PRODUCE_RECORDS_MAX, REQUEST_FIELDS_MAX, RECORD_HEADERS_MAX, runnelPackageDefinition } from '@runnel/protocol';
import type { BrokerClient, CoordinatorClient } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker, rawCoordinator, toFailure, unary } from './grpc-raw.js';
import type { CallFailure } from './grpc-raw.js';

const TOPIC = 'stall';
const SESSION_TIMEOUT_MS = 1_500;
/**
 * A concurrent GetMetadata may take this long at most: the stall this guards against lasted 3-9 s;
 * one as long as the session timeout would also cost an election, which is asserted apart. 1.26 s
 * was seen for a 10,000-record produce on a 2-core machine running the suite beside other loads.
 */
const PROBE_LATENCY_MS_MAX = SESSION_TIMEOUT_MS;

interface PartitionView { leader: number; leaderEpoch: number }

describe('one request cannot stall a leader', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  let leader: BrokerClient;
  let leaderId: number;
  /** The leader, for pre-encoded requests. */
  let raw: grpc.Client;

  const partition = async (): Promise<PartitionView> => {
    const t = await unary<object, { partitions: PartitionView[] }>(coordinator, 'DescribeTopic', { name: TOPIC });
    return t.partitions[0]!;
  };
  const logEnd = async (): Promise<number> => {
    const r = await unary<object, { partitions: Array<{ logEndOffset: number }> }>(leader, 'ListOffsets', { topic: TOPIC, partitions: [0] });
    return r.partitions[0]!.logEndOffset;
  };
  const aliveBrokers = async (): Promise<number> =>
    (await unary<object, { brokers: Array<{ alive: boolean }> }>(coordinator, 'DescribeCluster', {})).brokers.filter((b) => b.alive).length;

  /**
   * Runs `work` while small GetMetadata calls go to the leader back to back, and keeps probing for
   * one session timeout after it, so a stall shows as a slow probe and a death as an election.
   */
  async function withProbe<T>(work: () => Promise<T>): Promise<{ result: T; probeMsMax: number }> {
    let stop = false;
    let probeMsMax = 0;
    const probing = (async () => {
      while (!stop) {
        const t = Date.now();
        await unary(leader, 'GetMetadata', { topics: [TOPIC] });
        probeMsMax = Math.max(probeMsMax, Date.now() - t);
      }
    })();
    try {
      const result = await work();
      const until = Date.now() + SESSION_TIMEOUT_MS;
      await waitFor(() => (Date.now() >= until ? true : undefined), { timeoutMs: SESSION_TIMEOUT_MS * 3, description: 'a session timeout of probing' });
      return { result, probeMsMax };
    } finally {
      stop = true;
      await probing;
    }
  }

  async function expectNoElection<T>(work: () => Promise<T>): Promise<T> {
    const before = await partition();
    const { result, probeMsMax } = await withProbe(work);
    expect(probeMsMax).toBeLessThan(PROBE_LATENCY_MS_MAX);
    expect(await partition()).toEqual(before);
    expect(await aliveBrokers()).toBe(3);
    return result;
  }

  /**
   * A request encoded before the clock starts: encoding a million records takes this (test)
   * process seconds, which would otherwise show up as probe latency.
   */
  const encoded = (method: string, request: object): Buffer => methods()[method]!.requestSerialize(request);
  const methods = (): Record<string, grpc.MethodDefinition<object, object>> =>
    runnelPackageDefinition()['runnel.v1.Broker'] as unknown as Record<string, grpc.MethodDefinition<object, object>>;

  /** Sends already-encoded bytes as a unary call; resolves with the failure (rejects on success). */
  const bytesFailure = (method: string, bytes: Buffer): Promise<CallFailure> => new Promise((resolve, reject) => {
    raw.makeUnaryRequest(`/runnel.v1.Broker/${method}`, (b: Buffer) => b, (b: Buffer) => b, bytes, { deadline: Date.now() + 20_000 }, (err) => {
      if (err) resolve(toFailure(err));
      else reject(new Error(`${method} succeeded`));
    });
  });

  const streamFailure = (bytes: Buffer): Promise<CallFailure> => new Promise((resolve, reject) => {
    const call = raw.makeBidiStreamRequest('/runnel.v1.Broker/ProduceStream', (b: Buffer) => b, (b: Buffer) => b, { deadline: Date.now() + 20_000 });
    call.on('data', () => reject(new Error('answered')));
    call.on('error', (e: grpc.ServiceError) => resolve(toFailure(e)));
    call.on('end', () => reject(new Error('ended without an error')));
    call.write(bytes);
  });

  const emptyRecords = (n: number): Array<Record<string, never>> => Array.from({ length: n }, () => ({}));

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS });
    coordinator = rawCoordinator(cluster.bootstrap);
    const topic = await unary<object, { partitions: PartitionView[] }>(coordinator, 'CreateTopic', { name: TOPIC, partitions: 1, replicationFactor: 3 });
    leaderId = topic.partitions[0]!.leader;
    leader = rawBroker(cluster.brokers.find((b) => b.id === leaderId)!.address);
    raw = new grpc.Client(cluster.brokers.find((b) => b.id === leaderId)!.address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
    await waitFor(() => unary(leader, 'Produce', { topic: TOPIC, partition: 0, records: [{ value: Buffer.from('first') }] }), {
      timeoutMs: 15_000, description: 'the leader to accept writes',
    });
  });

  afterAll(async () => {
    coordinator?.close();
    leader?.close();
    raw?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it('a Produce of 1,000,000 empty records is refused with TOO_MANY_RECORDS, writes nothing, and costs no election', async () => {
    const before = await logEnd();
    const bytes = encoded('Produce', { topic: TOPIC, partition: 0, records: emptyRecords(1_000_000) });
    const f = await expectNoElection(() => bytesFailure('Produce', bytes));
    expect(f.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(f.errorCode).toBe('TOO_MANY_RECORDS');
    expect(f.details).toContain(String(PRODUCE_RECORDS_MAX));
    expect(await logEnd()).toBe(before);
  });

  it('one record over the limit is refused the same way, on Produce and on ProduceStream', async () => {
    const before = await logEnd();
    const f = await failure(leader, 'Produce', { topic: TOPIC, partition: 0, records: emptyRecords(PRODUCE_RECORDS_MAX + 1) });
    expect(f.errorCode).toBe('TOO_MANY_RECORDS');
    const bytes = encoded('ProduceStream', { correlationId: 1, request: { topic: TOPIC, partition: 0, records: emptyRecords(300_000) } });
    const s = await expectNoElection(() => streamFailure(bytes));
    expect(s.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(s.errorCode).toBe('TOO_MANY_RECORDS');
    expect(await logEnd()).toBe(before);
  });

  it('the largest allowed Produce (PRODUCE_RECORDS_MAX empty records) is written and costs no election', async () => {
    const before = await logEnd();
    const bytes = encoded('Produce', { topic: TOPIC, partition: 0, records: emptyRecords(PRODUCE_RECORDS_MAX) });
    const answer = await expectNoElection(() => new Promise<Buffer>((resolve, reject) => {
      raw.makeUnaryRequest('/runnel.v1.Broker/Produce', (b: Buffer) => b, (b: Buffer) => b, bytes, { deadline: Date.now() + 20_000 }, (err, v) => (err ? reject(toFailure(err)) : resolve(v!)));
    }));
    const r = methods()['Produce']!.responseDeserialize(answer) as { baseOffset: number; recordCount: number };
    expect(r.recordCount).toBe(PRODUCE_RECORDS_MAX);
    expect(r.baseOffset).toBe(before);
  });

  it.each([
    ['a record with 100,000 headers', () => ({ topic: TOPIC, partition: 0, records: [{ headers: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`h${i}`, Buffer.alloc(0)])) }] }), 'Produce', 'INVALID_REQUEST'],
    ['GetMetadata naming 1,000,000 topics', () => ({ topics: Array.from({ length: 1_000_000 }, () => 'x') }), 'GetMetadata', 'INVALID_REQUEST'],
    ['ListOffsets naming 4,000,000 partitions', () => ({ topic: TOPIC, partitions: Array.from({ length: 4_000_000 }, () => 0) }), 'ListOffsets', 'INVALID_REQUEST'],
  ] as const)('%s is refused at once (INVALID_ARGUMENT), changes nothing and costs no election', async (_what, request, method, code) => {
    const before = await logEnd();
    const bytes = encoded(method, request());
    const f = await expectNoElection(() => bytesFailure(method, bytes));
    expect(f.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(f.errorCode).toBe(code);
    expect(f.details).toMatch(new RegExp(`${REQUEST_FIELDS_MAX}|${RECORD_HEADERS_MAX}`));
    expect(await logEnd()).toBe(before);
  });

  // CreateTopic of the widest allowed topic: test/create-topic-stall.test.ts.
});
