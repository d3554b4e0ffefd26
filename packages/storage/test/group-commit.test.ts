import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../src/index.js';
import type { StoreOptions } from '../src/index.js';
import { openStore, P0, records, silentLogger, tempDir } from './helpers.js';

type Observation = Parameters<NonNullable<StoreOptions['onGroupWrite']>>[0];

let dir: string;
let cleanup: () => Promise<void>;
let store: Store | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});

afterEach(async () => {
  await store?.close();
  store = undefined;
  await cleanup();
});

describe('group commit', () => {
  it('puts 200 concurrent appends from several partitions into far fewer synced LevelDB writes', async () => {
    store = await openStore(dir, { kind: 'always' });
    const logs = await Promise.all([0, 1, 2, 3].map((partition) => store!.partition({ topicId: 't', partition })));
    const before = store.stats();
    const appends = Array.from({ length: 200 }, (_, i) => logs[i % 4]!.append(records(`r${i}`)));
    await Promise.all(appends);
    const after = store.stats();
    const writes = after.writesTotal - before.writesTotal;
    expect(after.entriesTotal - before.entriesTotal).toBe(200);
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(5);
    expect(after.syncWritesTotal - before.syncWritesTotal).toBe(writes);
    for (const l of logs) expect([l.logEndOffset, l.durableEndOffset]).toEqual([50, 50]);
  });

  it('appends arriving while a write is in flight go into the next single write', async () => {
    store = await openStore(dir, { kind: 'always' });
    const log = await store.partition(P0);
    const first = log.append(records('first'));
    await Promise.resolve(); // the first write starts on this microtask turn
    await Promise.resolve();
    const before = store.stats().writesTotal;
    const rest = Array.from({ length: 50 }, (_, i) => log.append(records(`r${i}`)));
    await Promise.all([first, ...rest]);
    expect(store.stats().writesTotal - before).toBeLessThanOrEqual(2);
  });

  it('with fsync never, writes are not synced; with interval, a timer syncs', async () => {
    store = await openStore(dir, { kind: 'never' });
    const log = await store.partition(P0);
    const base = store.stats().syncWritesTotal;
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append(records(`r${i}`))));
    expect(store.stats().syncWritesTotal).toBe(base);
    await store.close();
    // A clean close fsyncs what `never` left to the OS.
    expect(store.stats().syncWritesTotal).toBe(base + 1);

    store = await openStore(dir, { kind: 'interval', intervalMs: 5 });
    const log2 = await store.partition(P0);
    const syncsBefore = store.stats().syncWritesTotal;
    await log2.append(records('x'));
    const deadline = Date.now() + 5_000;
    while (store.stats().syncWritesTotal === syncsBefore) {
      if (Date.now() > deadline) throw new Error('interval fsync never ran');
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(log2.logEndOffset).toBe(11);
  });

  it('bounds the pending queue: beyond pendingBytesMax an append is rejected and nothing moves', async () => {
    store = await openStore(dir, { kind: 'always' }, { pendingBytesMax: 1000 });
    const log = await store.partition(P0);
    const big = 'x'.repeat(400);
    const ok = [log.append(records(big)), log.append(records(big))];
    const rejected = log.append(records(big));
    await expect(rejected).rejects.toMatchObject({ code: 'TOO_MANY_REQUESTS', retriable: true });
    expect(log.logEndOffset).toBe(2);
    await Promise.all(ok);
    // Once the queue drained, appends are accepted again.
    expect((await log.append(records(big))).baseOffset).toBe(2);
  });
});

describe('store', () => {
  it('lists partitions, drops one with all its keys, and rejects use after close', async () => {
    store = await openStore(dir);
    const a = await store.partition({ topicId: 'a', partition: 0 });
    const b = await store.partition({ topicId: 'a', partition: 1 });
    const c = await store.partition({ topicId: 'a\u0000b', partition: 0 });
    expect(await store.partition({ topicId: 'a', partition: 0 })).toBe(a);
    await Promise.all([a.append(records('1')), b.append(records('2')), c.append(records('3'))]);
    a.setHighWatermark(1);
    expect(await store.listPartitions()).toEqual(
      expect.arrayContaining([{ topicId: 'a', partition: 0 }, { topicId: 'a', partition: 1 }, { topicId: 'a\u0000b', partition: 0 }]),
    );
    await store.dropPartition({ topicId: 'a', partition: 0 });
    expect(await store.listPartitions()).toHaveLength(2);
    await expect(a.append(records('x'))).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
    const again = await store.partition({ topicId: 'a', partition: 0 });
    expect([again.logEndOffset, again.highWatermark, again.lastEpoch]).toEqual([0, 0, -1]);
    expect(b.logEndOffset).toBe(1);
    await store.close();
    await store.close(); // idempotent
    await expect(store.partition(P0)).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });

  it('rejects malformed partition keys', async () => {
    store = await openStore(dir);
    await expect(store.partition({ topicId: '', partition: 0 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(store.partition({ topicId: 't', partition: -1 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    await expect(store.partition({ topicId: 't', partition: 1.5 })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });
});

describe('store open', () => {
  it('fails with STORAGE_ERROR when another store holds the directory', async () => {
    store = await openStore(dir);
    await expect(openStore(dir)).rejects.toMatchObject({ code: 'STORAGE_ERROR' });
  });
});

describe('StoreOptions.onGroupWrite', () => {
  it('is told about every group write: its duration, whether it synced, and its entries', async () => {
    const seen: Observation[] = [];
    store = await Store.open(dir, { fsync: { kind: 'always' }, logger: silentLogger, onGroupWrite: (o) => seen.push(o) });
    const log = await store.partition(P0);
    const before = store.stats();
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append(records(`r${i}`))));
    const after = store.stats();
    const mine = seen.slice(seen.length - (after.writesTotal - before.writesTotal));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.reduce((n, o) => n + o.entries, 0)).toBe(after.entriesTotal - before.entriesTotal);
    for (const o of mine) {
      expect(o.sync).toBe(true);
      expect(o.durationSeconds).toBeGreaterThanOrEqual(0);
      expect(o.durationSeconds).toBeLessThan(10);
    }
  });

  it('reports unsynced writes under --fsync never', async () => {
    const seen: Observation[] = [];
    store = await Store.open(dir, { fsync: { kind: 'never' }, logger: silentLogger, onGroupWrite: (o) => seen.push(o) });
    const log = await store.partition(P0);
    await log.append(records('x'));
    expect(seen.at(-1)).toMatchObject({ sync: false, entries: 1 });
  });
});
