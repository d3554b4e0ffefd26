// Plain grpc-js clients for tests that must see exactly what a client in another language sees
// (status codes, trailers), without our TypeScript client's retries in between.
import * as grpc from '@grpc/grpc-js';
import { GRPC_CHANNEL_OPTIONS, runnelGrpc } from '@runnel/protocol';
import type { BrokerClient, CoordinatorClient } from '@runnel/protocol';

/** Sets `runnel-forward: false` on every call: the broker answers NOT_LEADER instead of forwarding. */
export const noForwarding: grpc.Interceptor = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
  start: (metadata, listener, next) => {
    metadata.set('runnel-forward', 'false');
    next(metadata, listener);
  },
});

/**
 * A Broker stub. By default it asks brokers not to forward (like the TypeScript client, it wants
 * NOT_LEADER answers); `forward: true` is a simple client that lets any broker forward.
 */
export function rawBroker(address: string, options: { forward?: boolean } = {}): BrokerClient {
  return new (runnelGrpc().runnel.v1.Broker)(address, grpc.credentials.createInsecure(), {
    ...GRPC_CHANNEL_OPTIONS, ...(options.forward === true ? {} : { interceptors: [noForwarding] }),
  });
}

export function rawCoordinator(address: string): CoordinatorClient {
  return new (runnelGrpc().runnel.v1.Coordinator)(address, grpc.credentials.createInsecure(), GRPC_CHANNEL_OPTIONS);
}

export interface CallFailure {
  code: grpc.status;
  details: string;
  errorCode: string | undefined;
  retriable: string | undefined;
  leaderId: string | undefined;
  leaderAddress: string | undefined;
}

const deadline = (): grpc.CallOptions => ({ deadline: Date.now() + 10_000 });

/** Request headers from a plain object (`{ 'runnel-cluster-id': 'x' }`). */
export function headers(values: Readonly<Record<string, string>>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(values)) md.set(k, v);
  return md;
}

/** Calls a unary method (with optional request headers); resolves with the answer, rejects with a CallFailure. */
export function unary<Req, Res>(client: grpc.Client, method: string, request: Req, metadata: grpc.Metadata = new grpc.Metadata()): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: Req, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: Res) => void) => void>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    fn.call(client, request, metadata, deadline(), (err, value) => (err ? reject(toFailure(err)) : resolve(value as Res)));
  });
}

/** Expects a unary call to fail; returns the failure. */
export async function failure<Req>(client: grpc.Client, method: string, request: Req, metadata?: grpc.Metadata): Promise<CallFailure> {
  try {
    const v = await unary(client, method, request, metadata);
    throw new Error(`${method} succeeded unexpectedly: ${JSON.stringify(v)}`);
  } catch (err) {
    if (err instanceof Error) throw err;
    return err as CallFailure;
  }
}

export function toFailure(err: grpc.ServiceError): CallFailure {
  const get = (k: string): string | undefined => {
    const v = err.metadata?.get(k)[0];
    return v === undefined ? undefined : String(v);
  };
  return {
    code: err.code,
    details: err.details,
    errorCode: get('runnel-error-code'),
    retriable: get('runnel-retriable'),
    leaderId: get('runnel-leader-id'),
    leaderAddress: get('runnel-leader-address'),
  };
}
