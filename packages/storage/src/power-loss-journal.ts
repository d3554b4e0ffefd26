import type { Logger } from 'pino';
import type { Db, WriteOp } from './group-commit.js';
import { writeU64, readU64 } from './keys.js';

/**
 * TEST-ONLY power-loss simulation. A kill -9 loses nothing the OS already has, so by itself it
 * never tests the fsync policy. With this journal, every write that is NOT fsynced also stores, in
 * the same atomic LevelDB batch, undo records (each key's previous value); an fsynced write
 * deletes them (everything before it is on disk now). After a simulated power loss the node starts
 * with `rollback`, which applies the undo records newest first: the store is exactly what an fsync
 * would have guaranteed, and every write since the last fsync is gone.
 *
 * Key space 0x7f (unused by the store, see keys.ts): 0x7f u64(seq) -> u32(keyLength) key
 * u8(hadValue) [value].
 */
const SPACE_UNDO = 0x7f;
const UNDO_START = Buffer.from([SPACE_UNDO]);
const UNDO_END = Buffer.from([SPACE_UNDO + 1]);

function undoKey(seq: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = SPACE_UNDO;
  writeU64(k, 1, seq);
  return k;
}

function encodeUndo(key: Buffer, previous: Buffer | undefined): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(key.length, 0);
  head[4] = previous === undefined ? 0 : 1;
  return Buffer.concat(previous === undefined ? [head.subarray(0, 4), key, head.subarray(4)] : [head.subarray(0, 4), key, head.subarray(4), previous]);
}

function decodeUndo(v: Buffer): { key: Buffer; previous: Buffer | undefined } {
  const len = v.readUInt32BE(0);
  const key = v.subarray(4, 4 + len);
  const had = v[4 + len] === 1;
  return { key, previous: had ? v.subarray(5 + len) : undefined };
}

export class PowerLossJournal {
  private constructor(
    private readonly db: Db,
    private seq: number,
    /** Undo keys written since the last fsynced write. */
    private pending: Buffer[],
  ) {}

  static async open(db: Db): Promise<PowerLossJournal> {
    const pending: Buffer[] = [];
    let seq = 0;
    for await (const k of db.keys({ gte: UNDO_START, lt: UNDO_END })) {
      pending.push(k);
      seq = Math.max(seq, readU64(k, 1) + 1);
    }
    return new PowerLossJournal(db, seq, pending);
  }

  /** The ops to write instead of `ops`: with undo records (unsynced) or clearing them (synced). */
  async wrap(ops: readonly WriteOp[], sync: boolean): Promise<WriteOp[]> {
    if (sync) {
      const cleared = this.pending.map((key): WriteOp => ({ type: 'del', key }));
      this.pending = [];
      return [...ops, ...cleared];
    }
    const previous = await this.db.getMany(ops.map((op) => op.key));
    const undo: WriteOp[] = ops.map((op, i) => {
      const key = undoKey(this.seq++);
      this.pending.push(key);
      return { type: 'put', key, value: encodeUndo(op.key, previous[i] ?? undefined) };
    });
    return [...ops, ...undo];
  }

  /** Undoes every unsynced write, newest first, in one fsynced batch; returns how many. */
  static async rollback(db: Db, log: Logger): Promise<number> {
    const records: Array<{ undoKey: Buffer; key: Buffer; previous: Buffer | undefined }> = [];
    for await (const [k, v] of db.iterator({ gte: UNDO_START, lt: UNDO_END })) records.push({ undoKey: k, ...decodeUndo(v) });
    const ops: WriteOp[] = [];
    for (const r of records.reverse()) {
      ops.push(r.previous === undefined ? { type: 'del', key: r.key } : { type: 'put', key: r.key, value: r.previous });
    }
    // Each key's oldest undo record is applied last, restoring its value as of the last fsync.
    const byKey = new Map<string, WriteOp>();
    for (const op of ops) byKey.set(op.key.toString('hex'), op);
    const final = [...byKey.values(), ...records.map((r): WriteOp => ({ type: 'del', key: r.undoKey }))];
    if (final.length > 0) await db.batch(final, { sync: true });
    log.warn({ undone: records.length }, 'simulated power loss: every write since the last fsync was discarded');
    return records.length;
  }
}
