export { startCoordinator } from './coordinator.js';
export type { RunningCoordinator, StartCoordinatorOptions } from './coordinator.js';
export { openMetaStore } from './meta-store-open.js';
export type { OpenedMetaStore } from './meta-store-open.js';
export { parseCoordinatorConfig, coordinatorConfigSchema, ConfigError, CONFIG_FLAGS, LOG_LEVELS } from './config.js';
export type { CoordinatorConfig, CoordinatorConfigInput, LogLevel } from './config.js';
export { apply, applyAll } from './metadata-commands.js';
export type {
  MetadataCommand, RegisterBrokerCommand, MarkBrokerDeadCommand, CreateTopicCommand, DeleteTopicCommand, ChangeLeaderCommand,
} from './metadata-commands.js';
export { emptyState, liveBrokerIds } from './metadata-state.js';
export type { MetadataState, BrokerRecord, TopicRecord, PartitionRecord, PartitionStatus, TopicSettings } from './metadata-state.js';
export { assignReplicas, brokerLoad, brokerRing } from './assignment.js';
export type { AssignableBroker, AssignmentInput, BrokerLoad } from './assignment.js';
export { planCreateTopic, resolveTopicSettings, resolveReplicationFactor } from './topic-admin.js';
export type { CreateTopicInput } from './topic-admin.js';
export { toClusterMetadata, toTopicInfo } from './metadata-snapshot.js';
export { loadState, changeOps, META_KEYS } from './metadata-store.js';
export { MemoryMetaKv } from './meta-kv.js';
export type { MetaKv } from './meta-kv.js';
export { MetadataWatchers } from './metadata-watch.js';
export type { WatchStream } from './metadata-watch.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_PORT, DEFAULT_SESSION_TIMEOUT_MS, FIRST_LEADER_EPOCH, REPLICATION_FACTOR_DEFAULT,
  TOPIC_RETENTION_MS_DEFAULT, TOPIC_RETENTION_BYTES_DEFAULT, BROKERS_MAX, TOPICS_MAX, CLUSTER_PARTITIONS_MAX, BROKER_REPLICAS_MAX,
  WATCHERS_MAX,
} from './constants.js';
