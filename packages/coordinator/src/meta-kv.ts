/**
 * The durable key-value space the coordinator keeps its metadata in: the same shape as
 * `MetaStore` in @runnel/storage (packages/storage/src/contract.ts), restated here so the
 * coordinator's logic and tests do not depend on the LevelDB implementation. `MemoryMetaKv` is the
 * in-memory twin.
 */
export interface MetaKv {
  get(key: string): Promise<Buffer | undefined>;
  /** Synchronous (fsynced) write: resolves when on disk. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Several puts/deletes atomically and synchronously. */
  batch(ops: ReadonlyArray<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>): Promise<void>;
  del(key: string): Promise<void>;
  /** Every key starting with `prefix`, in key order. */
  entries(prefix: string): Promise<Array<[string, Buffer]>>;
}

/** In-memory MetaKv: for tests; "durable" only as long as the object lives. */
export class MemoryMetaKv implements MetaKv {
  private readonly data = new Map<string, Buffer>();

  async get(key: string): Promise<Buffer | undefined> {
    const v = this.data.get(key);
    return v === undefined ? undefined : Buffer.from(v);
  }

  async put(key: string, value: Uint8Array): Promise<void> {
    this.data.set(key, Buffer.from(value));
  }

  async batch(ops: ReadonlyArray<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>): Promise<void> {
    for (const op of ops) {
      if (op.type === 'put') this.data.set(op.key, Buffer.from(op.value));
      else this.data.delete(op.key);
    }
  }

  async del(key: string): Promise<void> {
    this.data.delete(key);
  }

  async entries(prefix: string): Promise<Array<[string, Buffer]>> {
    return [...this.data.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, Buffer.from(v)]);
  }
}
