import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { CLUSTER_ID_HEADER, ERROR_METADATA, PRODUCE_BATCH_BYTES_MAX, partitionForKey } from '@runnel/protocol';
import type {
  FetchRequest, FetchResponse__Output, ListOffsetsRequest, ListOffsetsResponse__Output, ProduceStreamRequest,
  ProduceStreamResponse__Output, ClusterMetadata__Output, GetMetadataRequest,
} from '@runnel/protocol';
import { PRODUCE_STREAM_IN_FLIGHT_MAX } from '../src/index.js';
import { STUB_CLUSTER_ID, errorCode, failure, produce, startHarness, topic, unary, value } from './helpers.js';
import type { Harness } from './helpers.js';

let h: Harness;

const fetchReq = (req: FetchRequest): Promise<FetchResponse__Output> => unary(h.client.Fetch.bind(h.client), req);
const listOffsets = (req: ListOffsetsRequest): Promise<ListOffsetsResponse__Output> => unary(h.client.ListOffsets.bind(h.client), req);
const leo = async (t: string, p: number): Promise<number> => (await listOffsets({ topic: t, partitions: [p] })).partitions[0]!.logEndOffset;

beforeAll(async () => {
  h = await startHarness([
    topic({ name: 'events', partitions: 2 }),
    topic({ name: 'keyed', partitions: 4 }),
    topic({ name: 'small', partitions: 1, maxMessageBytes: 100 }),
    topic({ name: 'split', partitions: 3, leaders: [1, 2, -1] }),
  ]);
  h.coordinator.addBroker(2, '10.0.0.2:7402');
  await h.coordinator.setTopics([
    topic({ name: 'events', partitions: 2 }),
    topic({ name: 'keyed', partitions: 4 }),
    topic({ name: 'small', partitions: 1, maxMessageBytes: 100 }),
    topic({ name: 'split', partitions: 3, leaders: [1, 2, -1] }),
  ]);
});

afterAll(async () => {
  await h.close();
});

