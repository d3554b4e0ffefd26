import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/index.js';
import { openStore, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: Store;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await openStore(dir, { kind: 'never' });
});

afterEach(async () => {
  await store.close();
  await cleanup();
});

describe('meta store', () => {
  it('puts, gets, deletes, lists by prefix in key order, and survives reopen', async () => {
    const m = store.meta;
    expect(await m.get('missing')).toBeUndefined();
    await m.put('coord/b', Buffer.from('2'));
    await m.put('coord/a', new Uint8Array([1]));
    await m.put('coordinator', Buffer.from('not under coord/'));
    await m.batch([
      { type: 'put', key: 'coord/c', value: Buffer.from('3') },
      { type: 'del', key: 'coord/b' },
    ]);
    expect(await m.get('coord/a')).toEqual(Buffer.from([1]));
    expect((await m.entries('coord/')).map(([k, v]) => [k, v.toString()])).toEqual([
      ['coord/a', '\u0001'],
      ['coord/c', '3'],
    ]);
    await m.del('coord/a');
    const before = store.stats().syncWritesTotal;
    await m.put('epoch', Buffer.from('7'));
    // Metadata is fsynced even when the store's policy is `never`.
    expect(store.stats().syncWritesTotal).toBe(before + 1);
    await store.close();
    store = await openStore(dir);
    expect((await store.meta.entries('')).map(([k]) => k)).toEqual(['coord/c', 'coordinator', 'epoch']);
    expect(await store.listPartitions()).toEqual([]);
  });
});
