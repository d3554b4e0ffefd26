import type * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { messageType, runnelGrpc } from './loader.js';

/**
 * Brokers keep each batch as the protobuf encoding of `runnel.v1.Batch` (see packages/storage)
 * and ship those bytes untouched. An embedded message and a `bytes` field have the same wire
 * form, so a response whose `batches` are already-encoded Batch messages is written as the
 * encoding of its other fields followed by each batch as field 1 (protobuf merges fields in any
 * order). Clients decode a normal `SubscribeResponse` / `FetchResponse`.
 */
export interface RawBatchesResponse {
  /** Each element is one encoded `runnel.v1.Batch`, exactly as stored. */
  batches: readonly Uint8Array[];
  [field: string]: unknown;
}

const BATCHES_FIELD_NUMBER = 1;

export function rawBatchesSerializer(typeName: 'SubscribeResponse' | 'FetchResponse'): (value: RawBatchesResponse) => Buffer {
  const type = messageType(typeName);
  const field = type.fields['batches'];
  if (field?.id !== BATCHES_FIELD_NUMBER) throw new Error(`${typeName}.batches must be field ${BATCHES_FIELD_NUMBER}`);
  const tag = (BATCHES_FIELD_NUMBER << 3) | 2;
  return (value) => {
    const { batches, ...rest } = value;
    const writer = type.encode(type.fromObject(rest)) as protobuf.Writer;
    for (const b of batches) writer.uint32(tag).bytes(b);
    return Buffer.from(writer.finish());
  };
}

/**
 * The Broker service definition for servers: identical to the generated one except that Subscribe
 * and Fetch answers take `batches` as stored bytes (RawBatchesResponse).
 */
export function brokerServerDefinition(): grpc.ServiceDefinition {
  const base = runnelGrpc().runnel.v1.Broker.service as unknown as grpc.ServiceDefinition;
  return {
    ...base,
    Subscribe: { ...base['Subscribe']!, responseSerialize: rawBatchesSerializer('SubscribeResponse') },
    Fetch: { ...base['Fetch']!, responseSerialize: rawBatchesSerializer('FetchResponse') },
  } as grpc.ServiceDefinition;
}

/**
 * The inverse, for a broker that relays a Subscribe/Fetch answer from another broker: the batches
 * as their encoded bytes (never decoded), the other fields decoded.
 */
export function decodeRawBatchesResponse(typeName: 'SubscribeResponse' | 'FetchResponse', buf: Uint8Array): RawBatchesResponse {
  const type = messageType(typeName);
  const reader = protobuf.Reader.create(buf);
  const batches: Uint8Array[] = [];
  const rest: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === BATCHES_FIELD_NUMBER && (tag & 7) === 2) {
      batches.push(reader.bytes());
    } else {
      reader.skipType(tag & 7);
      rest.push(buf.subarray(start, reader.pos));
    }
  }
  const others = type.toObject(type.decode(Buffer.concat(rest)), { longs: Number, defaults: true }) as Record<string, unknown>;
  delete others['batches'];
  return { ...others, batches };
}
