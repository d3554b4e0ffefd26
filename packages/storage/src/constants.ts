/** Named bounds and defaults of the storage package (units last). */

/**
 * Bytes of queued-but-unwritten batches across all partitions. Appends beyond it are rejected with
 * TOO_MANY_REQUESTS (retriable) instead of queueing: offsets are assigned synchronously in call
 * order, so an append cannot wait for room without breaking that order.
 */
export const pendingBytesMax = 64 * 1024 * 1024;

/** Bytes of batches put into one LevelDB write; the rest waits for the next group. */
export const groupWriteBytesMax = 16 * 1024 * 1024;

/** How often dirty high watermarks are checkpointed when no write carries them (Kafka: 5 s). */
export const hwCheckpointIntervalMs = 5_000;

/** Largest fsync interval accepted by `interval:MS` (a minute: beyond that, say `never`). */
export const fsyncIntervalMsMax = 60_000;

/** Entries read per LevelDB iterator step during recovery. */
export const recoveryReadChunkEntries = 256;

/** Longest topicId accepted in a partition key (bytes of UTF-8; the key stores a u16 length). */
export const topicIdBytesMax = 1024;

/** Largest partition number (the key stores a u32; the coordinator caps far lower). */
export const partitionNumberMax = 0xffff_ffff;

/** Bit 0 of Batch.attributes: a control batch (never delivered to consumers). */
export const BATCH_ATTRIBUTE_CONTROL = 1;

/** Newest batches kept in memory per partition log (tail-cache.ts): what followers and head consumers read. */
export const tailCacheBytesMax = 256 * 1024;