describe('produce and fetch', () => {
  it('assigns dense offsets and fetches the same records back', async () => {
    const a = await produce(h.client, { topic: 'events', partition: 0, records: [value('a'), value('b'), value('c')] });
    expect(a).toMatchObject({ topic: 'events', partition: 0, baseOffset: 0, recordCount: 3, leaderEpoch: 1 }); // a new partition: no epoch-start control batch
    expect(a.appendTimeMs).toBeGreaterThan(0);
    const b = await produce(h.client, { topic: 'events', partition: 0, records: [{ key: Buffer.from('k'), value: Buffer.from('d'), headers: { h: Buffer.from('x') }, timestampMs: 1234 }], acks: 'ACKS_LEADER' });
    expect(b.baseOffset).toBe(3);

    const all = await fetchReq({ topic: 'events', partition: 0, offset: 0 });
    expect(all.highWatermark).toBe(4);
    expect(all.logStartOffset).toBe(0);
    expect(all.batches.map((x) => [x.baseOffset, x.recordCount, x.leaderEpoch])).toEqual([[0, 3, 1], [3, 1, 1]]);
    expect(all.batches[0]!.records!.records.map((r) => r.value.toString())).toEqual(['a', 'b', 'c']);
    expect(all.batches[0]!.records!.records[0]!.timestampMs).toBe(a.appendTimeMs);
    const rec = all.batches[1]!.records!.records[0]!;
    expect([rec.key.toString(), rec.headers['h']?.toString(), rec.timestampMs]).toEqual(['k', 'x', 1234]);
    expect(all.batches[1]!.maxTimestampMs).toBe(1234);

    const tail = await fetchReq({ topic: 'events', partition: 0, offset: 3 });
    expect(tail.batches.map((x) => x.baseOffset)).toEqual([3]);
    const mid = await fetchReq({ topic: 'events', partition: 0, offset: 1 });
    expect(mid.batches[0]!.baseOffset).toBe(0); // batches are never split
    const atEnd = await fetchReq({ topic: 'events', partition: 0, offset: 4 });
    expect(atEnd.batches).toEqual([]);
  });

  it('chooses the partition by key hash when none is given', async () => {
    const key = Buffer.from('user-42');
    const res = await produce(h.client, { topic: 'keyed', records: [{ key, value: Buffer.from('v') }] });
    expect(res.partition).toBe(partitionForKey(key, 4));
    const nokey = await produce(h.client, { topic: 'keyed', records: [value('v')] });
    expect(nokey.partition).toBe(0);
  });

  it('answers ACKS_NONE at once with offset -1 and still appends', async () => {
    const before = await leo('events', 1);
    const res = await produce(h.client, { topic: 'events', partition: 1, records: [value('fire')], acks: 'ACKS_NONE' });
    expect(res.baseOffset).toBe(-1);
    await expect.poll(() => leo('events', 1), { timeout: 5000 }).toBe(before + 1);
  });

  it('long-polls a fetch until data commits', async () => {
    const hw = (await listOffsets({ topic: 'events', partitions: [1] })).partitions[0]!.highWatermark;
    const started = Date.now();
    const pending = fetchReq({ topic: 'events', partition: 1, offset: hw, maxWaitMs: 20_000 });
    await produce(h.client, { topic: 'events', partition: 1, records: [value('late')] });
    const res = await pending;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(res.batches.map((b) => b.baseOffset)).toEqual([hw]);
    const empty = await fetchReq({ topic: 'events', partition: 1, offset: hw + 1, maxWaitMs: 50 });
    expect(empty.batches).toEqual([]);
  });

  it('rejects out-of-range fetch offsets with the valid range', async () => {
    const err = await failure(fetchReq({ topic: 'events', partition: 0, offset: 99 }));
    expect(errorCode(err)).toBe('OFFSET_OUT_OF_RANGE');
    expect(err.code).toBe(grpc.status.OUT_OF_RANGE);
    expect(err.details).toContain('0 to 4');
  });

  it('lists offsets, including for a timestamp', async () => {
    const res = await listOffsets({ topic: 'events', partitions: [0], timestampMs: 1234 });
    expect(res.partitions[0]).toMatchObject({ partition: 0, logStartOffset: 0, highWatermark: 4, logEndOffset: 4, leaderEpoch: 1, offsetForTimestamp: 0 });
    const far = await listOffsets({ topic: 'events', partitions: [0], timestampMs: Date.now() + 3_600_000 });
    expect(far.partitions[0]!.offsetForTimestamp).toBe(4);
    const err = await failure(listOffsets({ topic: 'split', partitions: [0, 1] }));
    expect(errorCode(err)).toBe('NOT_LEADER');
  });

  it('lists every partition of the topic when none is named, or says which broker leads the one it cannot answer', async () => {
    const all = await listOffsets({ topic: 'keyed' });
    expect(all.partitions.map((p) => p.partition)).toEqual([0, 1, 2, 3]);
    // Not a silent subset: a partition led elsewhere fails the call, naming its leader.
    const err = await failure(listOffsets({ topic: 'split' }));
    expect(errorCode(err)).toBe('NOT_LEADER');
    expect(err.metadata.get(ERROR_METADATA.leaderId)).toEqual(['2']);
    expect(err.details).toContain('split/1');
    expect(err.details).toContain('name the partitions');
  });

  it('answers a timestamp beyond every record (up to the int64 maximum) with the HW and refuses a negative one naming the range', async () => {
    const hw = (await listOffsets({ topic: 'events', partitions: [0] })).partitions[0]!.highWatermark;
    for (const ts of ['4611686018427387904', '9223372036854775807']) {
      expect((await listOffsets({ topic: 'events', partitions: [0], timestampMs: ts })).partitions[0]!.offsetForTimestamp, ts).toBe(hw);
    }
    const err = await failure(listOffsets({ topic: 'events', partitions: [0], timestampMs: -1 }));
    expect(errorCode(err)).toBe('INVALID_REQUEST');
    expect(err.details).toContain('0 to 9223372036854775807');
  });

  it('serves cached metadata and rejects unknown topics', async () => {
    const getMetadata = (req: GetMetadataRequest): Promise<ClusterMetadata__Output> => unary(h.client.GetMetadata.bind(h.client), req);
    const md = await getMetadata({});
    expect(md.topics.map((t) => t.name)).toEqual(['events', 'keyed', 'small', 'split']);
    expect(md.brokers.map((b) => b.id)).toEqual([1, 2]);
    expect((await getMetadata({ topics: ['small'] })).topics.map((t) => t.name)).toEqual(['small']);
    expect(errorCode(await failure(getMetadata({ topics: ['nope'] })))).toBe('UNKNOWN_TOPIC');
  });
});

