import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RunnelError, messageType } from '@runnel/protocol';
import type { ProduceResponse, Record__Output } from '@runnel/protocol';
import { encodeBatch } from '@runnel/storage';
import type { AppendRecordsInput, AppendResult, MetaStore, PartitionLog } from '@runnel/storage';
import { parseBrokerConfig, ConfigError } from '../src/config.js';
import { CreditWindow } from '../src/credit-window.js';
import { selectDeliverable } from '../src/deliverable-batches.js';
import { ReplicaDriver } from '../src/replica-driver.js';
import type { ProduceService } from '../src/produce-handler.js';
import { ProduceStreamSession } from '../src/produce-stream-handler.js';
import { buildRecordSet, recordSizeBytes } from '../src/record-batch-builder.js';
import { resolveStartPosition } from '../src/start-position.js';
import { silentLogger } from './helpers.js';

const rec = (v: string, extra: Partial<Record__Output> = {}): Record__Output => ({ key: Buffer.alloc(0), value: Buffer.from(v), headers: {}, timestampMs: 0, ...extra });

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<RunnelError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err as RunnelError;
  }
  throw new Error('expected a rejection');
}

describe('resolveStartPosition', () => {
  const bounds = { logStartOffset: 10, highWatermark: 20, logEndOffset: 20 };
  const ts = (found: number | undefined) => () => Promise.resolve(found);
  it('resolves earliest, latest, offsets and timestamps', async () => {
    expect(await resolveStartPosition({ at: 'earliest', earliest: true }, bounds, ts(undefined), 't/0')).toBe(10);
    expect(await resolveStartPosition({ at: 'latest', latest: true }, bounds, ts(undefined), 't/0')).toBe(20);
    expect(await resolveStartPosition({ at: 'offset', offset: 15 }, bounds, ts(undefined), 't/0')).toBe(15);
    expect(await resolveStartPosition({ at: 'offset', offset: 20 }, bounds, ts(undefined), 't/0')).toBe(20);
    expect(await resolveStartPosition({ at: 'timestampMs', timestampMs: 5 }, bounds, ts(12), 't/0')).toBe(12);
    expect(await resolveStartPosition({ at: 'timestampMs', timestampMs: 5 }, bounds, ts(undefined), 't/0')).toBe(20);
    expect(await resolveStartPosition({ at: 'timestampMs', timestampMs: 5 }, bounds, ts(25), 't/0')).toBe(20);
  });
  it('rejects out-of-range offsets stating the range, and missing positions', async () => {
    for (const offset of [9, 21, -1]) {
      const err = await rejection(resolveStartPosition({ at: 'offset', offset }, bounds, ts(undefined), 't/0'));
      expect(err.code).toBe('OFFSET_OUT_OF_RANGE');
      expect(err.message).toContain('10 to 20');
    }
    expect((await rejection(resolveStartPosition(null, bounds, ts(undefined), 't/0'))).code).toBe('INVALID_POSITION');
    expect((await rejection(resolveStartPosition({}, bounds, ts(undefined), 't/0'))).code).toBe('INVALID_POSITION');
  });
  it('accepts offsets above the HW up to the log end (a new leader may start with a lower HW)', async () => {
    const lagging = { logStartOffset: 10, highWatermark: 12, logEndOffset: 20 };
    expect(await resolveStartPosition({ at: 'offset', offset: 20 }, lagging, ts(undefined), 't/0')).toBe(20);
    expect((await rejection(resolveStartPosition({ at: 'offset', offset: 21 }, lagging, ts(undefined), 't/0'))).message).toContain('10 to 20');
  });
});

describe('CreditWindow', () => {
  it('sends while both credits are positive, lets one batch overdraw, and adds grants up', () => {
    const c = new CreditWindow();
    expect(c.canSend()).toBe(false);
    c.grant(100, 2);
    expect(c.canSend()).toBe(true);
    c.consume(150, 1);
    expect([c.bytesAvailable, c.recordsAvailable, c.canSend()]).toEqual([-50, 1, false]);
    c.grant(40, 0);
    expect(c.canSend()).toBe(false);
    c.grant(11, 0);
    expect(c.canSend()).toBe(true);
    c.grant(-5, -5);
    expect([c.bytesAvailable, c.recordsAvailable]).toEqual([1, 1]);
    c.grant(Number.MAX_SAFE_INTEGER, 0);
    expect(c.bytesAvailable).toBe(Number.MAX_SAFE_INTEGER);
  });
  it('does not limit by a kind never granted, and counts a kind from its first grant on', () => {
    const records = new CreditWindow();
    records.grant(0, 2);
    expect([records.canSend(), records.readBudget(1000)]).toEqual([true, 1000]);
    records.consume(5000, 2);
    expect(records.canSend()).toBe(false);
    records.grant(100, 1);
    expect([records.canSend(), records.readBudget(1000)]).toEqual([true, 100]);
    records.consume(150, 1);
    expect([records.bytesAvailable, records.recordsAvailable, records.canSend()]).toEqual([-50, 0, false]);
  });
});

