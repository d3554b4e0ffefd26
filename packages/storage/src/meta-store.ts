import type { MetaStore } from './contract.js';
import type { Db, GroupCommit, WriteOp } from './group-commit.js';
import { metaKey, metaKeyName, metaPrefixEnd } from './keys.js';

const asBuffer = (v: Uint8Array): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));

/**
 * Process metadata in its own key space. Writes go through the group commit (so they share a
 * LevelDB write with appends) but always with sync: true, whatever the fsync policy: the
 * coordinator's promises must survive a power loss.
 */
export class LevelMetaStore implements MetaStore {
  constructor(
    private readonly db: Db,
    private readonly commit: GroupCommit,
  ) {}

  async get(key: string): Promise<Buffer | undefined> {
    return this.db.get(metaKey(key));
  }

  put(key: string, value: Uint8Array): Promise<void> {
    return this.commit.submit([{ type: 'put', key: metaKey(key), value: asBuffer(value) }], { sync: true, bytes: value.byteLength });
  }

  batch(ops: ReadonlyArray<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>): Promise<void> {
    let bytes = 0;
    const writeOps: WriteOp[] = ops.map((op) => {
      if (op.type === 'del') return { type: 'del', key: metaKey(op.key) };
      bytes += op.value.byteLength;
      return { type: 'put', key: metaKey(op.key), value: asBuffer(op.value) };
    });
    return this.commit.submit(writeOps, { sync: true, bytes });
  }

  del(key: string): Promise<void> {
    return this.commit.submit([{ type: 'del', key: metaKey(key) }], { sync: true });
  }

  async entries(prefix: string): Promise<Array<[string, Buffer]>> {
    const out: Array<[string, Buffer]> = [];
    for await (const [k, v] of this.db.iterator({ gte: metaKey(prefix), lt: metaPrefixEnd(prefix) })) {
      out.push([metaKeyName(k), v]);
    }
    return out;
  }
}
