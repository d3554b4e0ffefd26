import type { PartitionKey } from './contract.js';
import { partitionNumberMax, topicIdBytesMax } from './constants.js';
import { StorageError } from './storage-error.js';

/**
 * LevelDB key layout (keys and values are raw bytes; integers are big-endian so that byte order
 * is numeric order):
 *
 *   0x01 P 'B' u64(baseOffset)    -> encoded runnel.v1.Batch
 *   0x01 P 'S'                    -> u64 log start offset (absent = 0), then u32 (epoch of the
 *                                    last record before it + 1; absent or 0 = unknown)
 *   0x01 P 'H'                    -> u64 high-watermark checkpoint (absent = 0)
 *   0x01 P 'E' u32(epoch)         -> u64 start offset of that leader epoch
 *   0x02 P                        -> empty: partition registry (what listPartitions returns)
 *   0x03 utf8(key)                -> MetaStore value
 *   0x04                          -> fsync marker (written with sync:true by the interval timer)
 *
 * where P = u16(byteLength of topicId) utf8(topicId) u32(partition). The length prefix makes P
 * prefix-free (no partition's keys fall inside another's range) and binary-safe for any topicId.
 * Batches of one partition are contiguous and ordered by base offset, so a range iteration
 * [B(from), B(to)) yields batches in offset order.
 */

const SPACE_PARTITION = 0x01;
const SPACE_REGISTRY = 0x02;
const SPACE_META = 0x03;
const SPACE_FSYNC_MARKER = 0x04;

const KIND_BATCH = 0x42; // 'B'
const KIND_EPOCH = 0x45; // 'E'
const KIND_HW = 0x48; // 'H'
const KIND_START = 0x53; // 'S'

const U32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / U32), offset);
  buf.writeUInt32BE(value % U32, offset + 4);
}

export function readU64(buf: Uint8Array, offset: number): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return b.readUInt32BE(offset) * U32 + b.readUInt32BE(offset + 4);
}

/** The log-start value: where the log starts and the epoch of the record before it (-1 = unknown). */
export function logStartValue(offset: number, epochBefore: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  writeU64(b, 0, offset);
  b.writeUInt32BE(Math.max(0, epochBefore + 1), 8);
  return b;
}

export function readLogStart(value: Uint8Array | undefined): { offset: number; epochBefore: number } {
  if (value === undefined) return { offset: 0, epochBefore: -1 };
  const offset = readU64(value, 0);
  if (value.byteLength < 12 || offset === 0) return { offset, epochBefore: -1 };
  return { offset, epochBefore: Buffer.from(value.buffer, value.byteOffset, value.byteLength).readUInt32BE(8) - 1 };
}

export function u64Value(value: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64(b, 0, value);
  return b;
}

/** Checks a PartitionKey (an operating error: keys come from requests and metadata). */
export function validatePartitionKey(key: PartitionKey): void {
  if (typeof key.topicId !== 'string' || key.topicId.length === 0 || Buffer.byteLength(key.topicId) > topicIdBytesMax) {
    throw new StorageError('INVALID_REQUEST', `topicId must be 1-${topicIdBytesMax} bytes`);
  }
  if (!Number.isInteger(key.partition) || key.partition < 0 || key.partition > partitionNumberMax) {
    throw new StorageError('INVALID_REQUEST', `partition must be an integer from 0 to ${partitionNumberMax}`);
  }
}

/** P: the per-partition part shared by the partition space and the registry. */
function partitionBody(key: PartitionKey): Buffer {
  const topic = Buffer.from(key.topicId, 'utf8');
  const body = Buffer.allocUnsafe(2 + topic.length + 4);
  body.writeUInt16BE(topic.length, 0);
  topic.copy(body, 2);
  body.writeUInt32BE(key.partition, 2 + topic.length);
  return body;
}

/** Precomputed keys of one partition; batch keys are built per call. */
export class PartitionKeys {
  /** Every key of this partition is in [prefix, prefixEnd). */
  readonly prefix: Buffer;
  readonly prefixEnd: Buffer;
  readonly logStart: Buffer;
  readonly highWatermark: Buffer;
  readonly registry: Buffer;
  private readonly batchPrefix: Buffer;
  private readonly epochPrefix: Buffer;

  constructor(key: PartitionKey) {
    const body = partitionBody(key);
    this.prefix = Buffer.concat([Buffer.of(SPACE_PARTITION), body]);
    this.prefixEnd = Buffer.concat([this.prefix, Buffer.of(0xff)]);
    this.logStart = Buffer.concat([this.prefix, Buffer.of(KIND_START)]);
    this.highWatermark = Buffer.concat([this.prefix, Buffer.of(KIND_HW)]);
    this.registry = Buffer.concat([Buffer.of(SPACE_REGISTRY), body]);
    this.batchPrefix = Buffer.concat([this.prefix, Buffer.of(KIND_BATCH)]);
    this.epochPrefix = Buffer.concat([this.prefix, Buffer.of(KIND_EPOCH)]);
  }

  batch(baseOffset: number): Buffer {
    const k = Buffer.allocUnsafe(this.batchPrefix.length + 8);
    this.batchPrefix.copy(k, 0);
    writeU64(k, this.batchPrefix.length, baseOffset);
    return k;
  }

  /** Upper bound (exclusive) of all batch keys. */
  get batchesEnd(): Buffer {
    return Buffer.concat([this.batchPrefix, Buffer.alloc(8, 0xff), Buffer.of(0xff)]);
  }

  baseOffsetOf(batchKey: Uint8Array): number {
    return readU64(batchKey, this.batchPrefix.length);
  }

  epoch(epoch: number): Buffer {
    const k = Buffer.allocUnsafe(this.epochPrefix.length + 4);
    this.epochPrefix.copy(k, 0);
    k.writeUInt32BE(epoch, this.epochPrefix.length);
    return k;
  }

  get epochsStart(): Buffer {
    return this.epochPrefix;
  }

  get epochsEnd(): Buffer {
    return Buffer.concat([this.epochPrefix, Buffer.alloc(4, 0xff), Buffer.of(0xff)]);
  }

  epochOf(epochKey: Uint8Array): number {
    return Buffer.from(epochKey.buffer, epochKey.byteOffset, epochKey.byteLength).readUInt32BE(this.epochPrefix.length);
  }
}

export const REGISTRY_START = Buffer.of(SPACE_REGISTRY);
export const REGISTRY_END = Buffer.of(SPACE_REGISTRY + 1);

/** Parses a registry key back into its PartitionKey. */
export function partitionKeyOfRegistry(registryKey: Uint8Array): PartitionKey {
  const b = Buffer.from(registryKey.buffer, registryKey.byteOffset, registryKey.byteLength);
  const topicLength = b.readUInt16BE(1);
  const topicId = b.toString('utf8', 3, 3 + topicLength);
  const partition = b.readUInt32BE(3 + topicLength);
  return { topicId, partition };
}

export function metaKey(key: string): Buffer {
  return Buffer.concat([Buffer.of(SPACE_META), Buffer.from(key, 'utf8')]);
}

export function metaKeyName(k: Uint8Array): string {
  return Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('utf8', 1);
}

/** Exclusive upper bound of every meta key starting with `prefix` (bytewise). */
export function metaPrefixEnd(prefix: string): Buffer {
  return Buffer.concat([metaKey(prefix), Buffer.of(0xff)]);
}

export const FSYNC_MARKER_KEY = Buffer.of(SPACE_FSYNC_MARKER);
