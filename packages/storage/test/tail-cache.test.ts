// The in-memory tail of a partition log: reads of the newest batches come from memory, a leader
// can read a batch still being written (unflushed) while consumers cannot, and truncation,
// reset and retention keep it in step with the log.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TailCache } from '../src/tail-cache.js';
import type { Store } from '../src/index.js';
import { P0, openStore, records, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: Store;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir);
});
afterEach(async () => {
  await store.close();
  await cleanup();
});

describe('partition log tail', () => {
  it('serves a batch still being written only to an unflushed read', async () => {
    const log = await store.partition(P0);
    await log.append(records('a'));
    const pending = log.append(records('b'));
    expect(log.durableEndOffset).toBe(1);
    expect(await log.read(1, 1 << 20, 10)).toEqual([]);
    const early = await log.read(1, 1 << 20, 10, { unflushed: true });
    expect(early).toHaveLength(1);
    await pending;
    expect(await log.read(1, 1 << 20, 10)).toEqual(early);
    expect((await log.read(0, 1 << 20, 10)).map((b) => b.length)).toHaveLength(2);
  });

  it('forgets truncated batches, and reads after a reset see only the new log', async () => {
    const log = await store.partition(P0);
    for (const v of ['a', 'b', 'c']) await log.append(records(v));
    await log.truncateTo(1);
    expect(await log.read(0, 1 << 20, 10, { unflushed: true })).toHaveLength(1);
    await log.append(records('B'));
    const [, second] = await log.read(0, 1 << 20, 10, { unflushed: true });
    expect(second?.includes(Buffer.from('B'))).toBe(true);
  });
});

describe('TailCache', () => {
  it('evicts the oldest durable batches past its bound, never one still being written', () => {
    const cache = new TailCache(10);
    cache.push(0, 1, Buffer.alloc(6), 0);
    cache.push(1, 2, Buffer.alloc(6), 0);
    expect(cache.read(0, 100, 2)).toHaveLength(2); // nothing durable: nothing evicted
    cache.evict(1);
    expect(cache.read(0, 100, 2)).toBeUndefined(); // batch 0 gone: read LevelDB
    expect(cache.read(1, 100, 2)).toHaveLength(1);
  });

  it('restarts when a batch does not follow the last one, and drops batches below a retention start', () => {
    const cache = new TailCache(1_000);
    cache.push(0, 2, Buffer.alloc(1), 2);
    cache.push(2, 3, Buffer.alloc(1), 3);
    cache.dropBefore(2);
    expect(cache.read(0, 100, 3)).toBeUndefined();
    cache.push(10, 11, Buffer.alloc(1), 11);
    expect(cache.read(10, 100, 11)).toHaveLength(1);
    expect(cache.read(2, 100, 11)).toBeUndefined();
  });
});
