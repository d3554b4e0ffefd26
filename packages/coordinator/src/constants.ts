/** Named bounds and defaults of the coordinator (units last). */

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7400;
export const DEFAULT_SESSION_TIMEOUT_MS = 3000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 500;
export const DEFAULT_LOG_LEVEL = 'info';

/** Bounds of the session timeout a coordinator may be configured with. */
export const SESSION_TIMEOUT_MS_MIN = 50;
export const SESSION_TIMEOUT_MS_MAX = 10 * 60 * 1000;
/** Bounds of the heartbeat interval (it must also be below session timeout / 2). */
export const HEARTBEAT_INTERVAL_MS_MIN = 5;

/** Failure detection runs at most this often, and at least once per heartbeat interval. */
export const FAILURE_CHECK_INTERVAL_MS_MIN = 10;

/** Broker ids are positive int32. */
export const BROKER_ID_MAX = 2_147_483_647;
/** Brokers the coordinator keeps track of (alive or dead). */
export const BROKERS_MAX = 10_000;
/** Length bounds of strings a broker registers with. */
export const BROKER_ADDRESS_CHARS_MAX = 300;
export const BROKER_RACK_CHARS_MAX = 200;
export const BROKER_INCARNATION_CHARS_MAX = 200;

/** Topics in the cluster. */
export const TOPICS_MAX = 10_000;
/** Partitions over every topic in the cluster. */
export const CLUSTER_PARTITIONS_MAX = 200_000;

/** Concurrent WatchMetadata streams. */
export const WATCHERS_MAX = 10_000;

/** Topic config defaults (a zero in CreateTopic takes these). */
export const TOPIC_RETENTION_MS_DEFAULT = 7 * 24 * 3600 * 1000;
export const TOPIC_RETENTION_BYTES_DEFAULT = -1;
/** Replication factor when a CreateTopic says 0 (this version keeps one replica per partition). */
export const REPLICATION_FACTOR_DEFAULT = 1;
/** Largest replication factor this version accepts. */
export const REPLICATION_FACTOR_SUPPORTED_MAX = 1;

/** The first leader epoch of a new partition (0 stays "unset" on the wire). */
export const FIRST_LEADER_EPOCH = 1;

/** Grace given to in-flight calls on close before they are cancelled. */
export const SHUTDOWN_GRACE_MS = 2000;

/** Metadata changes queued behind the one being persisted; beyond: TOO_MANY_REQUESTS. */
export const PENDING_CHANGES_MAX = 10_000;
