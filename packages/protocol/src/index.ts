export { PROTO_DIR, PROTO_FILES, LOADER_OPTIONS, runnelPackageDefinition, runnelGrpc, protoRoot, messageType } from './loader.js';
export type { RunnelGrpc } from './loader.js';
export {
  ERRORS, ERROR_METADATA, RunnelError, NotLeaderError, isErrorCode, toGrpcStatus, normaliseError,
  toErrorMessage, fromErrorMessage, fromServiceError,
} from './errors.js';
export type { ErrorCode, RunnelErrorOptions } from './errors.js';
export { murmur2, partitionForKey } from './partition-hash.js';
export { rawBatchesSerializer, brokerServerDefinition, decodeRawBatchesResponse } from './raw-batches.js';
export type { RawBatchesResponse } from './raw-batches.js';
export {
  GRPC_MESSAGE_BYTES_MAX, TOPIC_MESSAGE_BYTES_MAX, TOPIC_MESSAGE_BYTES_DEFAULT, PRODUCE_BATCH_BYTES_MAX,
  PARTITIONS_MAX, REPLICATION_FACTOR_MAX, GRPC_CHANNEL_OPTIONS, GRPC_SERVER_OPTIONS,
  PRODUCE_RECORDS_MAX, RECORD_HEADERS_MAX, REQUEST_FIELDS_MAX, ERROR_MESSAGE_CHARS_MAX,
} from './limits.js';
export { topicNameProblem, assertValidTopicName } from './topic-name.js';
export { quoteUserText, capText } from './user-text.js';
export type * from './generated/index.js';
export { startGrpcServer } from './grpc-server.js';
export type { ServiceRegistration, RunningServer, GrpcServerOptions } from './grpc-server.js';
export { streamLimits } from './stream-limits.js';
export type { StreamLimit, StreamLimits } from './stream-limits.js';
export { announceReady, exitOnSignals, envOptions, SHUTDOWN_MS_MAX } from './process-lifecycle.js';
export type { ReadyMessage } from './process-lifecycle.js';
export { DIAL_MAP_ENV, dialAddress, parseDialMap } from './dial-map.js';
export { BROKER_ID_HEADER, BROKER_INCARNATION_HEADER, CLUSTER_ID_HEADER } from './cluster-header.js';
export { guardCluster, wrongCluster } from './cluster-guard.js';
export { startMetricsServer } from './metrics-server.js';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.js';
