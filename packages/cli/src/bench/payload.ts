import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PAYLOAD_HEADER_BYTES } from './constants.js';

/** Printable filler of `bytes` bytes (so `runnel consume` of a bench topic shows text). */
export function fillerValue(bytes: number): Buffer {
  return Buffer.from(randomBytes(bytes).map((b) => 0x61 + (b % 26)));
}

/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes on one host). */
export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * A copy of `filler` stamped with its send time and sequence number: float64 ms since the epoch
 * at byte 0, uint32 sequence at byte 8 (little-endian). `filler` is at least PAYLOAD_HEADER_BYTES.
 */
export function stampedValue(filler: Buffer, sequence: number, sentAtMs: number): Buffer {
  const value = Buffer.allocUnsafe(filler.length);
  filler.copy(value, PAYLOAD_HEADER_BYTES, PAYLOAD_HEADER_BYTES);
  value.writeDoubleLE(sentAtMs, 0);
  value.writeUInt32LE(sequence >>> 0, 8);
  return value;
}

/** The send time and sequence of a stamped value. */
export function readStamp(value: Uint8Array): { readonly sentAtMs: number; readonly sequence: number } {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { sentAtMs: view.getFloat64(0, true), sequence: view.getUint32(8, true) };
}
