/** A record to produce. Strings are encoded as UTF-8. */
export interface ProducerRecord {
  key?: Buffer | string;
  value: Buffer | string;
  headers?: Record<string, Buffer | string>;
  /** Event time, ms since the Unix epoch; absent = the leader stamps its append time. */
  timestampMs?: number;
  /** Explicit partition; otherwise chosen from the key, or sticky round-robin without one. */
  partition?: number;
}

/** Where a produced record landed. */
export interface RecordMetadata {
  topic: string;
  partition: number;
  /** The record's offset; -1 with acks 'none' (the broker answers before appending). */
  offset: number;
}

/** A record read by a Consumer. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  /** undefined when the record has no key (an empty key means "no key" on the wire). */
  key: Buffer | undefined;
  value: Buffer;
  headers: Record<string, Buffer>;
  /** The record's timestamp, or its batch's max timestamp when the record carries none. */
  timestampMs: number;
  /** Epoch of the leader that appended the record's batch. */
  leaderEpoch: number;
}
