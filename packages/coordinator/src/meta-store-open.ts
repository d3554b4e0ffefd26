import { Store } from '@runnel/storage';
import type { Logger } from 'pino';
import type { MetaKv } from './meta-kv.js';

/** An opened metadata store and how to close it. */
export interface OpenedMetaStore {
  readonly meta: MetaKv;
  close(): Promise<void>;
}

/** Opens the LevelDB store in `dataDir` (every write synchronous) and hands out its MetaStore. */
export async function openMetaStore(dataDir: string, log: Logger): Promise<OpenedMetaStore> {
  const store = await Store.open(dataDir, { fsync: { kind: 'always' }, logger: log });
  return { meta: store.meta, close: () => store.close() };
}
