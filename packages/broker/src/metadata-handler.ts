import type * as grpc from '@grpc/grpc-js';
import { RunnelError, quoteUserText, toGrpcStatus, topicNameProblem } from '@runnel/protocol';
import type { ClusterMetadata, GetMetadataRequest__Output } from '@runnel/protocol';
import type { MetadataView } from './metadata-view.js';

/** Unknown topics an UNKNOWN_TOPIC message names at most. */
const MISSING_NAMED_MAX = 5;

/** GetMetadata: the cached snapshot, limited to the named topics (invalid names: INVALID_TOPIC_NAME, unknown ones: UNKNOWN_TOPIC). */
export function getMetadata(view: MetadataView, request: GetMetadataRequest__Output): ClusterMetadata {
  const snapshot = view.snapshot;
  if (request.topics.length === 0) return snapshot;
  for (const name of request.topics) {
    const problem = topicNameProblem(name, true);
    if (problem !== undefined) throw new RunnelError('INVALID_TOPIC_NAME', problem);
  }
  const missing = request.topics.filter((name) => view.topic(name) === undefined);
  if (missing.length > 0) {
    // Name a few: the request may list thousands.
    const named = missing.slice(0, MISSING_NAMED_MAX).map(quoteUserText).join(', ');
    const more = missing.length > MISSING_NAMED_MAX ? ` and ${missing.length - MISSING_NAMED_MAX} more` : '';
    throw new RunnelError('UNKNOWN_TOPIC', `unknown topic${missing.length > 1 ? 's' : ''} ${named}${more} (metadata version ${snapshot.version})`);
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