describe('bad produce requests write nothing', () => {
  const cases: Array<[string, string, () => Parameters<typeof produce>[1], string?]> = [
    ['missing topic', 'INVALID_REQUEST', () => ({ partition: 0, records: [value('x')] })],
    ['unknown topic', 'UNKNOWN_TOPIC', () => ({ topic: 'nope', partition: 0, records: [value('x')] })],
    ['unknown partition', 'UNKNOWN_PARTITION', () => ({ topic: 'small', partition: 7, records: [value('x')] }), '0 to 0'],
    ['empty batch', 'EMPTY_BATCH', () => ({ topic: 'small', partition: 0, records: [] })],
    ['record too large', 'RECORD_TOO_LARGE', () => ({ topic: 'small', partition: 0, records: [value('ok'), { key: Buffer.alloc(50), value: Buffer.alloc(60) }] }), 'record 1 is 110 bytes'],
    ['negative timestamp', 'INVALID_REQUEST', () => ({ topic: 'small', partition: 0, records: [{ value: Buffer.from('x'), timestampMs: -5 }] })],
  ];
  for (const [name, code, request, text] of cases) {
    it(`${name} -> ${code}`, async () => {
      const before = await leo('small', 0);
      const err = await failure(produce(h.client, request()));
      expect(errorCode(err)).toBe(code);
      expect(err.metadata.get(ERROR_METADATA.retriable)[0]).toBe('false');
      if (text !== undefined) expect(err.details).toContain(text);
      expect(await leo('small', 0)).toBe(before);
    });
  }

  it('batch too large -> BATCH_TOO_LARGE', async () => {
    const before = await leo('events', 0);
    const chunk = Buffer.alloc(1024 * 1024 - 16);
    const records = Array.from({ length: Math.ceil(PRODUCE_BATCH_BYTES_MAX / chunk.length) + 1 }, () => ({ value: chunk }));
    const err = await failure(produce(h.client, { topic: 'events', partition: 0, records }));
    expect(errorCode(err)).toBe('BATCH_TOO_LARGE');
    expect(await leo('events', 0)).toBe(before);
  });

  it('NOT_LEADER names the leader in trailers; an offline partition says PARTITION_OFFLINE', async () => {
    const err = await failure(produce(h.client, { topic: 'split', partition: 1, records: [value('x')] }));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(errorCode(err)).toBe('NOT_LEADER');
    expect(err.metadata.get(ERROR_METADATA.leaderId)).toEqual(['2']);
    expect(err.metadata.get(ERROR_METADATA.leaderAddress)).toEqual(['10.0.0.2:7402']);
    expect(err.metadata.get(ERROR_METADATA.retriable)).toEqual(['true']);
    const off = await failure(produce(h.client, { topic: 'split', partition: 2, records: [value('x')] }));
    expect(errorCode(off)).toBe('PARTITION_OFFLINE');
    const fetchErr = await failure(fetchReq({ topic: 'split', partition: 1, offset: 0 }));
    expect(errorCode(fetchErr)).toBe('NOT_LEADER');
  });
});

