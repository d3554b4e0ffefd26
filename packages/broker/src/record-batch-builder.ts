import { PRODUCE_BATCH_BYTES_MAX, PRODUCE_RECORDS_MAX, RunnelError, messageType } from '@runnel/protocol';
import type { Record__Output } from '@runnel/protocol';

/** What the leader hands to `PartitionLog.append`: the records encoded once as a RecordSet. */
export interface BuiltRecordSet {
  readonly recordSet: Uint8Array;
  readonly recordCount: number;
  readonly maxTimestampMs: number;
  /** Sum of the records' key + value + header bytes. */
  readonly payloadBytes: number;
}

let recordSetType: ReturnType<typeof messageType> | undefined;

/** A record's size as limited by max_message_bytes: key + value + header names and values. */
export function recordSizeBytes(record: Record__Output): number {
  let size = record.key.length + record.value.length;
  for (const name in record.headers) {
    size += Buffer.byteLength(name) + (record.headers[name]?.length ?? 0);
  }
  return size;
}

/**
 * Validates a produce request's records and encodes them into one RecordSet. Records whose
 * timestamp is 0 get `nowMs` (the append time) - the record objects are updated in place.
 * Throws EMPTY_BATCH, TOO_MANY_RECORDS, RECORD_TOO_LARGE (naming the record and the sizes), BATCH_TOO_LARGE or
 * INVALID_REQUEST; nothing is encoded when it throws.
 */
export function buildRecordSet(
  records: readonly Record__Output[],
  nowMs: number,
  maxMessageBytes: number,
  batchBytesMax: number = PRODUCE_BATCH_BYTES_MAX,
): BuiltRecordSet {
  if (records.length === 0) throw new RunnelError('EMPTY_BATCH', 'the produce request carries no records; send at least one');
  // The gRPC edge refuses larger requests before decoding them; this covers the broker's own writes.
  if (records.length > PRODUCE_RECORDS_MAX) throw new RunnelError('TOO_MANY_RECORDS', `the produce request carries ${records.length} records, more than the ${PRODUCE_RECORDS_MAX} a batch may hold; split it`);
  let payloadBytes = 0;
  let maxTimestampMs = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const size = recordSizeBytes(record);
    if (size > maxMessageBytes) {
      throw new RunnelError(
        'RECORD_TOO_LARGE',
        `record ${i} is ${size} bytes (key ${record.key.length} + value ${record.value.length} + headers ${size - record.key.length - record.value.length}), more than the topic's max_message_bytes of ${maxMessageBytes}`,
      );
    }
    payloadBytes += size;
    const ts = record.timestampMs;
    if (!Number.isSafeInteger(ts) || ts < 0) {
      throw new RunnelError('INVALID_REQUEST', `record ${i} has timestamp_ms ${ts}; it must be 0 (not set) or a positive number of ms since the Unix epoch`);
    }
    if (ts === 0) record.timestampMs = nowMs;
    if (record.timestampMs > maxTimestampMs) maxTimestampMs = record.timestampMs;
  }
  if (payloadBytes > batchBytesMax) {
    throw new RunnelError('BATCH_TOO_LARGE', `the produce request holds ${payloadBytes} bytes of records, more than the ${batchBytesMax} bytes a batch may hold; split it`);
  }
  recordSetType ??= messageType('RecordSet');
  const recordSet = recordSetType.encode({ records }).finish();
  if (recordSet.length > batchBytesMax) {
    throw new RunnelError('BATCH_TOO_LARGE', `the produce request encodes to ${recordSet.length} bytes, more than the ${batchBytesMax} bytes a batch may hold; split it`);
  }
  return { recordSet, recordCount: records.length, maxTimestampMs, payloadBytes };
}
