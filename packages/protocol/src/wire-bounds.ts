import protobuf from 'protobufjs';
import { RunnelError, type ErrorCode } from './errors.js';
import { PRODUCE_RECORDS_MAX, RECORD_HEADERS_MAX, REQUEST_FIELDS_MAX } from './limits.js';

/**
 * Bounds checked on a request's bytes before it is decoded. Decoding is synchronous and its cost
 * grows with the number of encoded fields, not bytes (a 2 MB produce of 1,000,000 empty records
 * held a broker's event loop for seconds), so a request over a bound is refused having only
 * walked its tags, and the walk stops as soon as a bound is passed.
 */

interface FieldLimit {
  readonly max: number;
  readonly code: ErrorCode;
  readonly what: string;
}

/** Per-message bounds on one repeated field, keyed by the field's full name. */
const FIELD_LIMITS: Readonly<Record<string, FieldLimit>> = {
  'runnel.v1.ProduceRequest.records': {
    max: PRODUCE_RECORDS_MAX, code: 'TOO_MANY_RECORDS', what: `records; a produce request may carry at most ${PRODUCE_RECORDS_MAX}: split it`,
  },
  'runnel.v1.Record.headers': {
    max: RECORD_HEADERS_MAX, code: 'INVALID_REQUEST', what: `headers; a record may carry at most ${RECORD_HEADERS_MAX}`,
  },
};

const limitsByType = new Map<protobuf.Type, ReadonlyMap<number, FieldLimit>>();

/** FIELD_LIMITS of one message type, by field number (built once per type). */
function limitsOf(type: protobuf.Type): ReadonlyMap<number, FieldLimit> {
  let limits = limitsByType.get(type);
  if (limits === undefined) {
    const found = new Map<number, FieldLimit>();
    for (const field of type.fieldsArray) {
      const limit = FIELD_LIMITS[field.fullName.replace(/^\./, '')];
      if (limit !== undefined) found.set(field.id, limit);
    }
    limits = found;
    limitsByType.set(type, limits);
  }
  return limits;
}

const PACKED_VARINT = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'enum']);
const PACKED_FIXED32 = new Set(['fixed32', 'sfixed32', 'float']);
const PACKED_FIXED64 = new Set(['fixed64', 'sfixed64', 'double']);

const tooManyFields = (): RunnelError => new RunnelError(
  'INVALID_REQUEST',
  `the request holds more than ${REQUEST_FIELDS_MAX} encoded fields (each record, record field, header and list element counts one); split it`,
);

class Scan {
  fields = 0;

  /** Walks the message in buf[start, end); returns the first bound passed, or undefined. */
  message(type: protobuf.Type, reader: protobuf.Reader, end: number): RunnelError | undefined {
    let counts: Map<number, number> | undefined;
    while (reader.pos < end) {
      const tag = reader.uint32();
      const id = tag >>> 3;
      const wireType = tag & 7;
      if (++this.fields > REQUEST_FIELDS_MAX) return tooManyFields();
      const field = type.fieldsById[id];
      const limit = limitsOf(type).get(id);
      if (limit !== undefined && field !== undefined) {
        counts ??= new Map();
        const n = (counts.get(id) ?? 0) + 1;
        counts.set(id, n);
        if (n > limit.max) return new RunnelError(limit.code, `${type.name}.${field.name} holds more than ${limit.max} ${limit.what}`);
      }
      if (wireType !== 2) {
        reader.skipType(wireType);
        continue;
      }
      const length = reader.uint32();
      const start = reader.pos;
      const stop = start + length;
      // Malformed: leave it to the decoder, which reports it.
      if (stop > end) return undefined;
      if (field !== undefined) {
        const problem = this.embedded(field, reader, start, stop);
        if (problem !== undefined) return problem;
      }
      reader.pos = stop;
    }
    return undefined;
  }

  /** A length-delimited field: a nested message, a map entry or a packed list. */
  private embedded(field: protobuf.Field, reader: protobuf.Reader, start: number, stop: number): RunnelError | undefined {
    field.resolve();
    if (field.map) {
      // A map entry: its key and value.
      this.fields += 2;
      return this.fields > REQUEST_FIELDS_MAX ? tooManyFields() : undefined;
    }
    if (field.resolvedType instanceof protobuf.Type) {
      reader.pos = start;
      return this.message(field.resolvedType, reader, stop);
    }
    if (!field.repeated) return undefined;
    const kind = field.resolvedType instanceof protobuf.Enum ? 'enum' : field.type;
    if (PACKED_FIXED32.has(kind)) this.fields += (stop - start) >>> 2;
    else if (PACKED_FIXED64.has(kind)) this.fields += (stop - start) >>> 3;
    else if (PACKED_VARINT.has(kind)) {
      // One varint ends at each byte without its high bit; stop counting once over the bound.
      const buf = reader.buf;
      for (let i = start; i < stop && this.fields <= REQUEST_FIELDS_MAX; i++) if ((buf[i]! & 0x80) === 0) this.fields++;
    }
    return this.fields > REQUEST_FIELDS_MAX ? tooManyFields() : undefined;
  }
}

/**
 * The first bound `bytes` (an encoded message of `type`) passes, or undefined when within all
 * of them (or too malformed to tell: the decoder then fails it as usual).
 */
export function wireBoundsProblem(type: protobuf.Type, bytes: Uint8Array): RunnelError | undefined {
  try {
    return new Scan().message(type, protobuf.Reader.create(bytes), bytes.length);
  } catch {
    return undefined;
  }
}
