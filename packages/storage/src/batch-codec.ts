import { crc32c } from '@node-rs/crc32';
import protobuf from 'protobufjs/minimal.js';
import type { BatchHeader } from './contract.js';

/**
 * Hand-written codec for the header of `runnel.v1.Batch` (proto/runnel/v1/records.proto).
 * Records are never decoded here: field 15 (the RecordSet) is located, checksummed and kept as bytes.
 * The encoder always writes every header field (1-8, defaults included) and then field 15, so a
 * stored batch has one shape; the decoder accepts any valid encoding (omitted defaults, any order,
 * unknown fields).
 */

/** What the leader supplies to build a batch. */
export interface BatchFields {
  readonly baseOffset: number;
  readonly recordCount: number;
  readonly leaderEpoch: number;
  readonly maxTimestampMs: number;
  readonly producerId: number;
  readonly producerSequence: number;
  readonly attributes: number;
  /** protobuf encoding of runnel.v1.RecordSet. */
  readonly recordSet: Uint8Array;
}

/** A decoded header plus where the RecordSet bytes sit in the batch. */
export interface BatchLayout extends BatchHeader {
  /** Byte offset of the RecordSet payload (field 15) in the batch; equals recordSetEnd if absent. */
  readonly recordSetStart: number;
  readonly recordSetEnd: number;
}

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const FIELD_RECORDS = 15;

const tag = (field: number, wireType: number): number => (field << 3) | wireType;

/** Encodes a batch, computing crc32c over the RecordSet bytes. */
export function encodeBatch(fields: BatchFields): Buffer {
  const w = protobuf.Writer.create();
  w.uint32(tag(1, WIRE_VARINT)).int64(fields.baseOffset);
  w.uint32(tag(2, WIRE_VARINT)).int32(fields.recordCount);
  w.uint32(tag(3, WIRE_VARINT)).int32(fields.leaderEpoch);
  w.uint32(tag(4, WIRE_VARINT)).int64(fields.maxTimestampMs);
  w.uint32(tag(5, WIRE_VARINT)).int64(fields.producerId);
  w.uint32(tag(6, WIRE_VARINT)).int32(fields.producerSequence);
  w.uint32(tag(7, WIRE_VARINT)).uint32(crc32c(fields.recordSet));
  w.uint32(tag(8, WIRE_VARINT)).uint32(fields.attributes);
  w.uint32(tag(FIELD_RECORDS, WIRE_LENGTH_DELIMITED)).bytes(fields.recordSet);
  const bytes = w.finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// protobufjs returns a Long when the `long` package is loadable, else a number.
type Int64 = number | { readonly low: number; readonly high: number };
const int64ToNumber = (v: Int64): number => (typeof v === 'number' ? v : v.high * 0x1_0000_0000 + (v.low >>> 0));

/**
 * Decodes the header fields of an encoded Batch. Throws (a plain protobufjs/RangeError) on bytes
 * that are not a valid encoding; callers turn that into their own error.
 */
export function decodeBatchHeader(buf: Uint8Array): BatchLayout {
  const r = protobuf.Reader.create(buf);
  let baseOffset = 0;
  let recordCount = 0;
  let leaderEpoch = 0;
  let maxTimestampMs = 0;
  let producerId = 0;
  let producerSequence = 0;
  let crc = 0;
  let attributes = 0;
  let recordSetStart = buf.byteLength;
  let recordSetEnd = buf.byteLength;
  while (r.pos < r.len) {
    const t = r.uint32();
    switch (t) {
      case tag(1, WIRE_VARINT): baseOffset = int64ToNumber(r.int64()); break;
      case tag(2, WIRE_VARINT): recordCount = r.int32(); break;
      case tag(3, WIRE_VARINT): leaderEpoch = r.int32(); break;
      case tag(4, WIRE_VARINT): maxTimestampMs = int64ToNumber(r.int64()); break;
      case tag(5, WIRE_VARINT): producerId = int64ToNumber(r.int64()); break;
      case tag(6, WIRE_VARINT): producerSequence = r.int32(); break;
      case tag(7, WIRE_VARINT): crc = r.uint32(); break;
      case tag(8, WIRE_VARINT): attributes = r.uint32(); break;
      case tag(FIELD_RECORDS, WIRE_LENGTH_DELIMITED): {
        const length = r.uint32();
        if (r.pos + length > r.len) throw new RangeError('Batch: records field runs past the end');
        // A repeated embedded message would be merged by protobuf; we store exactly one.
        if (recordSetStart !== buf.byteLength) throw new RangeError('Batch: records field appears twice');
        recordSetStart = r.pos;
        recordSetEnd = r.pos + length;
        r.pos += length;
        break;
      }
      default:
        r.skipType(t & 7);
    }
  }
  return {
    baseOffset,
    recordCount,
    leaderEpoch,
    maxTimestampMs,
    producerId,
    producerSequence,
    crc32c: crc,
    attributes,
    sizeBytes: buf.byteLength,
    recordSetStart,
    recordSetEnd,
  };
}

/** True when `layout` (decoded from `buf`) has a crc32c matching its RecordSet bytes. */
export function crcMatches(buf: Uint8Array, layout: BatchLayout): boolean {
  return crc32c(buf.subarray(layout.recordSetStart, layout.recordSetEnd)) === layout.crc32c;
}

/** True when `buf` decodes as a Batch whose crc32c matches its RecordSet bytes. */
export function verifyBatch(buf: Uint8Array): boolean {
  let layout: BatchLayout;
  try {
    layout = decodeBatchHeader(buf);
  } catch {
    return false;
  }
  return crcMatches(buf, layout);
}
