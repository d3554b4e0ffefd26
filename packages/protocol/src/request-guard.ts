import * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import { enumChecker } from './enum-check.js';
import { RunnelError, toGrpcStatus } from './errors.js';
import { protoRoot } from './loader.js';
import { capText } from './user-text.js';
import { wireBoundsProblem } from './wire-bounds.js';

/**
 * The one validation layer at the gRPC edge, for every Runnel service of a process: each request
 * message (the one of a unary call, every one of a client stream) is checked against its message
 * type before any handler sees it - its size in encoded fields (wire-bounds.ts) before it is
 * decoded, its enum values (enum-check.ts) after - and a refused message ends the call with
 * INVALID_ARGUMENT and the Runnel code in the trailers, having changed nothing. It also caps the
 * details of every status a process sends (user-text.ts), whoever built it.
 */

const REFUSED = Symbol('runnel.refusedRequest');

/** What a guarded deserializer returns for a refused message: only the reason. */
interface RefusedRequest {
  readonly [REFUSED]: RunnelError;
}

function refusalOf(message: unknown): RunnelError | undefined {
  return typeof message === 'object' && message !== null && REFUSED in message ? (message as RefusedRequest)[REFUSED] : undefined;
}

/** The protobufjs request type of a method path such as '/runnel.v1.Broker/Produce', if it is ours. */
function requestTypeOf(path: string): protobuf.Type | undefined {
  const match = /^\/(runnel\.v1\.[A-Za-z0-9_]+)\/([A-Za-z0-9_]+)$/.exec(path);
  if (match === null) return undefined;
  const service = protoRoot().lookup(match[1]!);
  const method = service !== null && 'methods' in service ? (service as protobuf.Service).methods[match[2]!] : undefined;
  method?.resolve();
  return method?.resolvedRequestType ?? undefined;
}

/** The definition with each request deserializer checking the message first (others untouched). */
export function guardedDefinition(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition)) {
    const type = requestTypeOf(method.path);
    if (type === undefined) {
      out[name] = method;
      continue;
    }
    const enums = enumChecker(type);
    const decode = method.requestDeserialize;
    const requestDeserialize = (bytes: Buffer): unknown => {
      const bounds = wireBoundsProblem(type, bytes);
      if (bounds !== undefined) return { [REFUSED]: bounds } satisfies RefusedRequest;
      const message = decode(bytes);
      const problem = enums?.(message);
      if (problem !== undefined) return { [REFUSED]: new RunnelError('INVALID_REQUEST', `${type.name}: ${problem}; nothing was done`) } satisfies RefusedRequest;
      return message;
    };
    out[name] = { ...method, requestDeserialize };
  }
  return out as grpc.ServiceDefinition;
}

/** Server interceptor: turns a refused message into the call's status, and caps every status's details. */
export const requestGuardInterceptor: grpc.ServerInterceptor = (_method, call) => {
  let refused = false;
  const intercepting: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
    start: (next) => next({
      onReceiveMessage: (message, pass) => {
        const refusal = refusalOf(message);
        if (refusal === undefined) {
          pass(message);
          return;
        }
        refused = true;
        const status = toGrpcStatus(refusal);
        intercepting.sendStatus({ code: refusal.grpcStatus, details: status.details ?? '', metadata: status.metadata ?? null });
      },
      onReceiveHalfClose: (pass) => {
        if (!refused) pass();
      },
    }),
    sendStatus: (status, pass) => pass(status.details === undefined ? status : { ...status, details: capText(status.details) }),
  });
  return intercepting;
};
