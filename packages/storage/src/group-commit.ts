import { performance } from 'node:perf_hooks';
import type { Level } from 'level';
import type { Logger } from 'pino';
import type { FsyncPolicy } from './contract.js';
import { groupWriteBytesMax } from './constants.js';
import { FSYNC_MARKER_KEY } from './keys.js';
import type { PowerLossJournal } from './power-loss-journal.js';
import { StorageError } from './storage-error.js';

export type Db = Level<Buffer, Buffer>;

export type WriteOp =
  | { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer }
  | { readonly type: 'del'; readonly key: Buffer };

export interface SubmitOptions {
  /** Bytes this entry holds in memory (counted against the pending bound). */
  readonly bytes?: number;
  /** Force a synchronous write whatever the policy (metadata, truncation, close). */
  readonly sync?: boolean;
  /** Runs synchronously, in submission order, once the entry's write succeeded (before its promise resolves). */
  readonly onWritten?: () => void;
}

/** A tiny write whose only purpose is to make LevelDB fsync its log. */
const FSYNC_MARKER_OP: WriteOp = { type: 'put', key: FSYNC_MARKER_KEY, value: Buffer.alloc(0) };

interface Entry {
  readonly ops: readonly WriteOp[];
  readonly bytes: number;
  readonly sync: boolean;
  readonly onWritten: (() => void) | undefined;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** One group write as an observer sees it (metrics: write / fsync latency). */
export interface GroupWriteObservation {
  /** How long the `db.batch` took (with the power-loss journal's own write, when enabled), in seconds. */
  readonly durationSeconds: number;
  /** Whether it was written with `sync: true` (an fsync). */
  readonly sync: boolean;
  /** Entries (appends, truncations, metadata writes...) it carried. */
  readonly entries: number;
}

/**
 * Called synchronously after each successful group write, outside the write's error handling (an
 * observer that throws is a programmer error, not a storage failure). Keep it cheap: it runs once
 * per group write, before the group's waiters are resolved.
 */
export type GroupWriteObserver = (observation: GroupWriteObservation) => void;

export interface GroupCommitStats {
  /** LevelDB writes issued (each one `db.batch`). */
  readonly writesTotal: number;
  /** Entries (appends, truncations, metadata writes...) carried by those writes. */
  readonly entriesTotal: number;
  /** Of writesTotal, those issued with sync: true. */
  readonly syncWritesTotal: number;
  readonly pendingBytes: number;
}

/**
 * Group commit: every write submitted while one `db.batch()` is in flight goes, in submission order,
 * into the next single `db.batch()` (up to groupWriteBytesMax). Writes that arrive while idle are
 * started on the next microtask, so a synchronous burst also shares one write.
 *
 * Fsync: `always` passes `{ sync: true }` on every group write; `interval` writes with sync:false
 * and a timer issues a tiny sync:true write every intervalMs if anything was written since (LevelDB
 * fsyncs its log, earlier writes included); `never` always writes with sync:false. An entry's
 * promise resolves only when its group write has resolved.
 *
 * A failed write poisons the store: that group and everything after it reject with STORAGE_ERROR,
 * since in-memory offsets have already moved past what reached the disk.
 */
export class GroupCommit {
  private queue: Entry[] = [];
  private pendingBytes = 0;
  private running = false;
  private scheduled = false;
  private failure: StorageError | undefined;
  private closed = false;
  private unsyncedWrites = false;
  private idleWaiters: Array<() => void> = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private writesTotal = 0;
  private entriesTotal = 0;
  private syncWritesTotal = 0;

  constructor(
    private readonly db: Db,
    private readonly policy: FsyncPolicy,
    private readonly log: Logger,
    /** Called when each group is formed: extra ops to piggyback (high-watermark checkpoints). */
    private readonly collectExtraOps: () => WriteOp[],
    private readonly pendingBytesMax: number,
    /** Test-only power-loss simulation (see power-loss-journal.ts). */
    private readonly journal?: PowerLossJournal,
    /** Optional: told about every successful group write (metrics). */
    private readonly observer?: GroupWriteObserver,
  ) {
    if (policy.kind === 'interval') {
      this.timer = setInterval(() => this.syncTick(), policy.intervalMs);
      // The timer must not keep the process alive; close() clears it.
      this.timer.unref();
    }
  }

