// Bad input over real gRPC, as any client would send it: the right status and a reason a person can
// act on, the processes keep running, and nothing is written.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerClient, CoordinatorClient, SubscribeResponse__Output } from '@runnel/protocol';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { failure, rawBroker, rawCoordinator, unary } from './grpc-raw.js';

const S = grpc.status;

describe('bad input', () => {
  let cluster: Cluster;
  let coordinator: CoordinatorClient;
  let leader: BrokerClient;
  let follower: BrokerClient;

  const hw = async (): Promise<number> => {
    const r = await unary<object, { partitions: Array<{ highWatermark: number; logEndOffset: number }> }>(leader, 'ListOffsets', { topic: 'good', partitions: [0] });
    expect(r.partitions[0]!.logEndOffset).toBe(r.partitions[0]!.highWatermark);
    return r.partitions[0]!.highWatermark;
  };

  beforeAll(async () => {
    cluster = await startCluster({ brokers: 2 });
    coordinator = rawCoordinator(cluster.bootstrap);
    const topic = await unary<object, { partitions: Array<{ leader: number }> }>(coordinator, 'CreateTopic', { name: 'good', partitions: 1, replicationFactor: 1, config: { maxMessageBytes: 1000 } });
    const leaderId = topic.partitions[0]!.leader;
    leader = rawBroker(cluster.brokers.find((b) => b.id === leaderId)!.address);
    follower = rawBroker(cluster.brokers.find((b) => b.id !== leaderId)!.address);
    // The broker learns of the topic through the metadata push; wait until it accepts writes.
    await waitFor(() => unary(leader, 'Produce', { topic: 'good', partition: 0, records: [{ value: Buffer.from('first') }] }), {
      timeoutMs: 15_000,
      description: 'the leader to accept writes',
    });
  });

  afterAll(async () => {
    coordinator?.close();
    leader?.close();
    follower?.close();
    await cluster?.stopAll({ removeData: true });
  });

  it.each([
    ['an empty name', { name: '', partitions: 1 }, S.INVALID_ARGUMENT, 'INVALID_TOPIC_NAME'],
    ['a name with a space', { name: 'a b', partitions: 1 }, S.INVALID_ARGUMENT, 'INVALID_TOPIC_NAME'],
    ['a 201-character name', { name: 'x'.repeat(201), partitions: 1 }, S.INVALID_ARGUMENT, 'INVALID_TOPIC_NAME'],
    ['a reserved name', { name: '__offsets', partitions: 1 }, S.INVALID_ARGUMENT, 'INVALID_TOPIC_NAME'],
    ['a duplicate name', { name: 'good', partitions: 1 }, S.ALREADY_EXISTS, 'TOPIC_ALREADY_EXISTS'],
    ['zero partitions', { name: 'zero', partitions: 0 }, S.INVALID_ARGUMENT, 'INVALID_PARTITIONS'],
    ['negative partitions', { name: 'neg', partitions: -3 }, S.INVALID_ARGUMENT, 'INVALID_PARTITIONS'],
    ['too many partitions', { name: 'many', partitions: 10_001 }, S.INVALID_ARGUMENT, 'INVALID_PARTITIONS'],
    ['replication 3 with 2 live brokers', { name: 'rf3', partitions: 1, replicationFactor: 3 }, S.FAILED_PRECONDITION, 'NOT_ENOUGH_BROKERS'],
    ['replication 9', { name: 'rf9', partitions: 1, replicationFactor: 9 }, S.INVALID_ARGUMENT, 'INVALID_REPLICATION_FACTOR'],
    ['a huge max message size', { name: 'big', partitions: 1, config: { maxMessageBytes: 1e9 } }, S.INVALID_ARGUMENT, 'INVALID_CONFIG'],
  ])('CreateTopic with %s is refused and creates nothing', async (_what, request, status, code) => {
    const before = await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {});
    const f = await failure(coordinator, 'CreateTopic', request);
    expect(f.code).toBe(status);
    expect(f.errorCode).toBe(code);
    expect(f.details.length).toBeGreaterThan(10);
    const after = await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {});
    expect(after.topics.map((t) => t.name)).toEqual(before.topics.map((t) => t.name));
  });

  it.each([
    ['an unknown topic', { topic: 'nope', partition: 0, records: [{ value: Buffer.from('x') }] }, S.NOT_FOUND, 'UNKNOWN_TOPIC'],
    ['an unknown partition', { topic: 'good', partition: 7, records: [{ value: Buffer.from('x') }] }, S.NOT_FOUND, 'UNKNOWN_PARTITION'],
    ['no records', { topic: 'good', partition: 0, records: [] }, S.INVALID_ARGUMENT, 'EMPTY_BATCH'],
    ['a record over max_message_bytes', { topic: 'good', partition: 0, records: [{ value: Buffer.from('ok') }, { value: Buffer.alloc(1001) }] }, S.INVALID_ARGUMENT, 'RECORD_TOO_LARGE'],
  ])('Produce to %s is refused and writes nothing', async (_what, request, status, code) => {
    const before = await hw();
    const f = await failure(leader, 'Produce', request);
    expect(f.code).toBe(status);
    expect(f.errorCode).toBe(code);
    expect(await hw()).toBe(before);
  });

  it('Fetch outside the log answers OUT_OF_RANGE with the valid range', async () => {
    const end = await hw();
    const f = await failure(leader, 'Fetch', { topic: 'good', partition: 0, offset: end + 100 });
    expect(f.code).toBe(S.OUT_OF_RANGE);
    expect(f.errorCode).toBe('OFFSET_OUT_OF_RANGE');
    expect(f.details).toContain(String(end));
    const g = await failure(leader, 'Fetch', { topic: 'good', partition: 0, offset: -1 });
    expect(g.code).toBe(S.OUT_OF_RANGE);
  });

  const subscribeError = (client: BrokerClient, first: object): Promise<grpc.ServiceError> =>
    new Promise((resolve, reject) => {
      const call = client.Subscribe({ deadline: Date.now() + 10_000 });
      call.on('data', (m: SubscribeResponse__Output) => reject(new Error(`unexpected data ${JSON.stringify(m)}`)));
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('end', () => reject(new Error('stream ended without an error')));
      call.write(first);
    });

  it('Subscribe without a start message, or with a malformed position, is refused', async () => {
    const noStart = await subscribeError(leader, { credit: { bytes: 1000, records: 10 } });
    expect(noStart.code).toBe(S.INVALID_ARGUMENT);
    const noPosition = await subscribeError(leader, { start: { topic: 'good', partition: 0, credit: { bytes: 1000, records: 10 } } });
    expect(noPosition.code).toBe(S.INVALID_ARGUMENT);
    expect(noPosition.metadata.get('runnel-error-code')[0]).toBe('INVALID_POSITION');
    const outOfRange = await subscribeError(leader, { start: { topic: 'good', partition: 0, position: { offset: 1_000_000 }, credit: { bytes: 1000, records: 10 } } });
    expect(outOfRange.code).toBe(S.OUT_OF_RANGE);
  });

  it('a client that disappears mid-stream leaves the broker serving', async () => {
    for (let i = 0; i < 5; i++) {
      const call = leader.Subscribe();
      const first = new Promise<void>((resolve) => call.once('data', () => resolve()));
      call.on('error', () => undefined); // the cancel below surfaces as CANCELLED
      call.write({ start: { topic: 'good', partition: 0, position: { earliest: true }, credit: { bytes: 1 << 20, records: 1000 } } });
      await first;
      call.cancel();
    }
    const produced = await unary<object, { baseOffset: number }>(leader, 'Produce', { topic: 'good', partition: 0, records: [{ value: Buffer.from('after') }] });
    expect(produced.baseOffset).toBeGreaterThan(0);
  });

  describe('a 10,000-character topic name', () => {
    const longName = 'n'.repeat(10_000);
    const expectRefusal = (f: { code: grpc.status; errorCode: string | undefined; details: string }): void => {
      expect(f.code).toBe(S.INVALID_ARGUMENT);
      expect(f.errorCode).toBe('INVALID_TOPIC_NAME');
      // Quoted, but cut: the status fits in any client's trailer limit (8 KiB by default).
      expect(f.details.length).toBeLessThanOrEqual(1024);
      expect(f.details).toContain('nnnn');
    };

    it('in Produce is refused with INVALID_TOPIC_NAME (not RESOURCE_EXHAUSTED) and writes nothing', async () => {
      const before = await hw();
      expectRefusal(await failure(leader, 'Produce', { topic: longName, partition: 0, records: [{ value: Buffer.from('x') }] }));
      expect(await hw()).toBe(before);
    });

    it('in GetMetadata is refused with INVALID_TOPIC_NAME', async () => {
      expectRefusal(await failure(leader, 'GetMetadata', { topics: [longName] }));
      expectRefusal(await failure(leader, 'GetMetadata', { topics: Array.from({ length: 20 }, (_, i) => `${longName}${i}`) }));
    });

    it('in Subscribe is refused with INVALID_TOPIC_NAME', async () => {
      const e = await subscribeError(leader, { start: { topic: longName, partition: 0, position: { earliest: true }, credit: { bytes: 1000, records: 10 } } });
      expectRefusal({ code: e.code, details: e.details, errorCode: e.metadata.get('runnel-error-code')[0] as string | undefined });
    });

    it("in the coordinator's CreateTopic is refused with INVALID_TOPIC_NAME and creates nothing", async () => {
      const before = await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {});
      expectRefusal(await failure(coordinator, 'CreateTopic', { name: longName, partitions: 1 }));
      // DescribeTopic answers UNKNOWN_TOPIC for any name it does not hold; the quote is cut all the same.
      const described = await failure(coordinator, 'DescribeTopic', { name: longName });
      expect(described.code).not.toBe(S.RESOURCE_EXHAUSTED);
      expect(described.details.length).toBeLessThanOrEqual(1024);
      const after = await unary<object, { topics: Array<{ name: string }> }>(coordinator, 'ListTopics', {});
      expect(after.topics.map((t) => t.name)).toEqual(before.topics.map((t) => t.name));
    });
  });

  describe('ProduceStream with a correlation id already outstanding', () => {
    it('refuses the second request in-band with INVALID_REQUEST naming the id, writes nothing for it, and keeps the stream up', async () => {
      // The first request must still be outstanding when its duplicate is read; on a fast machine
      // it may already be answered (then the id is free again and both are written, which is
      // right too). So: bounded attempts, each checked, until one hits the duplicate.
      let refusedOnce = false;
      for (let attempt = 0; attempt < 10 && !refusedOnce; attempt++) {
        const before = await hw();
        const call = leader.ProduceStream({ deadline: Date.now() + 10_000 });
        const answers: Array<{ correlationId: number; ok?: { baseOffset: number; recordCount: number } | null; error?: { code: string; message: string } | null }> = [];
        const done = new Promise<void>((resolve, reject) => {
          call.on('data', (m: (typeof answers)[number]) => answers.push(m));
          call.on('end', resolve);
          call.on('error', reject);
        });
        // A batch big enough to be outstanding when its duplicate is read (ACKS_ALL waits for the
        // slowest replica).
        call.write({ correlationId: 7, request: { topic: 'good', partition: 0, acks: 'ACKS_ALL', records: Array.from({ length: 500 }, () => ({ value: Buffer.from('a') })) } });
        call.write({ correlationId: 7, request: { topic: 'good', partition: 0, records: [{ value: Buffer.from('duplicate') }, { value: Buffer.from('duplicate') }] } });
        call.write({ correlationId: 8, request: { topic: 'good', partition: 0, records: [{ value: Buffer.from('after') }] } });
        call.end();
        await done;
        expect(answers).toHaveLength(3);
        const refused = answers.filter((a) => a.error);
        if (refused.length === 0) {
          // The first was answered before the second was read: all three written, in order.
          expect(await hw()).toBe(before + 503);
          continue;
        }
        refusedOnce = true;
        expect(refused).toHaveLength(1);
        expect(refused[0]).toMatchObject({ correlationId: 7, error: { code: 'INVALID_REQUEST' } });
        expect(refused[0]!.error!.message).toContain('7');
        // The refusal comes first (it is answered when read); the original and the next follow.
        expect(answers[0]!.error?.code).toBe('INVALID_REQUEST');
        const oks = answers.filter((a) => a.ok).map((a) => [a.correlationId, a.ok!.baseOffset, a.ok!.recordCount]);
        expect(oks).toEqual([[7, before, 500], [8, before + 500, 1]]);
        expect(await hw()).toBe(before + 501);
      }
      expect(refusedOnce).toBe(true);
    });

    it('refuses a correlation id above 2^53 - 1 (not representable in JavaScript and JSON clients) with INVALID_REQUEST and writes nothing', async () => {
      const before = await hw();
      const call = leader.ProduceStream({ deadline: Date.now() + 10_000 });
      const answers: Array<{ correlationId: number | string; error?: { code: string; message: string } | null }> = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on('data', (m: (typeof answers)[number]) => answers.push(m));
        call.on('end', resolve);
        call.on('error', reject);
      });
      call.write({ correlationId: '18446744073709551615', request: { topic: 'good', partition: 0, records: [{ value: Buffer.from('x') }] } });
      call.end();
      await done;
      expect(answers).toHaveLength(1);
      expect(answers[0]!.error?.code).toBe('INVALID_REQUEST');
      expect(answers[0]!.error?.message).toContain('9007199254740991');
      expect(await hw()).toBe(before);
    });
  });

  it('every process is still up', () => {
    expect(cluster.coordinator.running).toBe(true);
    for (const b of cluster.brokers) expect(b.running).toBe(true);
  });
});
