import { Level } from 'level';
import { pino, type Logger } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBatchHeader, encodeBatch, Store, type Store as StoreType } from '../src/index.js';
import { PartitionKeys, u64Value } from '../src/keys.js';
import { openStore, P0, records, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: StoreType | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  await cleanup();
});

/** Opens the raw LevelDB (with the store closed) to tamper with it. */
async function withRawDb(fn: (db: Level<Buffer, Buffer>, keys: PartitionKeys) => Promise<void>): Promise<void> {
  const db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  try {
    await fn(db, new PartitionKeys(P0));
  } finally {
    await db.close();
  }
}

function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

const batchAt = (baseOffset: number, text: string, leaderEpoch = 2): Buffer =>
  encodeBatch({ baseOffset, recordCount: 2, leaderEpoch, maxTimestampMs: 1, producerId: 0, producerSequence: 0, attributes: 0, recordSet: Buffer.from(text) });

async function fillAndClose(): Promise<void> {
  store = await openStore(dir);
  const log = await store.partition(P0);
  for (let i = 0; i < 3; i++) await log.append(records(`b${i}`, { recordCount: 2, leaderEpoch: i }));
  log.setHighWatermark(4);
  await store.close();
  store = undefined;
}

describe('recovery on open', () => {
  it('drops an epoch entry that shares its start with a later epoch (left by retention before issue 11\'s fix)', async () => {
    await fillAndClose(); // epochs 0@0, 1@2, 2@4, LEO 6
    await withRawDb(async (db, keys) => {
      // What the old retention left after emptying the log at 6 and a new leader of epoch 3 wrote there.
      await db.batch([
        { type: 'del', key: keys.batch(0) }, { type: 'del', key: keys.batch(2) }, { type: 'del', key: keys.batch(4) },
        { type: 'del', key: keys.epoch(0) }, { type: 'del', key: keys.epoch(1) },
        { type: 'put', key: keys.epoch(2), value: u64Value(6) },
        { type: 'put', key: keys.logStart, value: u64Value(6) },
        { type: 'put', key: keys.batch(6), value: batchAt(6, 'marker', 3) },
        { type: 'put', key: keys.epoch(3), value: u64Value(6) },
      ]);
    });
    store = await openStore(dir);
    const log = await store.partition(P0);
    expect([log.logStartOffset, log.logEndOffset, log.epochBeforeLogStart]).toEqual([6, 8, -1]);
    expect(log.epochEntries()).toEqual([{ epoch: 3, startOffset: 6 }]);
  });

  it('recovers LEO, start, epoch cache and the HW checkpoint', async () => {
    await fillAndClose();
    store = await openStore(dir);
    const log = await store.partition(P0);
    expect([log.logStartOffset, log.logEndOffset, log.durableEndOffset, log.highWatermark, log.lastEpoch]).toEqual([0, 6, 6, 4, 2]);
    expect(log.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 2 }, { epoch: 2, startOffset: 4 }]);
    expect((await log.read(0, 1e9, 6)).map((b) => decodeBatchHeader(b).baseOffset)).toEqual([0, 2, 4]);
    expect(await store.listPartitions()).toEqual([P0]);
  });

  it('checkpoints the HW with the next group write, before any close', async () => {
    store = await openStore(dir);
    const a = await store.partition(P0);
    const b = await store.partition({ topicId: 'other', partition: 3 });
    await a.append(records('x', { recordCount: 5 }));
    a.setHighWatermark(5);
    await b.append(records('y')); // a different partition's write carries a's HW
    const raw = await (store as unknown as { db: Level<Buffer, Buffer> }).db.get(new PartitionKeys(P0).highWatermark);
    expect(raw).toEqual(u64Value(5));
  });

  it('clamps an HW checkpoint beyond the LEO', async () => {
    await fillAndClose();
    await withRawDb((db, keys) => db.put(keys.highWatermark, u64Value(1000), { sync: true }));
    store = await openStore(dir);
    expect((await store.partition(P0)).highWatermark).toBe(6);
  });

  it('truncates a CRC-failing tail batch, logs it, and never serves it', async () => {
    await fillAndClose();
    await withRawDb(async (db, keys) => {
      const last = (await db.get(keys.batch(4)))!;
      const bad = Buffer.from(last);
      bad[bad.length - 1]! ^= 0xff;
      await db.put(keys.batch(4), bad, { sync: true });
    });
    const { logger, lines } = capturingLogger();
    store = await Store.open(dir, { fsync: { kind: 'always' }, logger });
    const log = await store.partition(P0);
    expect(log.logEndOffset).toBe(4);
    expect(log.highWatermark).toBe(4);
    expect(log.epochEntries()).toEqual([{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 2 }]);
    expect((await log.read(0, 1e9, 100)).map((b) => decodeBatchHeader(b).baseOffset)).toEqual([0, 2]);
    expect(lines).toEqual([expect.objectContaining({ msg: 'truncated corrupt tail', topicId: P0.topicId, partition: 0, offset: 4 })]);
    // The deletion is durable: a second reopen finds nothing to repair.
    await store.close();
    const second = capturingLogger();
    store = await Store.open(dir, { fsync: { kind: 'always' }, logger: second.logger });
    expect((await store.partition(P0)).logEndOffset).toBe(4);
    expect(second.lines).toEqual([]);
  });

  it('truncates torn bytes, a non-contiguous batch and everything after them', async () => {
    await fillAndClose();
    await withRawDb(async (db, keys) => {
      await db.put(keys.batch(6), batchAt(6, 'good'), { sync: true });
      await db.put(keys.batch(8), batchAt(8, 'torn').subarray(0, 9), { sync: true }); // torn
      await db.put(keys.batch(10), batchAt(10, 'after'), { sync: true }); // sound but after the tear
      await db.put(keys.batch(20), batchAt(20, 'gap'), { sync: true });
    });
    store = await openStore(dir);
    const log = await store.partition(P0);
    expect(log.logEndOffset).toBe(8);
    expect((await log.read(0, 1e9, 100)).map((b) => decodeBatchHeader(b).baseOffset)).toEqual([0, 2, 4, 6]);
    expect((await log.append(records('next', { leaderEpoch: 2 }))).baseOffset).toBe(8);
    expect((await log.read(8, 1e9, 100)).map((b) => decodeBatchHeader(b).baseOffset)).toEqual([8]);
  });

  it('drops a batch whose key and header disagree', async () => {
    await fillAndClose();
    await withRawDb((db, keys) => db.put(keys.batch(6), batchAt(7, 'liar'), { sync: true }));
    store = await openStore(dir);
    expect((await store.partition(P0)).logEndOffset).toBe(6);
  });

  it('drops a batch whose leader epoch goes backwards', async () => {
    await fillAndClose();
    await withRawDb((db, keys) => db.put(keys.batch(6), batchAt(6, 'old epoch', 1), { sync: true }));
    store = await openStore(dir);
    expect((await store.partition(P0)).logEndOffset).toBe(6);
  });
});
