import type { Record as ProtoRecord } from '@runnel/protocol';

/** Records of one partition collected into one produce request. */
export interface ClosedBatch<T> {
  readonly topic: string;
  readonly partition: number;
  readonly records: ProtoRecord[];
  /** Estimated encoded bytes of the records. */
  readonly sizeBytes: number;
  /** Parallel to records: who waits for each record, and the record's index in that send. */
  readonly owners: T[];
  readonly ownerIndexes: number[];
}

interface OpenBatch<T> {
  readonly topic: string;
  readonly partition: number;
  readonly records: ProtoRecord[];
  sizeBytes: number;
  readonly owners: T[];
  readonly ownerIndexes: number[];
  timer: unknown;
}

export interface TimerScheduler {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

/**
 * lingerMs 0 closes a batch on setImmediate: records sent in the same tick still share a batch, and
 * a lone record does not pay setTimeout's 1 ms minimum.
 */
export const REAL_TIMERS: TimerScheduler = {
  set: (fn, ms) => (ms <= 0 ? { immediate: setImmediate(fn) } : setTimeout(fn, ms)),
  clear: (handle) => {
    if (handle !== null && typeof handle === 'object' && 'immediate' in handle) clearImmediate((handle as { immediate: NodeJS.Immediate }).immediate);
    else clearTimeout(handle as NodeJS.Timeout);
  },
};

export interface AccumulatorLimits {
  readonly lingerMs: number;
  readonly batchBytesMax: number;
  readonly batchRecordsMax: number;
}

/**
 * Per-partition batching. A batch opens with its first record and closes when lingerMs have
 * passed since then, when the next record would take it past batchBytesMax (a record larger than
 * that travels alone) or batchRecordsMax, or on flushAll(). Closed batches go to `onClosed`.
 * Holds at most one open batch per partition; what it holds is bounded by the producer's buffer.
 */
export class RecordAccumulator<T> {
  private readonly open = new Map<string, OpenBatch<T>>();

  constructor(
    private readonly limits: AccumulatorLimits,
    private readonly onClosed: (batch: ClosedBatch<T>) => void,
    private readonly timers: TimerScheduler = REAL_TIMERS,
  ) {}

  append(topic: string, partition: number, record: ProtoRecord, sizeBytes: number, owner: T, ownerIndex: number): void {
    const key = `${topic}\u0000${partition}`;
    let batch = this.open.get(key);
    if (batch !== undefined && (batch.sizeBytes + sizeBytes > this.limits.batchBytesMax || batch.records.length >= this.limits.batchRecordsMax)) {
      this.close(key, batch);
      batch = undefined;
    }
    if (batch === undefined) {
      const created: OpenBatch<T> = { topic, partition, records: [], sizeBytes: 0, owners: [], ownerIndexes: [], timer: undefined };
      created.timer = this.timers.set(() => {
        if (this.open.get(key) === created) this.close(key, created);
      }, this.limits.lingerMs);
      this.open.set(key, created);
      batch = created;
    }
    batch.records.push(record);
    batch.sizeBytes += sizeBytes;
    batch.owners.push(owner);
    batch.ownerIndexes.push(ownerIndex);
    if (batch.sizeBytes >= this.limits.batchBytesMax || batch.records.length >= this.limits.batchRecordsMax) this.close(key, batch);
  }

  /** Closes every open batch now. */
  flushAll(): void {
    for (const [key, batch] of [...this.open]) this.close(key, batch);
  }

  get openBatches(): number {
    return this.open.size;
  }

  private close(key: string, batch: OpenBatch<T>): void {
    this.open.delete(key);
    this.timers.clear(batch.timer);
    this.onClosed({
      topic: batch.topic,
      partition: batch.partition,
      records: batch.records,
      sizeBytes: batch.sizeBytes,
      owners: batch.owners,
      ownerIndexes: batch.ownerIndexes,
    });
  }
}
