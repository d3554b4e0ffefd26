import { RunnelError, messageType, type Record as ProtoRecord, type Record__Output } from '@runnel/protocol';
import { BATCH_ATTRIBUTE_CONTROL, HEADER_OVERHEAD_BYTES, RECORD_OVERHEAD_BYTES } from './constants.js';
import type { ConsumedRecord, ProducerRecord } from './record-types.js';

export interface EncodedRecord {
  /** The wire record. */
  readonly record: ProtoRecord;
  /** Key bytes (undefined without a key), for partition choice. */
  readonly key: Buffer | undefined;
  /** key + value + header names and values: what a topic's max_message_bytes limits (a lower bound of the encoding). */
  readonly payloadBytes: number;
  /** Estimated encoded size including framing, for batch sizing and buffer accounting. */
  readonly sizeBytes: number;
}

function bytesOf(input: Buffer | string, what: string): Buffer {
  const value: unknown = input;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new RunnelError('INVALID_REQUEST', `${what} must be a Buffer or a string`);
}

/** Validates a producer record and converts it to its wire form. An empty value is allowed. */
export function encodeProducerRecord(r: ProducerRecord): EncodedRecord {
  if (r === null || typeof r !== 'object') throw new RunnelError('INVALID_REQUEST', 'a record must be an object');
  if (r.value === undefined || r.value === null) throw new RunnelError('INVALID_REQUEST', 'a record needs a value (it may be empty)');
  const value = bytesOf(r.value, 'value');
  const key = r.key === undefined || r.key === null ? undefined : bytesOf(r.key, 'key');
  let payloadBytes = value.length + (key?.length ?? 0);
  let sizeBytes = RECORD_OVERHEAD_BYTES;
  const record: ProtoRecord = { value };
  if (key !== undefined && key.length > 0) record.key = key;
  if (r.headers !== undefined) {
    const headers: Record<string, Buffer> = {};
    for (const [name, v] of Object.entries(r.headers)) {
      const b = bytesOf(v, `header "${name}"`);
      headers[name] = b;
      payloadBytes += Buffer.byteLength(name) + b.length;
      sizeBytes += HEADER_OVERHEAD_BYTES;
    }
    record.headers = headers;
  }
  if (r.timestampMs !== undefined) {
    if (!Number.isSafeInteger(r.timestampMs) || r.timestampMs < 0) throw new RunnelError('INVALID_REQUEST', 'timestampMs must be a non-negative integer');
    record.timestampMs = r.timestampMs;
  }
  if (r.partition !== undefined && (!Number.isInteger(r.partition) || r.partition < 0)) {
    throw new RunnelError('UNKNOWN_PARTITION', `partition ${String(r.partition)} is not a partition number`);
  }
  return { record, key: key !== undefined && key.length > 0 ? key : undefined, payloadBytes, sizeBytes: sizeBytes + payloadBytes };
}

/** A batch as delivered to a consumer, decoded, with its encoded size (what credit counts). */
export interface DecodedBatch {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly leaderEpoch: number;
  readonly maxTimestampMs: number;
  readonly attributes: number;
  readonly records: readonly Record__Output[];
  /** Bytes of the encoded Batch message as it came over the wire. */
  readonly sizeBytes: number;
}

export interface DecodedSubscribeResponse {
  readonly batches: DecodedBatch[];
  readonly highWatermark: number;
  readonly startOffset: number;
  /** Where the broker continues (0 when the field is absent). */
  readonly nextOffset: number;
}

const TO_OBJECT_OPTIONS = { longs: Number, enums: String, bytes: Buffer, defaults: true, arrays: true, objects: true, oneofs: true } as const;

function readVarint(buf: Uint8Array, start: number): { value: number; pos: number } {
  let result = 0;
  let factor = 1;
  for (let i = 0; i < 10; i++) {
    const byte = buf[start + i];
    if (byte === undefined) throw new RunnelError('INTERNAL', 'truncated varint in a broker answer');
    result += (byte & 0x7f) * factor;
    factor *= 128;
    if ((byte & 0x80) === 0) {
      if (i < 7) return { value: result, pos: start + i + 1 };
      // More than 49 bits: a negative int64 (two's complement) or a huge value; decode exactly.
      let big = 0n;
      for (let j = i; j >= 0; j--) big = (big << 7n) | BigInt((buf[start + j] ?? 0) & 0x7f);
      return { value: Number(BigInt.asIntN(64, big)), pos: start + i + 1 };
    }
  }
  throw new RunnelError('INTERNAL', 'malformed varint in a broker answer');
}

