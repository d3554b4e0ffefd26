import type * as grpc from '@grpc/grpc-js';
import { CLUSTER_ID_HEADER, RunnelError, toGrpcStatus } from '@runnel/protocol';

type Handler = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, callback?: grpc.sendUnaryData<unknown>) => void;

/** Why a call must be refused, or undefined: its CLUSTER_ID_HEADER (when present) must name this broker's cluster. */
export function clusterMismatch(metadata: grpc.Metadata, ours: string): RunnelError | undefined {
  const theirs = String(metadata.get(CLUSTER_ID_HEADER)[0] ?? '');
  if (theirs === '' || ours === '' || theirs === ours) return undefined;
  return new RunnelError('WRONG_CLUSTER', `this broker is in cluster "${ours}", the request is for cluster "${theirs}"; refresh metadata from your bootstrap coordinator`);
}

/**
 * Wraps every handler of a service so a call meant for another cluster (see CLUSTER_ID_HEADER) is
 * refused with WRONG_CLUSTER before it is read: unary and client-streaming calls through the
 * callback, streaming responses with an error status.
 */
export function guardCluster(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation, clusterId: () => string): grpc.UntypedServiceImplementation {
  const out: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(implementation)) {
    const streamsResponses = definition[name]?.responseStream === true;
    const inner = handler as unknown as Handler;
    const guarded: Handler = (call, callback) => {
      const refused = clusterMismatch(call.metadata, clusterId());
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