describe('buildRecordSet', () => {
  it('encodes once, stamps unset timestamps and computes the max', () => {
    const records = [rec('a'), rec('b', { timestampMs: 5000 }), rec('c', { timestampMs: 7 })];
    const built = buildRecordSet(records, 1000, 100);
    expect(built.recordCount).toBe(3);
    expect(built.maxTimestampMs).toBe(5000);
    const decoded = messageType('RecordSet').toObject(messageType('RecordSet').decode(built.recordSet), { longs: Number }) as { records: Array<{ value: Buffer; timestampMs: number }> };
    expect(decoded.records.map((r) => [Buffer.from(r.value).toString(), r.timestampMs])).toEqual([['a', 1000], ['b', 5000], ['c', 7]]);
  });
  it('measures key + value + header names and values', () => {
    expect(recordSizeBytes(rec('abc', { key: Buffer.from('kk'), headers: { hé: Buffer.from('123') } }))).toBe(2 + 3 + 3 + 3);
  });
  it('rejects empty, oversized records and oversized batches', () => {
    expect((() => { try { buildRecordSet([], 0, 10); } catch (e) { return (e as RunnelError).code; } return 'ok'; })()).toBe('EMPTY_BATCH');
    try {
      buildRecordSet([rec('ok'), rec('x'.repeat(11))], 0, 10);
      expect.fail('should throw');
    } catch (e) {
      expect((e as RunnelError).code).toBe('RECORD_TOO_LARGE');
      expect((e as RunnelError).message).toContain('record 1 is 11 bytes');
    }
    try {
      buildRecordSet([rec('x'.repeat(8)), rec('x'.repeat(8))], 0, 10, 12);
      expect.fail('should throw');
    } catch (e) {
      expect((e as RunnelError).code).toBe('BATCH_TOO_LARGE');
    }
  });
});

describe('selectDeliverable', () => {
  const batch = (baseOffset: number, recordCount: number, attributes = 0): Buffer =>
    encodeBatch({ baseOffset, recordCount, leaderEpoch: 1, maxTimestampMs: 0, producerId: 0, producerSequence: 0, attributes, recordSet: Buffer.alloc(10) });
  it('skips control batches but advances past them, and stops at the HW and when refused', () => {
    const raw = [batch(0, 2), batch(2, 1, 1), batch(3, 3), batch(6, 1)];
    const all = selectDeliverable(raw, 0, 6, () => true);
    expect(all.batches).toEqual([raw[0], raw[2]]);
    expect(all.nextOffset).toBe(6);
    let n = 0;
    const one = selectDeliverable(raw, 0, 100, () => n++ < 1);
    expect(one.batches).toEqual([raw[0]]);
    expect(one.nextOffset).toBe(3); // the control batch after it is passed over too
    const onlyControl = selectDeliverable([batch(2, 1, 1)], 2, 100, () => true);
    expect(onlyControl).toEqual({ batches: [], nextOffset: 3 });
  });
});