function skipField(buf: Uint8Array, pos: number, wireType: number): number {
  switch (wireType) {
    case 0:
      return readVarint(buf, pos).pos;
    case 1:
      return pos + 8;
    case 2: {
      const len = readVarint(buf, pos);
      return len.pos + len.value;
    }
    case 5:
      return pos + 4;
    default:
      throw new RunnelError('INTERNAL', `unexpected wire type ${wireType} in a broker answer`);
  }
}

/** Decodes one encoded runnel.v1.Batch. */
export function decodeBatch(bytes: Uint8Array): DecodedBatch {
  const type = messageType('Batch');
  const obj = type.toObject(type.decode(bytes), TO_OBJECT_OPTIONS) as {
    baseOffset: number; recordCount: number; leaderEpoch: number; maxTimestampMs: number; attributes: number;
    records?: { records: Record__Output[] } | null;
  };
  return {
    baseOffset: obj.baseOffset,
    recordCount: obj.recordCount,
    leaderEpoch: obj.leaderEpoch,
    maxTimestampMs: obj.maxTimestampMs,
    attributes: obj.attributes,
    records: obj.records?.records ?? [],
    sizeBytes: bytes.length,
  };
}

/**
 * Decodes a SubscribeResponse (or FetchResponse: same field numbers for batches and high
 * watermark) keeping each batch's encoded size, which is what the broker charges against credit.
 */
export function decodeSubscribeResponse(buf: Buffer): DecodedSubscribeResponse {
  const batches: DecodedBatch[] = [];
  let highWatermark = 0;
  let startOffset = 0;
  let nextOffset = 0;
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    pos = tag.pos;
    const field = Math.floor(tag.value / 8);
    const wireType = tag.value & 7;
    if (field === 1 && wireType === 2) {
      const len = readVarint(buf, pos);
      const end = len.pos + len.value;
      if (end > buf.length) throw new RunnelError('INTERNAL', 'truncated batch in a broker answer');
      batches.push(decodeBatch(buf.subarray(len.pos, end)));
      pos = end;
    } else if (field === 2 && wireType === 0) {
      const v = readVarint(buf, pos);
      highWatermark = v.value;
      pos = v.pos;
    } else if (field === 3 && wireType === 0) {
      const v = readVarint(buf, pos);
      startOffset = v.value;
      pos = v.pos;
    } else if (field === 4 && wireType === 0) {
      const v = readVarint(buf, pos);
      nextOffset = v.value;
      pos = v.pos;
    } else {
      pos = skipField(buf, pos, wireType);
    }
  }
  return { batches, highWatermark, startOffset, nextOffset };
}

export function isControlBatch(batch: { attributes: number }): boolean {
  return (batch.attributes & BATCH_ATTRIBUTE_CONTROL) !== 0;
}

/**
 * Index of the first record to deliver from `batch` when the next wanted offset is `wanted`:
 * batches may begin before it (they are never split); records below it are skipped. Returns
 * records.length when nothing in the batch is wanted (or it is a control batch).
 */
export function firstWantedIndex(batch: DecodedBatch, wanted: number): number {
  if (isControlBatch(batch)) return batch.records.length;
  return Math.min(batch.records.length, Math.max(0, wanted - batch.baseOffset));
}

export function toConsumedRecord(topic: string, partition: number, batch: DecodedBatch, index: number): ConsumedRecord {
  const r = batch.records[index];
  if (r === undefined) throw new RangeError(`record ${index} is outside a batch of ${batch.records.length}`);
  return {
    topic,
    partition,
    offset: batch.baseOffset + index,
    key: r.key.length > 0 ? r.key : undefined,
    value: r.value,
    headers: r.headers,
    timestampMs: r.timestampMs || batch.maxTimestampMs,
    leaderEpoch: batch.leaderEpoch,
  };
}
