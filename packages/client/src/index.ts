export { RunnelClient } from './client.js';
export type { Admin, TopicSpec, PartitionOffsetsInfo } from './admin.js';
export { Producer } from './producer.js';
export type { ProducerStats } from './producer.js';
export { Consumer } from './consumer.js';
export { GroupConsumer } from './group-consumer.js';
export type { GroupSummary, GroupInfo, GroupPartitionInfo, ResetTo } from './group-admin.js';
export { RetriesExhaustedError, ClientClosedError } from './client-errors.js';
export { backoffMs } from './retry.js';
export type {
  ClientOptions, RetryOptions, ProducerOptions, ConsumerOptions, GroupConsumerOptions, RecordsLost, Acks, StartFrom,
} from './options.js';
export type { ProducerRecord, RecordMetadata, ConsumedRecord } from './record-types.js';
export {
  BOOTSTRAP_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT, RETRIES_MAX_DEFAULT, LINGER_MS_DEFAULT, BATCH_BYTES_MAX_DEFAULT,
  IN_FLIGHT_REQUESTS_MAX_DEFAULT, BUFFER_BYTES_MAX_DEFAULT, CREDIT_BYTES_DEFAULT, CREDIT_RECORDS_DEFAULT,
} from './constants.js';
export { RunnelError, NotLeaderError } from '@runnel/protocol';
export type { ErrorCode, TopicInfo__Output, ClusterMetadata__Output, PartitionInfo__Output, BrokerInfo__Output } from '@runnel/protocol';
