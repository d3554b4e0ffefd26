import * as grpc from '@grpc/grpc-js';
import { RunnelError, toGrpcStatus } from './errors.js';

/** A bound on the calls of one method open at once in a process, whatever connection they came on. */
export interface StreamLimit {
  /** Method path, e.g. '/runnel.v1.Broker/Subscribe'. */
  readonly path: string;
  /** Calls of it open at once; the next is refused. */
  readonly max: number;
  /** What one call is, plural ("subscriptions"), for the refusal message. */
  readonly what: string;
  /** The option that sets `max` ("--subscriptions-max"), named in the refusal so an operator knows what to raise. */
  readonly flag: string;
}

export interface StreamLimits {
  /** The server interceptor that counts and refuses (startGrpcServer installs it). */
  readonly interceptor: grpc.ServerInterceptor;
  /** Calls of `path` open now (for metrics and tests). */
  open(path: string): number;
}

/**
 * Counts the open calls of each limited method process-wide (grpc.max_concurrent_streams is per
 * connection, and a client past it waits instead of hearing why) and refuses one over its limit
 * before any handler sees it: RESOURCE_EXHAUSTED / TOO_MANY_STREAMS, naming the limit and its flag.
 * A call counts from its headers until its status is sent or it is cancelled, whichever comes first.
 */
export function streamLimits(limits: readonly StreamLimit[], role = 'broker'): StreamLimits {
  const byPath = new Map(limits.map((l) => [l.path, { limit: l, open: 0 }]));
  const interceptor: grpc.ServerInterceptor = (method, call) => {
    const slot = byPath.get(method.path);
    if (slot === undefined) return new grpc.ServerInterceptingCall(call);
    let counted = false;
    const release = (): void => {
      if (!counted) return;
      counted = false;
      slot.open--;
    };
    const intercepting: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) => next({
        onReceiveMetadata: (metadata, pass) => {
          if (slot.open >= slot.limit.max) {
            const { what, max, flag } = slot.limit;
            const refusal = new RunnelError('TOO_MANY_STREAMS', `this ${role} already has ${max} open ${what}, its limit (${flag} ${max}); close some or retry later, or raise ${flag}`);
            const status = toGrpcStatus(refusal);
            intercepting.sendStatus({ code: refusal.grpcStatus, details: status.details ?? '', metadata: status.metadata ?? null });
            return;
          }
          counted = true;
          slot.open++;
          pass(metadata);
        },
        onCancel: release,
      }),
      sendStatus: (status, pass) => {
        release();
        pass(status);
      },
    });
    return intercepting;
  };
  return { interceptor, open: (path) => byPath.get(path)?.open ?? 0 };
}
