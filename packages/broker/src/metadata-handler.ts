import type * as grpc from '@grpc/grpc-js';
import { RunnelError, toGrpcStatus } from '@runnel/protocol';
import type { ClusterMetadata, GetMetadataRequest__Output } from '@runnel/protocol';
import type { MetadataView } from './metadata-view.js';

/** GetMetadata: the cached snapshot, limited to the named topics (unknown names: UNKNOWN_TOPIC). */
export function getMetadata(view: MetadataView, request: GetMetadataRequest__Output): ClusterMetadata {
  const snapshot = view.snapshot;
  if (request.topics.length === 0) return snapshot;
  const missing = request.topics.filter((name) => view.topic(name) === undefined);
  if (missing.length > 0) {
    throw new RunnelError('UNKNOWN_TOPIC', `unknown topic${missing.length > 1 ? 's' : ''} ${missing.map((n) => JSON.stringify(n)).join(', ')} (metadata version ${snapshot.version})`);
  }
  const wanted = new Set(request.topics);
  return { ...snapshot, topics: snapshot.topics.filter((t) => wanted.has(t.name)) };
}

export function getMetadataHandler(view: MetadataView): grpc.handleUnaryCall<GetMetadataRequest__Output, ClusterMetadata> {
  return (call, callback) => {
    try {
      callback(null, getMetadata(view, call.request));
    } catch (err) {
      callback(toGrpcStatus(err instanceof RunnelError ? err : new RunnelError('INTERNAL', 'internal error', { cause: err })));
    }
  };
}
