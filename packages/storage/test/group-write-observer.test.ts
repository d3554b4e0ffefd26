import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../src/index.js';
import type { StoreOptions } from '../src/index.js';
import { P0, records, silentLogger, tempDir } from './helpers.js';

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
