/**
 * The storage contract the broker (and, for MetaStore, the coordinator) codes against.
 * Implementations: LevelDB (`Store.open`) now; an in-memory twin for the replication simulator later.
 *
 * Offsets are JS numbers (dense per partition, from 0). A "batch" is the protobuf encoding of
 * `runnel.v1.Batch` (proto/runnel/v1/records.proto): header fields 1-8, then field 15 holding the
 * RecordSet bytes. The crc32c field is CRC32C of the RecordSet bytes (field 15's payload).
 */

/** When appends reach the disk. */
export type FsyncPolicy =
  /** Every group commit is a synchronous LevelDB write (fsync). Acks mean "on disk". Default. */
  | { readonly kind: 'always' }
  /** Writes go to the OS at once; an fsync runs every `intervalMs`. A power loss can lose that window. */
  | { readonly kind: 'interval'; readonly intervalMs: number }
  /** Never fsync: the OS decides. Survives a process kill, not a power loss. */
  | { readonly kind: 'never' };

/** Identifies a partition's log. topicId (not the name) so a re-created topic never sees old data. */
export interface PartitionKey {
  readonly topicId: string;
  readonly partition: number;
}

/** What the leader appends: records already encoded as a RecordSet. */
export interface AppendRecordsInput {
  /** protobuf encoding of runnel.v1.RecordSet. */
  readonly recordSet: Uint8Array;
  readonly recordCount: number;
  readonly maxTimestampMs: number;
  readonly leaderEpoch: number;
  /** Bit 0 = control batch. Default 0. */
  readonly attributes?: number;
  readonly producerId?: number;
  readonly producerSequence?: number;
}

export interface AppendResult {
  readonly baseOffset: number;
  /** Offset of the last record (baseOffset + recordCount - 1). */
  readonly lastOffset: number;
  /** The stored bytes of the batch (the encoded runnel.v1.Batch), for pushing to readers. */
  readonly batch: Buffer;
}

/** Decoded header of a stored batch (records stay encoded). */
export interface BatchHeader {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly leaderEpoch: number;
  readonly maxTimestampMs: number;
  readonly producerId: number;
  readonly producerSequence: number;
  readonly crc32c: number;
  readonly attributes: number;
  /** Size of the whole stored batch in bytes. */
  readonly sizeBytes: number;
}

/** An epoch cache entry: `epoch` began at `startOffset` (KIP-101 leader-epoch checkpoint). */
export interface EpochEntry {
  readonly epoch: number;
  readonly startOffset: number;
}

export interface ReadOptions {
  /**
   * Also return batches appended but not yet durable (from memory): a leader shipping to its
   * followers while its own write is in flight. Never for consumers: they read below the HW.
   */
  readonly unflushed?: boolean;
}

/**
 * One partition's replica log.
 *
 * Ordering: append/appendBatch assign offsets synchronously in call order (LEO advances at once in
 * memory), so concurrent callers get consecutive offsets; each returned promise resolves once its
 * batch is durable under the store's fsync policy (group commit: everything queued while one write
 * is in flight goes into the next single LevelDB batch). `durableEndOffset` trails `logEndOffset`
 * by what is still in flight. Reads see only written batches.
 */
export interface PartitionLog {
  readonly key: PartitionKey;
  /** Oldest retained offset (0 until retention deletes something). */
  readonly logStartOffset: number;
  /**
   * Epoch of the last record before logStartOffset (-1 at offset 0, or when unknown: data written
   * before this was kept). Keeps the epoch of a log retention emptied known across restarts.
   */
  readonly epochBeforeLogStart: number;
  /** LEO: the offset the next appended record gets. */
  readonly logEndOffset: number;
  /** End offset of what is written and durable (<= logEndOffset). */
  readonly durableEndOffset: number;
  /** Last high watermark checkpointed with setHighWatermark (persisted with the next group commit). */
  readonly highWatermark: number;
  /** Epoch of the last batch, or -1 when the log is empty. */
  readonly lastEpoch: number;

  /** Leader path: builds the batch (baseOffset = LEO, crc32c) and appends it. */
  append(input: AppendRecordsInput): Promise<AppendResult>;
  /**
   * Follower path: appends a batch built by a leader, as-is. Its base offset must equal LEO and its
   * CRC must match, else it is rejected with a RunnelError-compatible Error and nothing is written.
   */
  appendBatch(batch: Uint8Array): Promise<AppendResult>;
  /**
   * Whole stored batches from the one containing `fromOffset`, in order, while the total stays
   * within `maxBytes` (always at least one batch if any exists below `endOffset`), never including
   * a batch whose base offset is >= `endOffset` (pass the HW to read only committed data).
   */
  read(fromOffset: number, maxBytes: number, endOffset: number, options?: ReadOptions): Promise<Buffer[]>;
  /** Drops every record at or after `offset` (a straddling batch is dropped whole and the LEO set to its base). Durable on resolve. */
  truncateTo(offset: number): Promise<void>;
  /**
   * Drops every batch and starts the log again, empty, at `offset`, whose preceding record had
   * `epochBefore` (-1 = unknown): a follower below its leader's log start (Kafka's
   * truncateFullyAndStartAt). Durable on resolve.
   */
  resetTo(offset: number, epochBefore?: number): Promise<void>;
  /** First offset of the first batch whose maxTimestampMs >= timestampMs; undefined if none. */
  offsetForTimestamp(timestampMs: number): Promise<number | undefined>;
  /** Epoch cache, oldest first. */
  epochEntries(): readonly EpochEntry[];
  /**
   * KIP-101: for a follower at `epoch`, the end offset of that epoch in this log (the start offset
   * of the next greater epoch, or LEO if `epoch` is the latest) and the largest epoch <= `epoch`.
   * Returns { epoch: -1, endOffset: -1 } if this log has no epoch <= `epoch`.
   */
  endOffsetForEpoch(epoch: number): { epoch: number; endOffset: number };
  /** Records the HW (monotonic; asserts hw <= LEO); persisted with the next write or checkpoint. */
  setHighWatermark(hw: number): void;
  /** Deletes whole batches older than retentionMs / beyond retentionBytes (never at or above `notAbove`, normally the HW). Returns records deleted. */
  applyRetention(policy: { retentionMs: number; retentionBytes: number; nowMs: number; notAbove: number }): Promise<number>;
  /** Total bytes of stored batches. */
  readonly sizeBytes: number;
}

/** Small durable key-value space for process metadata (coordinator state, broker epoch promises). */
export interface MetaStore {
  get(key: string): Promise<Buffer | undefined>;
  /** Synchronous (fsynced) write: resolves when on disk. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** Several puts/deletes atomically and synchronously. */
  batch(ops: ReadonlyArray<{ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }>): Promise<void>;
  del(key: string): Promise<void>;
  /** Every key starting with `prefix`, in key order. */
  entries(prefix: string): Promise<Array<[string, Buffer]>>;
}
