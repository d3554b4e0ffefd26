import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { ERROR_METADATA } from '@runnel/protocol';
import type { SubscribeRequest, SubscribeResponse__Output } from '@runnel/protocol';
import type { FetchResponse__Output } from '@runnel/protocol';
import type { RunningBroker } from '../src/index.js';
import { errorCode, failure, produce, startClusterBroker, startHarness, tempDir, topic, unary, value } from './helpers.js';
import type { Harness } from './helpers.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness([topic({ name: 'logs', partitions: 4 }), topic({ name: 'credit', partitions: 3 })]);
  h.coordinator.addBroker(2, '10.0.0.2:7402');
});

afterAll(async () => {
  await h.close();
});

/** A Subscribe call whose messages are read one at a time, with deadlines. */
class Sub {
  readonly call: grpc.ClientDuplexStream<SubscribeRequest, SubscribeResponse__Output>;
  readonly received: SubscribeResponse__Output[] = [];
  error: grpc.ServiceError | undefined;
  ended = false;
  private waiter: (() => void) | undefined;

  constructor(first: SubscribeRequest) {
    this.call = h.client.Subscribe();
    this.call.on('data', (m: SubscribeResponse__Output) => {
      this.received.push(m);
      this.poke();
    });
    this.call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.poke();
    });
    this.call.on('end', () => {
      this.ended = true;
      this.poke();
    });
    this.call.write(first);
  }

  private poke(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Waits (event-driven, with a deadline) until `cond` holds. */
  async until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  batches(): NonNullable<SubscribeResponse__Output['batches']> {
    return this.received.flatMap((m) => m.batches);
  }

  records(): number {
    return this.batches().reduce((n, b) => n + b.recordCount, 0);
  }
}

// A leader whose HW is below offsets that are in its log (a new leader starts with its checkpointed
// HW and commits nothing until a follower has its epoch-start marker): here its only follower
// (broker 3) is cut off, so records appended with ACKS_LEADER stay above the HW until it heals.
describe('a leader whose high watermark is below offsets in its log', () => {
  let follower: RunningBroker;
  let followerDir: { path: string; remove(): Promise<void> };
  let cut = true;
  const fetchReq = (req: object): Promise<FetchResponse__Output> => unary(h.client.Fetch.bind(h.client), req);

  beforeAll(async () => {
    followerDir = await tempDir();
    follower = await startClusterBroker(3, followerDir.path, h.coordinator, { replicationFaults: { isCut: (peer) => cut && peer === 1 } });
    await h.coordinator.setTopics([topic({ name: 'logs', partitions: 4 }), topic({ name: 'credit', partitions: 3 }), topic({ name: 'lagging', partitions: 1, replicas: [[1, 3]] })]);
    for (let i = 0; i < 3; i++) await produce(h.client, { topic: 'lagging', partition: 0, records: [value(`l${i}`)], acks: 'ACKS_LEADER' });
  });

  afterAll(async () => {
    await follower?.close();
    await followerDir?.remove();
  });

  it('Subscribe at an offset in the log but above the HW waits for the HW, then delivers; beyond the log end is OFFSET_OUT_OF_RANGE', async () => {
    const offsets = (await unary(h.client.ListOffsets.bind(h.client), { topic: 'lagging', partitions: [0] })) as { partitions: Array<{ highWatermark: number; logEndOffset: number }> };
    const { highWatermark: hw, logEndOffset: leo } = offsets.partitions[0]!;
    expect(hw).toBeLessThan(2);
    expect(leo).toBe(3);

    const beyond = new Sub({ start: { topic: 'lagging', partition: 0, position: { offset: leo + 1 } } });
    await beyond.until(() => beyond.error !== undefined, 'OFFSET_OUT_OF_RANGE');
    expect(errorCode(beyond.error!)).toBe('OFFSET_OUT_OF_RANGE');
    expect(beyond.error!.details).toContain(`0 to ${leo}`);

    const fetchNow = await failure(fetchReq({ topic: 'lagging', partition: 0, offset: 2 }));
    expect(errorCode(fetchNow)).toBe('OFFSET_NOT_AVAILABLE');
    expect(fetchNow.metadata.get(ERROR_METADATA.retriable)).toEqual(['true']);
    expect(fetchNow.details).toContain(`high watermark ${hw}`);
    expect(errorCode(await failure(fetchReq({ topic: 'lagging', partition: 0, offset: 2, maxWaitMs: 20 })))).toBe('OFFSET_NOT_AVAILABLE');
    expect(errorCode(await failure(fetchReq({ topic: 'lagging', partition: 0, offset: leo + 1, maxWaitMs: 1000 })))).toBe('OFFSET_OUT_OF_RANGE');

    const atEnd = new Sub({ start: { topic: 'lagging', partition: 0, position: { offset: leo }, credit: { bytes: 1 << 20, records: 100 } } });
    const sub = new Sub({ start: { topic: 'lagging', partition: 0, position: { offset: 2 }, credit: { bytes: 1 << 20, records: 100 } } });
    await sub.until(() => sub.received.length >= 1 || sub.error !== undefined, 'first message');
    await atEnd.until(() => atEnd.received.length >= 1 || atEnd.error !== undefined, 'first message');
    expect(sub.error?.details).toBeUndefined();
    expect(atEnd.error?.details).toBeUndefined();
    expect(sub.received[0]).toMatchObject({ startOffset: 2, batches: [] });
    expect(atEnd.received[0]).toMatchObject({ startOffset: leo, batches: [] });
    const waiting = fetchReq({ topic: 'lagging', partition: 0, offset: 2, maxWaitMs: 20_000 });

    cut = false; // the follower catches up: the HW passes offset 2
    await sub.until(() => sub.batches().length > 0 || sub.error !== undefined, 'the batch at offset 2');
    expect(sub.error?.details).toBeUndefined();
    expect(sub.batches().map((b) => b.baseOffset)).toEqual([2]);
    expect((await waiting).batches.map((b) => b.baseOffset)).toEqual([2]);
    const next = await produce(h.client, { topic: 'lagging', partition: 0, records: [value('after')] });
    await atEnd.until(() => atEnd.batches().length > 0 || atEnd.error !== undefined, 'the next record');
    expect(atEnd.batches().map((b) => b.baseOffset)).toEqual([next.baseOffset]);
    for (const s of [sub, atEnd]) s.call.cancel();
  });
});

