export { startBroker } from './broker.js';
export type { RunningBroker, StartBrokerOptions } from './broker.js';
export type { ReplicationFaults } from './replication-transport.js';
export { parseBrokerConfig, ConfigError, CONFIG_FLAGS, LOG_LEVELS } from './config.js';
export type { BrokerConfig, LogLevel } from './config.js';
export {
  PRODUCE_STREAM_IN_FLIGHT_MAX, PRODUCE_TIMEOUT_MS_DEFAULT, PRODUCE_TIMEOUT_MS_MAX, FETCH_BYTES_DEFAULT, FETCH_BYTES_MAX,
  FETCH_WAIT_MS_MAX, PARTITION_PENDING_PRODUCE_BYTES_MAX,
} from './constants.js';
