import type * as grpc from '@grpc/grpc-js';
import { CLUSTER_ID_HEADER } from './cluster-header.js';
import { RunnelError, toGrpcStatus } from './errors.js';

type Handler = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * The one rule for every peer that names its cluster (client header, replication frame,
 * PrepareEpoch): once this process knows its cluster (`ours`), anything naming another is refused.
 * `role` names the refusing process in the message ("broker", "coordinator").
 */
export function wrongCluster(what: string, theirs: string, ours: string, role = 'broker'): RunnelError | undefined {
  if (ours === '' || theirs === ours) return undefined;
  return new RunnelError('WRONG_CLUSTER', `${what} is for cluster "${theirs.slice(0, 100)}", this ${role} is in cluster "${ours}"; refresh metadata from the bootstrap coordinator`);
}

/**
 * Wraps every handler of a service so a call meant for another cluster (see CLUSTER_ID_HEADER) is
 * refused with WRONG_CLUSTER before it is read: unary and client-streaming calls through the
 * callback, streaming responses with an error status. Used by brokers and the coordinator alike.
 */
export function guardCluster(
  definition: grpc.ServiceDefinition,
  implementation: grpc.UntypedServiceImplementation,
  clusterId: () => string,
  role = 'broker',
): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const streamsResponses = definition[name]?.responseStream === true;
    const inner = handler as unknown as Handler;
    const guarded: Handler = (call, callback) => {
      const theirs = String(call.metadata.get(CLUSTER_ID_HEADER)[0] ?? '');
      // The header is optional: calls without it are served.
      const refused = theirs === '' ? undefined : wrongCluster(`${name} call`, theirs, clusterId(), role);
      if (refused === undefined) {
        inner(call, callback);
      } else if (streamsResponses) {
        call.emit('error', toGrpcStatus(refused));
      } else {
        callback?.(toGrpcStatus(refused));
      }
    };
    out[name] = guarded as unknown as grpc.UntypedHandleCall;
  }
  return out;
}