describe('parseBrokerConfig', () => {
  it('fills defaults and freezes', () => {
    const c = parseBrokerConfig({ id: '3', dataDir: '/tmp/x' });
    expect(c).toMatchObject({ id: 3, host: '127.0.0.1', port: 7401, coordinator: '127.0.0.1:7400', fsync: { kind: 'always' }, retentionCheckIntervalMs: 60000, logLevel: 'info' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(parseBrokerConfig({ id: 1, dataDir: 'd', fsync: 'interval:50' }).fsync).toEqual({ kind: 'interval', intervalMs: 50 });
  });
  it('names the flag on bad values and unknown keys', () => {
    const flag = (raw: Record<string, unknown>): string => {
      try {
        parseBrokerConfig(raw);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).flag;
      }
      return 'none';
    };
    expect(flag({ dataDir: 'd' })).toBe('--id');
    expect(flag({ id: '0', dataDir: 'd' })).toBe('--id');
    expect(flag({ id: '1' })).toBe('--data-dir');
    expect(flag({ id: '1', dataDir: 'd', port: '70000' })).toBe('--port');
    expect(flag({ id: '1', dataDir: 'd', fsync: 'sometimes' })).toBe('--fsync');
    expect(flag({ id: '1', dataDir: 'd', coordinator: 'nohost' })).toBe('--coordinator');
    expect(flag({ id: '1', dataDir: 'd', logLevel: 'loud' })).toBe('--log-level');
    expect(flag({ id: '1', dataDir: 'd', bogusThing: 1 })).toBe('--bogus-thing');
  });
});

/** What a controlled log already holds when the replica opens it: `records` offsets, all written in `epoch`. */
interface PriorLog {
  readonly records: number;
  readonly epoch: number;
  readonly highWatermark: number;
}

/** A PartitionLog (empty, or holding `prior`) whose appends complete only when the test says so. */
function controlledLog(prior?: PriorLog): { log: PartitionLog; prior: PriorLog | undefined; appends: AppendRecordsInput[]; complete(): void; fail(err: Error): void } {
  let leo = prior?.records ?? 0;
  let durable = leo;
  const appends: AppendRecordsInput[] = [];
  const waiting: Array<{ end: number; resolve: (r: AppendResult) => void; reject: (e: Error) => void; base: number }> = [];
  const log = {
    key: { topicId: 't', partition: 0 },
    get logStartOffset() { return 0; },
    epochBeforeLogStart: -1,
    get logEndOffset() { return leo; },
    get durableEndOffset() { return durable; },
    highWatermark: prior?.highWatermark ?? 0,
    lastEpoch: prior?.epoch ?? -1,
    sizeBytes: 0,
    epochEntries: () => (prior === undefined ? [] : [{ epoch: prior.epoch, startOffset: 0 }]),
    append(input: AppendRecordsInput): Promise<AppendResult> {
      appends.push(input);
      const base = leo;
      leo += input.recordCount;
      return new Promise((resolve, reject) => waiting.push({ end: leo, resolve, reject, base }));
    },
    setHighWatermark() {},
  } as unknown as PartitionLog;
  return {
    log,
    prior,
    appends,
    complete() {
      // One group commit: everything queued becomes durable at once, callbacks in order.
      const group = waiting.splice(0);
      durable = leo;
      for (const w of group) w.resolve({ baseOffset: w.base, lastOffset: w.end - 1, batch: Buffer.alloc(0) });
    },
    fail(err) {
      for (const w of waiting.splice(0)) w.reject(err);
    },
  };
}

/** A MetaStore whose puts complete only when the test says so. */
function controlledMeta(): { meta: MetaStore; puts: string[]; complete(): void } {
  const waiting: Array<() => void> = [];
  const puts: string[] = [];
  const meta = {
    put(key: string): Promise<void> {
      puts.push(key);
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
  } as unknown as MetaStore;
  return { meta, puts, complete: () => { for (const w of waiting.splice(0)) w(); } };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('ReplicaDriver (replication factor 1)', () => {
  const built = (n = 1) => buildRecordSet(Array.from({ length: n }, () => rec('v')), 1, 1000);
  async function leaderOn(c: ReturnType<typeof controlledLog>, epoch = 4, onFailed: () => void = () => undefined): Promise<ReplicaDriver> {
    const m = controlledMeta();
    const driver = new ReplicaDriver({
      nodeId: 1, topic: 't', topicId: 't', partition: 0, log: c.log, meta: m.meta, promisedEpoch: 0,
      settings: { retentionMs: -1, retentionBytes: -1, maxMessageBytes: 1000 }, logger: silentLogger, nowMs: () => 1,
      send: () => undefined, onDeclined: () => undefined, onFailed,
      notLeader: () => new RunnelError('NOT_LEADER', 'moved', { leaderId: 2, leaderAddress: 'b2:1' }),
    });
    let answered = false;
    const promise = driver.prepareEpoch(epoch, 5000).then((a) => { answered = true; return a; });
    await flush();
    expect(m.puts).toEqual(['replica-promise/t/0']);
    expect(answered).toBe(false); // the promise is answered only once durable
    m.complete();
    const prior = c.prior;
    expect(await promise).toMatchObject({ type: 'EpochPromise', epoch, lastEpoch: prior?.epoch ?? -1, logEndOffset: prior?.records ?? 0 });
    driver.roleChange(epoch, 1, [1]);
    expect(driver.isLeading).toBe(true);
    if (prior === undefined) {
      // An empty log has nothing of earlier epochs: no epoch-start control batch, offsets start at 0.
      expect(c.appends).toEqual([]);
      expect(driver.highWatermark).toBe(0);
      return driver;
    }
    expect(c.appends).toHaveLength(1);
    expect(c.appends[0]).toMatchObject({ recordCount: 1, attributes: 1, leaderEpoch: epoch }); // the epoch-start control batch
    expect(driver.highWatermark).toBe(prior.highWatermark); // nothing of earlier epochs commits before it
    c.complete();
    await flush();
    expect(driver.highWatermark).toBe(prior.records + 1);
    return driver;
  }

  it('promises durably before answering, starts its epoch over a non-empty log with a control batch, acks a group commit in order', async () => {
    const c = controlledLog({ records: 3, epoch: 2, highWatermark: 0 });
    const leader = await leaderOn(c);
    const seen: number[] = [];
    const ps = [leader.produce(built(2), 'ACKS_QUORUM', 5000, 7), leader.produce(built(1), 'ACKS_ALL', 5000, 7), leader.produce(built(3), 'ACKS_LEADER', 5000, 7)]
      .map((p) => p.then((o) => { seen.push(o.baseOffset); return o; }));
    expect(leader.inFlight).toBeGreaterThan(0);
    await flush();
    expect(seen).toEqual([]); // nothing is acknowledged before it is durable
    c.complete();
    const outcomes = await Promise.all(ps);
    // Earlier epoch's records at 0-2, the control batch at 3.
    expect(outcomes.map((o) => [o.baseOffset, o.leaderEpoch, o.appendTimeMs])).toEqual([[4, 4, 7], [6, 4, 7], [7, 4, 7]]);
    expect(seen).toEqual([4, 6, 7]);
    expect(leader.highWatermark).toBe(10);
    expect(leader.inFlight).toBe(0);
  });

  it('fails pending produces with LEADERSHIP_LOST (appended, outcome unknown; naming the leader) when leadership moves, and refuses new ones with NOT_LEADER', async () => {
    const c = controlledLog();
    const leader = await leaderOn(c);
    const ended: RunnelError[] = [];
    leader.addListener({ onAdvance: () => undefined, onEnd: (e) => ended.push(e) });
    const pending = leader.produce(built(), 'ACKS_QUORUM', 5000, 1);
    leader.roleChange(5, 2, [1, 2]);
    const err = await rejection(pending);
    expect([err.code, err.retriable, err.leaderId]).toEqual(['LEADERSHIP_LOST', true, 2]);
    expect(ended.map((e) => e.code)).toEqual(['NOT_LEADER']);
    expect((await rejection(() => leader.produce(built(), 'ACKS_QUORUM', 5000, 1))).code).toBe('NOT_LEADER');
    c.complete(); // the write still lands on disk; nobody is told twice
    expect(leader.isLeading).toBe(false);
  });

  it('answers TIMEOUT when the ack level is not reached in time (in ticks), and maps storage errors', async () => {
    const c = controlledLog();
    let failed = 0;
    const leader = await leaderOn(c, 4, () => failed++);
    const timedOut = leader.produce(built(), 'ACKS_QUORUM', 20, 1);
    leader.tick();
    leader.tick();
    const err = await rejection(timedOut);
    expect([err.code, err.retriable]).toEqual(['TIMEOUT', true]);
    const failing = leader.produce(built(), 'ACKS_QUORUM', 5000, 1);
    c.fail(Object.assign(new Error('disk on fire'), { code: 'STORAGE_ERROR' }));
    expect((await rejection(failing)).code).toBe('STORAGE_ERROR');
    expect(failed).toBe(1); // the owner rebuilds the replica from its log
    expect(leader.isLeading).toBe(false);
  });
});

describe('ProduceStreamSession', () => {
  it('stops reading at max in flight and resumes as answers go out', async () => {
    const call = Object.assign(new EventEmitter(), {
      paused: false,
      written: [] as unknown[],
      pause() { this.paused = true; },
      resume() { this.paused = false; },
      write(m: unknown) { this.written.push(m); return true; },
      end() {},
    });
    const resolvers: Array<(r: ProduceResponse) => void> = [];
    const service = { start: () => new Promise<ProduceResponse>((resolve) => resolvers.push(resolve)) } as unknown as ProduceService;
    new ProduceStreamSession(call as never, service, silentLogger, 3).start();
    for (let i = 0; i < 3; i++) call.emit('data', { correlationId: i, request: {} });
    expect(call.paused).toBe(true);
    resolvers.shift()!({ baseOffset: 0 });
    await Promise.resolve();
    await Promise.resolve();
    expect(call.written).toHaveLength(1);
    expect(call.written[0]).toMatchObject({ correlationId: 0, maxInFlight: 3 });
    expect(call.paused).toBe(false);
  });
});
