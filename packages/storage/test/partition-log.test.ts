import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBatchHeader, encodeBatch, type Store, type StorePartitionLog } from '../src/index.js';
import { openStore, P0, records, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: Store;
let log: StorePartitionLog;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir);
  log = await store.partition(P0);
});

afterEach(async () => {
  await store.close();
  await cleanup();
});

const bases = (batches: Buffer[]): number[] => batches.map((b) => decodeBatchHeader(b).baseOffset);

describe('append and read', () => {
  it('assigns offsets from 0, advances LEO at once and durableEndOffset on resolve', async () => {
    expect([log.logStartOffset, log.logEndOffset, log.durableEndOffset, log.lastEpoch]).toEqual([0, 0, 0, -1]);
    const p = log.append(records('a', { recordCount: 3 }));
    expect(log.logEndOffset).toBe(3);
    expect(log.durableEndOffset).toBe(0);
    const r = await p;
    expect(r).toMatchObject({ baseOffset: 0, lastOffset: 2 });
    expect(log.durableEndOffset).toBe(3);
    expect(log.lastEpoch).toBe(0);
    expect(decodeBatchHeader(r.batch)).toMatchObject({ baseOffset: 0, recordCount: 3, leaderEpoch: 0, maxTimestampMs: 1000 });
  });

  it('reads whole batches from the one containing fromOffset, within the byte budget and below endOffset', async () => {
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) sizes.push((await log.append(records(`batch-${i}`.padEnd(100, '.'), { recordCount: 2 }))).batch.length);
    // batches at 0, 2, 4, 6, 8
    expect(bases(await log.read(5, 1e9, 100))).toEqual([4, 6, 8]);
    expect(bases(await log.read(0, sizes[0]! * 2, 100))).toEqual([0, 2]);
    expect(bases(await log.read(0, sizes[0]! * 2 - 1, 100))).toEqual([0]);
    expect(bases(await log.read(3, 1, 100))).toEqual([2]); // at least one batch
    expect(bases(await log.read(0, 1e9, 6))).toEqual([0, 2, 4]); // never base >= endOffset
    expect(bases(await log.read(0, 1e9, 5))).toEqual([0, 2, 4]); // straddling batch base 4 < 5
    expect(await log.read(6, 1e9, 6)).toEqual([]);
    expect(await log.read(10, 1e9, 100)).toEqual([]); // at the LEO
  });

  it('rejects reads outside [start, LEO] with OFFSET_OUT_OF_RANGE', async () => {
    await log.append(records('x'));
    await expect(log.read(2, 100, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await expect(log.read(-1, 100, 100)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await expect(log.read(0, Number.NaN, 100)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('gives concurrent appends consecutive offsets in call order', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(records(`r${i}`, { recordCount: 1 + (i % 3) }))));
    let next = 0;
    for (const r of results) {
      expect(r.baseOffset).toBe(next);
      next = r.lastOffset + 1;
    }
    expect(log.logEndOffset).toBe(next);
    const all = await log.read(0, 1e9, next);
    expect(all).toHaveLength(50);
    expect(all.map((b) => b.toString('utf8', decodeBatchHeader(b).recordSetStart))).toEqual(results.map((_, i) => `r${i}`));
  });

  it('rejects invalid input without writing anything', async () => {
    await expect(log.append(records('x', { recordCount: 0 }))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(log.append(records('x', { leaderEpoch: -1 }))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(log.logEndOffset).toBe(0);
  });

  it('asserts (throws, not rejects) when the leader epoch goes backwards', async () => {
    await log.append(records('x', { leaderEpoch: 3 }));
    expect(() => log.append(records('y', { leaderEpoch: 2 }))).toThrow(/epoch went backwards/);
    expect(log.logEndOffset).toBe(1);
  });
});

describe('follower appendBatch', () => {
  it('appends a leader-built batch at the LEO as-is', async () => {
    const batch = encodeBatch({ baseOffset: 0, recordCount: 4, leaderEpoch: 2, maxTimestampMs: 5, producerId: 0, producerSequence: 0, attributes: 0, recordSet: Buffer.from('rs') });
    const r = await log.appendBatch(batch);
    expect(r).toMatchObject({ baseOffset: 0, lastOffset: 3 });
    expect(r.batch).toEqual(batch);
    expect(await log.read(0, 1e9, 4)).toEqual([batch]);
    expect(log.epochEntries()).toEqual([{ epoch: 2, startOffset: 0 }]);
  });

  it('rejects a batch not at the LEO, or with a bad CRC, and writes nothing', async () => {
    const at = (baseOffset: number): Buffer =>
      encodeBatch({ baseOffset, recordCount: 1, leaderEpoch: 0, maxTimestampMs: 5, producerId: 0, producerSequence: 0, attributes: 0, recordSet: Buffer.from('rs') });
    await expect(log.appendBatch(at(1))).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', retriable: false });
    const bad = at(0);
    bad[bad.length - 1]! ^= 1;
    await expect(log.appendBatch(bad)).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(log.appendBatch(Buffer.from([0x08]))).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    expect(log.logEndOffset).toBe(0);
    expect(await log.read(0, 1e9, 10)).toEqual([]);
  });
});

describe('truncateTo', () => {
  it('drops batches at or after the offset; a straddling batch is dropped whole', async () => {
    await log.append(records('a', { recordCount: 3, leaderEpoch: 1 })); // 0..2
    await log.append(records('b', { recordCount: 3, leaderEpoch: 2 })); // 3..5
    await log.append(records('c', { recordCount: 3, leaderEpoch: 3 })); // 6..8
    log.setHighWatermark(9);
    await log.truncateTo(4);
    expect(log.logEndOffset).toBe(3);
    expect(log.durableEndOffset).toBe(3);
    expect(log.highWatermark).toBe(3);
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect(log.lastEpoch).toBe(1);
    expect(bases(await log.read(0, 1e9, 100))).toEqual([0]);
    // The log continues from the new LEO, a new epoch may start there.
    const r = await log.append(records('d', { recordCount: 2, leaderEpoch: 4 }));
    expect(r.baseOffset).toBe(3);
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 4, startOffset: 3 }]);
    expect(bases(await log.read(0, 1e9, 100))).toEqual([0, 3]);
    expect((await log.read(3, 1e9, 100))[0]!.toString('utf8', decodeBatchHeader((await log.read(3, 1e9, 100))[0]!).recordSetStart)).toBe('d');
  });

  it('at or past the LEO is a no-op; truncating to 0 empties the log', async () => {
    await log.append(records('a', { recordCount: 2 }));
    await log.truncateTo(2);
    await log.truncateTo(50);
    expect(log.logEndOffset).toBe(2);
    await log.truncateTo(0);
    expect([log.logEndOffset, log.lastEpoch, log.sizeBytes]).toEqual([0, -1, 0]);
    expect(await log.read(0, 1e9, 100)).toEqual([]);
  });

  it('is durable and survives reopen, epoch cache included', async () => {
    await log.append(records('a', { recordCount: 2, leaderEpoch: 1 }));
    await log.append(records('b', { recordCount: 2, leaderEpoch: 2 }));
    await log.truncateTo(2);
    await store.close();
    store = await openStore(dir);
    log = await store.partition(P0);
    expect(log.logEndOffset).toBe(2);
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }]);
  });

  it('with appends still in flight, never serves the truncated data', async () => {
    const pending = [log.append(records('a', { recordCount: 2 })), log.append(records('b', { recordCount: 2 }))];
    const t = log.truncateTo(2);
    const again = log.append(records('c', { recordCount: 1 }));
    await Promise.all([...pending, t, again]);
    const got = await log.read(0, 1e9, 100);
    expect(got.map((b) => b.toString('utf8', decodeBatchHeader(b).recordSetStart))).toEqual(['a', 'c']);
    expect(log.durableEndOffset).toBe(3);
  });
});