describe('Subscribe credit and positions at the edges of their ranges', () => {
  const INT64_MAX = '9223372036854775807';

  it('a credit of one kind only limits by that kind alone (a kind never granted does not limit)', async () => {
    for (let i = 0; i < 5; i++) await produce(h.client, { topic: 'credit', partition: 0, records: [value(`c${i}`), value(`d${i}`)] });
    const recordsOnly = new Sub({ start: { topic: 'credit', partition: 0, position: { earliest: true }, credit: { records: 4 } } });
    await recordsOnly.until(() => recordsOnly.records() >= 4 || recordsOnly.error !== undefined, 'four records on a records-only credit');
    expect(recordsOnly.error?.details).toBeUndefined();
    await produce(h.client, { topic: 'credit', partition: 1, records: [value('round trip')] });
    expect(recordsOnly.records()).toBe(4); // two batches of two: the record credit still limits
    recordsOnly.call.write({ credit: { records: 100 } });
    await recordsOnly.until(() => recordsOnly.records() === 10, 'the rest');
    recordsOnly.call.cancel();

    const bytesOnly = new Sub({ start: { topic: 'credit', partition: 0, position: { earliest: true }, credit: { bytes: 1 << 20 } } });
    await bytesOnly.until(() => bytesOnly.records() === 10 || bytesOnly.error !== undefined, 'every record on a bytes-only credit');
    expect(bytesOnly.error?.details).toBeUndefined();
    bytesOnly.call.cancel();

    const later = new Sub({ start: { topic: 'credit', partition: 0, position: { earliest: true } } });
    await later.until(() => later.received.length >= 1, 'first message');
    later.call.write({ credit: { records: 2 } });
    await later.until(() => later.records() >= 2, 'two records granted after the start');
    later.call.cancel();
  });

  it('a credit message granting nothing is refused with INVALID_REQUEST naming the fields', async () => {
    const sub = new Sub({ start: { topic: 'credit', partition: 0, position: { earliest: true }, credit: { bytes: 1, records: 1 } } });
    await sub.until(() => sub.received.length >= 1, 'first message');
    sub.call.write({ credit: { bytes: 0, records: 0 } });
    await sub.until(() => sub.error !== undefined, 'INVALID_REQUEST');
    expect(errorCode(sub.error!)).toBe('INVALID_REQUEST');
    expect(sub.error!.details).toContain('bytes');
    expect(sub.error!.details).toContain('records');
  });

  it('a timestamp beyond every record (up to the int64 maximum) starts at the log end; a negative one is INVALID_POSITION naming the range', async () => {
    await produce(h.client, { topic: 'credit', partition: 2, records: [value('t0')] });
    const end = 1;
    for (const ts of ['4611686018427387904', INT64_MAX, String(Number.MAX_SAFE_INTEGER + 1)]) {
      const sub = new Sub({ start: { topic: 'credit', partition: 2, position: { timestampMs: ts } } });
      await sub.until(() => sub.received.length >= 1 || sub.error !== undefined, `first message for ${ts}`);
      expect(sub.error?.details, ts).toBeUndefined();
      expect(sub.received[0]!.startOffset, ts).toBe(end);
      sub.call.cancel();
    }
    const negative = new Sub({ start: { topic: 'credit', partition: 2, position: { timestampMs: -1 } } });
    await negative.until(() => negative.error !== undefined, 'INVALID_POSITION');
    expect(errorCode(negative.error!)).toBe('INVALID_POSITION');
    expect(negative.error!.details).toContain(`0 to ${INT64_MAX}`);
  });
});