describe('ProduceStream', () => {
  it('pipelines requests, answers by correlation id in order and keeps going after in-band errors', async () => {
    const call = h.client.ProduceStream();
    const answers: ProduceStreamResponse__Output[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (m: ProduceStreamResponse__Output) => answers.push(m));
      call.on('end', resolve);
      call.on('error', reject);
    });
    const base = await leo('events', 1);
    const n = 200;
    for (let i = 0; i < n; i++) {
      const req: ProduceStreamRequest = i === 50
        ? { correlationId: i, request: { topic: 'nope', partition: 0, records: [value('x')] } }
        : i === 51
          ? { correlationId: i }
          : { correlationId: i, request: { topic: 'events', partition: 1, records: [value(`r${i}`)] } };
      call.write(req);
    }
    call.end();
    await done;
    expect(answers).toHaveLength(n);
    expect(answers.every((a) => a.maxInFlight === PRODUCE_STREAM_IN_FLIGHT_MAX)).toBe(true);
    const byId = new Map(answers.map((a) => [a.correlationId, a]));
    expect(byId.get(50)?.error?.code).toBe('UNKNOWN_TOPIC');
    expect(byId.get(51)?.error?.code).toBe('INVALID_REQUEST');
    const oks = answers.filter((a) => a.ok);
    expect(oks).toHaveLength(n - 2);
    // Same partition: answers in request order with consecutive offsets.
    expect(oks.map((a) => a.ok!.baseOffset)).toEqual(Array.from({ length: n - 2 }, (_, i) => base + i));
    expect(oks.map((a) => a.correlationId)).toEqual(Array.from({ length: n }, (_, i) => i).filter((i) => i !== 50 && i !== 51));
  });

  it('rejects a duplicate outstanding correlation id in-band', async () => {
    const call = h.client.ProduceStream();
    const answers: ProduceStreamResponse__Output[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (m: ProduceStreamResponse__Output) => answers.push(m));
      call.on('end', resolve);
      call.on('error', reject);
    });
    // A big batch keeps id 7 outstanding while its duplicate arrives.
    call.write({ correlationId: 7, request: { topic: 'events', partition: 1, records: Array.from({ length: 200 }, () => ({ value: Buffer.alloc(1000) })) } });
    call.write({ correlationId: 7, request: { topic: 'events', partition: 1, records: [value('dup')] } });
    call.end();
    await done;
    expect(answers).toHaveLength(2);
    expect(answers.filter((a) => a.ok).length + answers.filter((a) => a.error?.code === 'INVALID_REQUEST').length).toBe(2);
  });
});

describe('calls meant for another cluster', () => {
  const forCluster = (id: string): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set(CLUSTER_ID_HEADER, id);
    return md;
  };

  it('are refused with WRONG_CLUSTER and write or read nothing (Produce, ProduceStream, Subscribe); a matching or absent header is served', async () => {
    const before = await leo('events', 1);
    const unaryRefused = await failure(new Promise((resolve, reject) => h.client.Produce(
      { topic: 'events', partition: 1, records: [value('elsewhere')] }, forCluster('another-cluster'), (err, res) => (err ? reject(err) : resolve(res)),
    )));
    expect(unaryRefused.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(errorCode(unaryRefused)).toBe('WRONG_CLUSTER');
    expect(unaryRefused.details).toContain('another-cluster');

    const call = h.client.ProduceStream(forCluster('another-cluster'));
    const streamRefused = await new Promise<grpc.ServiceError>((resolve) => {
      call.on('data', () => undefined);
      call.on('error', (err: grpc.ServiceError) => resolve(err));
      call.write({ correlationId: 1, request: { topic: 'events', partition: 1, records: [value('elsewhere')] } });
    });
    expect(errorCode(streamRefused)).toBe('WRONG_CLUSTER');
    // Refused at the call's start, before any message: a subscription never sees this cluster's records.
    const sub = h.client.Subscribe(forCluster('another-cluster'));
    const subscribeRefused = await new Promise<grpc.ServiceError>((resolve) => {
      sub.on('data', () => undefined);
      sub.on('error', (err: grpc.ServiceError) => resolve(err));
    });
    expect(errorCode(subscribeRefused)).toBe('WRONG_CLUSTER');
    expect(await leo('events', 1)).toBe(before);

    const served = await new Promise((resolve, reject) => h.client.Produce(
      { topic: 'events', partition: 1, records: [value('here')] }, forCluster(STUB_CLUSTER_ID), (err, res) => (err ? reject(err) : resolve(res)),
    ));
    expect(served).toMatchObject({ baseOffset: before });
    expect((await produce(h.client, { topic: 'events', partition: 1, records: [value('no header')] })).baseOffset).toBe(before + 1);
  });
});