describe('endOffsetForEpoch', () => {
  it('follows the epoch cache and the LEO', async () => {
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: -1, endOffset: -1 });
    await log.append(records('a', { recordCount: 5, leaderEpoch: 1 }));
    await log.append(records('b', { recordCount: 5, leaderEpoch: 1 }));
    await log.append(records('c', { recordCount: 5, leaderEpoch: 3 }));
    expect(log.epochEntries()).toEqual([{ epoch: 1, startOffset: 0 }, { epoch: 3, startOffset: 10 }]);
    expect(log.endOffsetForEpoch(0)).toEqual({ epoch: -1, endOffset: -1 });
    expect(log.endOffsetForEpoch(1)).toEqual({ epoch: 1, endOffset: 10 });
    expect(log.endOffsetForEpoch(2)).toEqual({ epoch: 1, endOffset: 10 });
    expect(log.endOffsetForEpoch(3)).toEqual({ epoch: 3, endOffset: 15 });
    expect(log.endOffsetForEpoch(7)).toEqual({ epoch: 3, endOffset: 15 });
  });
});

describe('offsetForTimestamp', () => {
  it('returns the base of the first batch whose max timestamp reaches the target', async () => {
    await log.append(records('a', { recordCount: 2, maxTimestampMs: 100 }));
    await log.append(records('b', { recordCount: 2, maxTimestampMs: 300 }));
    await log.append(records('c', { recordCount: 2, maxTimestampMs: 200 }));
    expect(await log.offsetForTimestamp(0)).toBe(0);
    expect(await log.offsetForTimestamp(100)).toBe(0);
    expect(await log.offsetForTimestamp(101)).toBe(2);
    expect(await log.offsetForTimestamp(250)).toBe(2);
    expect(await log.offsetForTimestamp(301)).toBeUndefined();
  });
});

describe('high watermark', () => {
  it('is monotonic and asserts it never passes the LEO', async () => {
    await log.append(records('a', { recordCount: 4 }));
    log.setHighWatermark(3);
    log.setHighWatermark(1);
    expect(log.highWatermark).toBe(3);
    expect(() => log.setHighWatermark(5)).toThrow(/beyond the log end offset/);
  });
});

