import { mkdir } from 'node:fs/promises';
import { Level } from 'level';
import type { Logger } from 'pino';
import type { FsyncPolicy, MetaStore, PartitionKey, PartitionLog } from './contract.js';
import { hwCheckpointIntervalMs, pendingBytesMax } from './constants.js';
import { GroupCommit, type Db, type GroupCommitStats, type GroupWriteObserver, type WriteOp } from './group-commit.js';
import { PartitionKeys, partitionKeyOfRegistry, REGISTRY_END, REGISTRY_START, validatePartitionKey } from './keys.js';
import { LevelPartitionLog } from './level-partition-log.js';
import { LevelMetaStore } from './meta-store.js';
import { PowerLossJournal } from './power-loss-journal.js';
import { recoverPartition, type RecoveredPartition } from './recovery.js';
import { StorageError } from './storage-error.js';

export interface StoreOptions {
  readonly fsync: FsyncPolicy;
  readonly logger: Logger;
  /** Override of constants.pendingBytesMax (tests). */
  readonly pendingBytesMax?: number;
  /**
   * TEST-ONLY power-loss simulation: 'track' keeps undo records of unfsynced writes; 'recover' first
   * discards every write since the last fsync (as a power loss would), then tracks.
   */
  readonly powerLoss?: 'track' | 'recover';
  /** Optional: told about every successful group write, with its duration (metrics; see GroupWriteObserver). */
  readonly onGroupWrite?: GroupWriteObserver;
}

/** A PartitionLog as the LevelDB store returns it. */
export type StorePartitionLog = PartitionLog;

const mapKey = (key: PartitionKey): string => `${key.partition}/${key.topicId}`;

/**
 * The process's one LevelDB, shared by every partition log and the meta store, with one group
 * commit in front of it. Partition logs are opened (and recovered) on first use and cached.
 */
export class Store {
  readonly meta: MetaStore;
  private readonly logs = new Map<string, Promise<LevelPartitionLog>>();
  private readonly dirtyHw = new Set<LevelPartitionLog>();
  private readonly hwTimer: NodeJS.Timeout;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly db: Db,
    private readonly commit: GroupCommit,
    private readonly log: Logger,
  ) {
    this.meta = new LevelMetaStore(db, commit);
    this.hwTimer = setInterval(() => this.checkpointHighWatermarks(false), hwCheckpointIntervalMs);
    // Checkpointing must not keep the process alive; close() clears it and checkpoints.
    this.hwTimer.unref();
  }

  static async open(dir: string, options: StoreOptions): Promise<Store> {
    const log = options.logger.child({ component: 'storage' });
    await mkdir(dir, { recursive: true });
    const db: Db = new Level<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: true });
    try {
      await db.open();
    } catch (cause) {
      // Typically another process holds the LOCK of this directory.
      throw new StorageError('STORAGE_ERROR', `cannot open the store in ${dir}`, { cause });
    }
    let journal: PowerLossJournal | undefined;
    if (options.powerLoss !== undefined) {
      if (options.powerLoss === 'recover') await PowerLossJournal.rollback(db, log);
      journal = await PowerLossJournal.open(db);
    }
    let store: Store | undefined;
    const commit = new GroupCommit(db, options.fsync, log, () => store?.collectHwOps() ?? [], options.pendingBytesMax ?? pendingBytesMax, journal, options.onGroupWrite);
    store = new Store(db, commit, log);
    log.info({ dir, fsync: options.fsync.kind }, 'store opened');
    return store;
  }

  /** The log of `key`, opened and recovered on first call (concurrent callers share one open). */
  partition(key: PartitionKey): Promise<StorePartitionLog> {
    if (this.closing !== undefined) return Promise.reject(new StorageError('SHUTTING_DOWN', 'the store is closed'));
    try {
      validatePartitionKey(key);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const k = mapKey(key);
    let opening = this.logs.get(k);
    if (opening === undefined) {
      opening = this.openPartition({ topicId: key.topicId, partition: key.partition });
      this.logs.set(k, opening);
      // A failed open is not cached: the next call tries again.
      void opening.catch(() => this.logs.delete(k));
    }
    return opening;
  }

  /** Every partition that has a log in this store. */
  async listPartitions(): Promise<PartitionKey[]> {
    const out: PartitionKey[] = [];
    for await (const k of this.db.keys({ gte: REGISTRY_START, lt: REGISTRY_END })) out.push(partitionKeyOfRegistry(k));
    return out;
  }

  /** Deletes a partition's log and all its metadata (after its queued writes have landed). */
  async dropPartition(key: PartitionKey): Promise<void> {
    validatePartitionKey(key);
    const k = mapKey(key);
    const opening = this.logs.get(k);
    if (opening !== undefined) {
      const log = await opening.catch(() => undefined);
      log?.close();
      if (log !== undefined) this.dirtyHw.delete(log);
      this.logs.delete(k);
    }
    await this.commit.idle();
    const keys = new PartitionKeys(key);
    await this.db.clear({ gte: keys.prefix, lt: keys.prefixEnd });
    // Registry last: a crash in between leaves a listed, empty partition, never hidden data.
    await this.commit.submit([{ type: 'del', key: keys.registry }], { sync: true });
    this.log.info({ topicId: key.topicId, partition: key.partition }, 'dropped partition');
  }

  /** Group commit counters (tests and metrics). */
  stats(): GroupCommitStats {
    return this.commit.stats();
  }

  /** Flushes queued writes, checkpoints high watermarks (fsynced), closes the DB. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    clearInterval(this.hwTimer);
    const logs = await Promise.allSettled([...this.logs.values()]);
    for (const r of logs) if (r.status === 'fulfilled') r.value.close();
    // A sync write even under `never`: a clean shutdown leaves everything on disk.
    await this.checkpointHighWatermarks(true).catch((err: unknown) => this.log.error({ err }, 'final checkpoint failed'));
    await this.commit.close();
    await this.db.close();
    this.log.info('store closed');
  }

  private async openPartition(key: PartitionKey): Promise<LevelPartitionLog> {
    const keys = new PartitionKeys(key);
    const plog = this.log.child({ topicId: key.topicId, partition: key.partition });
    let recovered: RecoveredPartition;
    try {
      recovered = await recoverPartition(this.db, key, keys, plog);
      if ((await this.db.get(keys.registry)) === undefined) {
        await this.commit.submit([{ type: 'put', key: keys.registry, value: Buffer.alloc(0) }], { sync: true });
      }
    } catch (cause) {
      if (cause instanceof StorageError) throw cause;
      throw new StorageError('STORAGE_ERROR', `cannot open partition ${key.topicId}/${key.partition}`, { cause });
    }
    plog.debug({ logStartOffset: recovered.logStartOffset, logEndOffset: recovered.logEndOffset, highWatermark: recovered.highWatermark }, 'partition opened');
    return new LevelPartitionLog({
      db: this.db,
      commit: this.commit,
      log: plog,
      key,
      keys,
      recovered,
      markHwDirty: (l) => this.dirtyHw.add(l),
    });
  }

  private checkpointHighWatermarks(sync: boolean): Promise<void> {
    if (this.dirtyHw.size === 0 && !sync) return Promise.resolve();
    // An empty entry: the group it joins picks up every dirty HW through collectHwOps.
    return this.commit.submit([], { sync }).catch((err: unknown) => this.log.error({ err }, 'high watermark checkpoint failed'));
  }

  private collectHwOps(): WriteOp[] {
    const ops: WriteOp[] = [];
    for (const l of this.dirtyHw) ops.push(l.hwCheckpointOp());
    this.dirtyHw.clear();
    return ops;
  }
}