  stats(): GroupCommitStats {
    return {
      writesTotal: this.writesTotal,
      entriesTotal: this.entriesTotal,
      syncWritesTotal: this.syncWritesTotal,
      pendingBytes: this.pendingBytes,
    };
  }

  /** Throws the error a new write would get now (poisoned, closed or over the pending bound). */
  checkWritable(bytes: number): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new StorageError('SHUTTING_DOWN', 'the store is closed');
    // One entry may exceed the bound alone, else a huge batch could never be written.
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.pendingBytesMax) {
      throw new StorageError('TOO_MANY_REQUESTS', `storage write queue is full (${this.pendingBytes} bytes pending)`);
    }
  }

  /**
   * Queues `ops` for the next group write. Call checkWritable first when the caller has changed
   * in-memory state on the strength of this write succeeding; submit itself never throws.
   */
  submit(ops: readonly WriteOp[], options: SubmitOptions = {}): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new StorageError('SHUTTING_DOWN', 'the store is closed'));
    return new Promise<void>((resolve, reject) => {
      const bytes = options.bytes ?? 0;
      this.queue.push({ ops, bytes, sync: options.sync ?? false, onWritten: options.onWritten, resolve, reject });
      this.pendingBytes += bytes;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (!this.running && !this.scheduled && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the fsync timer, waits for queued writes, then refuses new ones. Idempotent. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.idle();
    this.closed = true;
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private syncTick(): void {
    if (!this.unsyncedWrites || this.closed || this.failure !== undefined) return;
    // Errors reach the waiters of real writes; this sync request has none.
    this.submit([], { sync: true }).catch(() => undefined);
  }

  private takeGroup(): Entry[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length) {
      const e = this.queue[n];
      if (e === undefined || (n > 0 && bytes + e.bytes > groupWriteBytesMax)) break;
      bytes += e.bytes;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && this.failure === undefined) {
        const group = this.takeGroup();
        const ops: WriteOp[] = [];
        let sync = this.policy.kind === 'always';
        for (const e of group) {
          for (const op of e.ops) ops.push(op);
          if (e.sync) sync = true;
        }
        for (const op of this.collectExtraOps()) ops.push(op);
        // A sync request with nothing to write still has to fsync what earlier writes left unsynced.
        if (sync && ops.length === 0 && this.unsyncedWrites) ops.push(FSYNC_MARKER_OP);
        const startedMs = this.observer === undefined || ops.length === 0 ? undefined : performance.now();
        try {
          if (ops.length > 0) {
            const written = this.journal === undefined ? ops : await this.journal.wrap(ops, sync);
            // `sync` is passed explicitly either way: LevelDB's silent default is false.
            await this.db.batch(written, { sync });
            this.writesTotal++;
            if (sync) this.syncWritesTotal++;
            this.unsyncedWrites = !sync;
          }
        } catch (cause) {
          this.fail(cause, group);
          return;
        }
        if (startedMs !== undefined) this.observer?.({ durationSeconds: (performance.now() - startedMs) / 1000, sync, entries: group.length });
        this.entriesTotal += group.length;
        for (const e of group) {
          this.pendingBytes -= e.bytes;
          e.onWritten?.();
          e.resolve();
        }
      }
    } finally {
      this.running = false;
      if (this.queue.length > 0 && this.failure === undefined) this.schedule();
      else this.wakeIdle();
    }
  }

  private fail(cause: unknown, group: Entry[]): void {
    this.failure = new StorageError('STORAGE_ERROR', 'a LevelDB write failed; the store refuses further writes', { cause });
    this.log.error({ err: cause }, 'storage write failed');
    const all = [...group, ...this.queue];
    this.queue = [];
    this.pendingBytes = 0;
    for (const e of all) e.reject(this.failure);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