describe('retention', () => {
  async function fill(): Promise<number> {
    let size = 0;
    for (let i = 0; i < 6; i++) size = (await log.append(records(`batch-${i}`, { recordCount: 2, maxTimestampMs: 1000 * (i + 1), leaderEpoch: i < 3 ? 1 : 2 }))).batch.length;
    return size; // every batch has the same size
  }

  it('by time deletes whole expired batches below notAbove and advances the start durably', async () => {
    await fill();
    // now 4500, retention 2000: batches with max timestamp < 2500 (1000, 2000) expire.
    expect(await log.applyRetention({ retentionMs: 2000, retentionBytes: -1, nowMs: 4500, notAbove: 12 })).toBe(4);
    expect(log.logStartOffset).toBe(4);
    expect(bases(await log.read(4, 1e9, 12))).toEqual([4, 6, 8, 10]);
    await expect(log.read(2, 1e9, 12)).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE' });
    await store.close();
    store = await openStore(dir);
    log = await store.partition(P0);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([4, 12]);
    expect(bases(await log.read(4, 1e9, 12))).toEqual([4, 6, 8, 10]);
  });

  it('by time never deletes at or above notAbove', async () => {
    await fill();
    expect(await log.applyRetention({ retentionMs: 0, retentionBytes: -1, nowMs: 1e9, notAbove: 5 })).toBe(4);
    expect(log.logStartOffset).toBe(4);
  });

  it('by size deletes the oldest batches until the log fits', async () => {
    const batchSize = await fill();
    expect(log.sizeBytes).toBe(6 * batchSize);
    expect(await log.applyRetention({ retentionMs: -1, retentionBytes: 2 * batchSize + 1, nowMs: 0, notAbove: 12 })).toBe(8);
    expect(log.sizeBytes).toBe(2 * batchSize);
    expect(log.logStartOffset).toBe(8);
    // The epoch of the oldest retained record stays known.
    expect(log.epochEntries()).toEqual([{ epoch: 2, startOffset: 8 }]);
    expect(await log.applyRetention({ retentionMs: -1, retentionBytes: 2 * batchSize + 1, nowMs: 0, notAbove: 12 })).toBe(0);
  });

  it('can delete everything below notAbove; the log continues at its end', async () => {
    await fill();
    expect(await log.applyRetention({ retentionMs: 0, retentionBytes: -1, nowMs: 1e9, notAbove: 12 })).toBe(12);
    expect([log.logStartOffset, log.logEndOffset, log.sizeBytes]).toEqual([12, 12, 0]);
    await store.close();
    store = await openStore(dir);
    log = await store.partition(P0);
    expect([log.logStartOffset, log.logEndOffset]).toEqual([12, 12]);
    expect((await log.append(records('z'))).baseOffset).toBe(12);
  });

  it('keeps the epoch of the last deleted record across a restart, also when the log is emptied (issue 11)', async () => {
    await fill();
    expect(log.epochBeforeLogStart).toBe(-1);
    await log.applyRetention({ retentionMs: 2000, retentionBytes: -1, nowMs: 4500, notAbove: 12 });
    expect([log.logStartOffset, log.epochBeforeLogStart]).toEqual([4, 1]);
    await log.applyRetention({ retentionMs: 0, retentionBytes: -1, nowMs: 1e9, notAbove: 12 });
    expect([log.logStartOffset, log.epochBeforeLogStart]).toEqual([12, 2]);
    await store.close();
    store = await openStore(dir);
    log = await store.partition(P0);
    // An emptied log has no batch, so no epoch entry: the log start carries its epoch.
    expect([log.logStartOffset, log.logEndOffset, log.epochBeforeLogStart, log.epochEntries().length]).toEqual([12, 12, 2, 0]);
  });
});

describe('resetTo', () => {
  it('empties the log and restarts it at the offset, durably', async () => {
    await log.append(records('a', { recordCount: 3, leaderEpoch: 1 }));
    await log.resetTo(100);
    expect([log.logStartOffset, log.logEndOffset, log.highWatermark, log.lastEpoch]).toEqual([100, 100, 100, -1]);
    await store.close();
    store = await openStore(dir);
    log = await store.partition(P0);
    expect([log.logStartOffset, log.logEndOffset, log.epochBeforeLogStart]).toEqual([100, 100, -1]);
    expect((await log.append(records('b', { leaderEpoch: 2 }))).baseOffset).toBe(100);
  });

  it('keeps the epoch before the new start it is given, across a restart', async () => {
    await log.append(records('a', { recordCount: 3, leaderEpoch: 1 }));
    await log.resetTo(50, 4);
    expect([log.logStartOffset, log.epochBeforeLogStart]).toEqual([50, 4]);
    await store.close();
    store = await openStore(dir);
    log = await store.partition(P0);
    expect([log.logStartOffset, log.logEndOffset, log.epochBeforeLogStart]).toEqual([50, 50, 4]);
  });
});