describe('Subscribe', () => {
  it('pushes new batches as they commit (no polling) and reports start offset and HW', async () => {
    await produce(h.client, { topic: 'logs', partition: 0, records: [value('old')] });
    const sub = new Sub({ start: { topic: 'logs', partition: 0, position: { latest: true }, credit: { bytes: 1 << 20, records: 1000 } } });
    await sub.until(() => sub.received.length >= 1, 'first message');
    expect(sub.received[0]).toMatchObject({ startOffset: 1, highWatermark: 1, batches: [] });
    for (let i = 0; i < 3; i++) {
      const res = await produce(h.client, { topic: 'logs', partition: 0, records: [value(`new${i}`), value(`x${i}`)] });
      await sub.until(() => sub.batches().some((b) => b.baseOffset === res.baseOffset), `push of ${res.baseOffset}`);
    }
    expect(sub.batches().map((b) => b.baseOffset)).toEqual([1, 3, 5]);
    const last = sub.received[sub.received.length - 1]!;
    expect(last.highWatermark).toBe(7);
    expect(sub.batches()[0]!.records!.records.map((r) => r.value.toString())).toEqual(['new0', 'x0']);
    sub.call.cancel();
  });

  it('never exceeds record credit and resumes where it stopped when granted more', async () => {
    for (let i = 0; i < 6; i++) await produce(h.client, { topic: 'logs', partition: 1, records: [value(`r${i}`)] });
    const sub = new Sub({ start: { topic: 'logs', partition: 1, position: { earliest: true }, credit: { bytes: 1 << 20, records: 2 } } });
    let granted = 2;
    sub.call.on('data', () => expect(sub.records()).toBeLessThanOrEqual(granted));
    await sub.until(() => sub.records() === 2, 'two records');
    // A round trip through the broker lets any over-credit push show up before we check.
    await produce(h.client, { topic: 'logs', partition: 1, records: [value('r6')] });
    expect(sub.records()).toBe(2);
    granted += 3;
    sub.call.write({ credit: { records: 3, bytes: 0 } });
    await sub.until(() => sub.records() === 5, 'five records');
    expect(sub.batches().map((b) => b.baseOffset)).toEqual([0, 1, 2, 3, 4]); // a new partition starts at 0
    granted += 100;
    sub.call.write({ credit: { records: 100 } });
    await sub.until(() => sub.records() === 7, 'all records');
    sub.call.cancel();
  });

  it('lets one batch overdraw byte credit, then waits for more', async () => {
    for (let i = 0; i < 3; i++) await produce(h.client, { topic: 'logs', partition: 2, records: [value('a'.repeat(100)), value('b'.repeat(100))] });
    const sub = new Sub({ start: { topic: 'logs', partition: 2, position: { offset: 0 }, credit: { bytes: 1, records: 1000 } } });
    await sub.until(() => sub.batches().length === 1, 'one batch');
    await produce(h.client, { topic: 'logs', partition: 3, records: [value('elsewhere')] });
    expect(sub.batches()).toHaveLength(1);
    sub.call.write({ credit: { bytes: 10 } }); // still negative after the overdraw: nothing
    await produce(h.client, { topic: 'logs', partition: 3, records: [value('elsewhere')] });
    expect(sub.batches()).toHaveLength(1);
    sub.call.write({ credit: { bytes: 10_000 } });
    await sub.until(() => sub.batches().length === 3, 'rest');
    expect(sub.batches().map((b) => b.baseOffset)).toEqual([0, 2, 4]);
    sub.call.cancel();
  });

  it('starts at an offset inside a batch, at a timestamp, and rejects out-of-range offsets with the range', async () => {
    const t0 = Date.now() + 1_000_000;
    await produce(h.client, { topic: 'logs', partition: 3, records: [{ value: Buffer.from('ts'), timestampMs: t0 }] });
    const hw = 3; // 'elsewhere' at 0 and 1 (previous test), 'ts' at 2
    const mid = new Sub({ start: { topic: 'logs', partition: 3, position: { offset: 1 }, credit: { bytes: 1 << 20, records: 100 } } });
    await mid.until(() => mid.batches().length >= 1, 'batch');
    expect(mid.received[0]!.startOffset).toBe(1);
    mid.call.cancel();

    const byTime = new Sub({ start: { topic: 'logs', partition: 3, position: { timestampMs: t0 }, credit: { bytes: 1 << 20, records: 100 } } });
    await byTime.until(() => byTime.received.length >= 1, 'first');
    expect(byTime.received[0]!.startOffset).toBe(2);
    byTime.call.cancel();

    const future = new Sub({ start: { topic: 'logs', partition: 3, position: { timestampMs: t0 + 1 } } });
    await future.until(() => future.received.length >= 1, 'first');
    expect(future.received[0]!.startOffset).toBe(hw);
    future.call.cancel();

    const bad = new Sub({ start: { topic: 'logs', partition: 3, position: { offset: 42 } } });
    await bad.until(() => bad.error !== undefined, 'error');
    expect(errorCode(bad.error!)).toBe('OFFSET_OUT_OF_RANGE');
    expect(bad.error!.details).toContain('0 to 3');
  });

  it('ends with INVALID_POSITION / INVALID_REQUEST / UNKNOWN_TOPIC / NOT_LEADER on bad starts', async () => {
    const cases: Array<[SubscribeRequest, string]> = [
      [{ start: { topic: 'logs', partition: 0 } }, 'INVALID_POSITION'],
      [{ credit: { bytes: 10, records: 1 } }, 'INVALID_REQUEST'],
      [{ start: { topic: 'nope', partition: 0, position: { earliest: true } } }, 'UNKNOWN_TOPIC'],
      [{ start: { topic: 'logs', partition: 9, position: { earliest: true } } }, 'UNKNOWN_PARTITION'],
    ];
    for (const [first, code] of cases) {
      const sub = new Sub(first);
      await sub.until(() => sub.error !== undefined, code);
      expect(errorCode(sub.error!)).toBe(code);
    }
    const twice = new Sub({ start: { topic: 'logs', partition: 0, position: { earliest: true } } });
    twice.call.write({ start: { topic: 'logs', partition: 0, position: { earliest: true } } });
    await twice.until(() => twice.error !== undefined, 'second start rejected');
    expect(errorCode(twice.error!)).toBe('INVALID_REQUEST');
  });

  it('survives clients cancelling mid-stream; later calls work', async () => {
    for (let round = 0; round < 5; round++) {
      const sub = new Sub({ start: { topic: 'logs', partition: 0, position: { earliest: true }, credit: { bytes: 1 << 20, records: 1 << 20 } } });
      await sub.until(() => sub.received.length >= 1, 'first');
      sub.call.cancel();
      await produce(h.client, { topic: 'logs', partition: 0, records: [value(`after-cancel-${round}`)] });
    }
    const sub = new Sub({ start: { topic: 'logs', partition: 0, position: { latest: true }, credit: { bytes: 1 << 20, records: 10 } } });
    await sub.until(() => sub.received.length >= 1, 'first');
    const res = await produce(h.client, { topic: 'logs', partition: 0, records: [value('fresh')] });
    await sub.until(() => sub.batches().some((b) => b.baseOffset === res.baseOffset), 'fresh push');
    sub.call.cancel();
  });

  it('ends subscriptions with NOT_LEADER naming the new leader when leadership moves', async () => {
    const sub = new Sub({ start: { topic: 'logs', partition: 3, position: { latest: true }, credit: { bytes: 1 << 20, records: 10 } } });
    await sub.until(() => sub.received.length >= 1, 'first');
    await h.coordinator.setTopics([topic({ name: 'logs', partitions: 4, leaders: [1, 1, 1, 2], epoch: 2 })]);
    await sub.until(() => sub.error !== undefined, 'NOT_LEADER');
    expect(errorCode(sub.error!)).toBe('NOT_LEADER');
    expect(sub.error!.metadata.get(ERROR_METADATA.leaderId)).toEqual(['2']);
    expect(sub.error!.metadata.get(ERROR_METADATA.leaderAddress)).toEqual(['10.0.0.2:7402']);
  });
});
