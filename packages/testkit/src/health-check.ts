import * as grpc from '@grpc/grpc-js';
import { PROBE_TIMEOUT_MS } from './constants.js';

/** What a grpc.health.v1 check reports, plus UNREACHABLE when the call itself fails. */
export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

const STATUS_BY_NUMBER: Readonly<Record<number, HealthStatus>> = {
  0: 'UNKNOWN',
  1: 'SERVING',
  2: 'NOT_SERVING',
  3: 'SERVICE_UNKNOWN',
};

/** HealthCheckRequest { string service = 1; } */
function encodeRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  if (name.length === 0) return Buffer.alloc(0);
  if (name.length > 127) throw new RangeError('health service name longer than 127 bytes');
  return Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

/** HealthCheckResponse { ServingStatus status = 1; } — a one-field message, decoded by hand. */
function decodeResponse(bytes: Buffer): HealthStatus {
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++] ?? 0;
    const wireType = tag & 7;
    if (wireType !== 0) return 'UNKNOWN';
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[i++];
      if (b === undefined) return 'UNKNOWN';
      value |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0 || shift > 28) break;
    }
    if (tag >> 3 === 1) return STATUS_BY_NUMBER[value] ?? 'UNKNOWN';
  }
  return 'UNKNOWN';
}

export interface HealthCheckOptions {
  /** Service name; "" (the default) is the process as a whole. */
  readonly service?: string;
  readonly timeoutMs?: number;
}

/**
 * Calls grpc.health.v1.Health/Check on `address` (host:port). Never rejects: a failed call is
 * reported as UNREACHABLE.
 */
export async function checkHealth(address: string, options: HealthCheckOptions = {}): Promise<HealthStatus> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    return await new Promise<HealthStatus>((resolve) => {
      client.makeUnaryRequest<Buffer, HealthStatus>(
        '/grpc.health.v1.Health/Check',
        (service: Buffer) => service,
        decodeResponse,
        encodeRequest(options.service ?? ''),
        { deadline: Date.now() + (options.timeoutMs ?? PROBE_TIMEOUT_MS) },
        (err, status) => resolve(err || status === undefined ? 'UNREACHABLE' : status),
      );
    });
  } finally {
    client.close();
  }
}
