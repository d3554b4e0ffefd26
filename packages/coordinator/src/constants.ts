/** Named bounds and defaults of the coordinator (units last). */

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 7400;
export const DEFAULT_SESSION_TIMEOUT_MS = 3000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 500;
export const DEFAULT_LOG_LEVEL = 'info';
/** --metrics-port default: 0 = no metrics endpoint. */
export const DEFAULT_METRICS_PORT = 0;

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
/**
 * Partitions over every topic in the cluster; beyond: INVALID_PARTITIONS, nothing created. Every
 * metadata change is pushed to each broker as one whole snapshot, encoded and decoded in one turn
 * of the event loop: at this size that takes ~30 ms, at 20,000 already ~80 ms.
 */
export const CLUSTER_PARTITIONS_MAX = 10_000;
/**
 * Partition replicas one broker may host (over every topic); a CreateTopic whose assignment would
 * put more on any live broker is refused with INVALID_PARTITIONS, nothing created: add brokers, or
 * lower the partitions or the replication factor. Lower than Kafka's ~4,000: every replica here
 * ticks every 10 ms and every follower fetches every 100 ms even when idle, so an idle broker
 * with 1,000 replicas already spends 20-40% of a core on them (measured on a 2-core machine),
 * and a 3-broker cluster at 1,000 each starved its coordinator for up to 1.2 s while the first
 * elections of a 1,000-partition topic ran; at 500 the slowest small request stayed under 0.75 s.
 */
export const BROKER_REPLICAS_MAX = 500;

/** Concurrent WatchMetadata streams. */
export const WATCHERS_MAX = 10_000;
/** Share of the event loop the metadata push may take during a burst of changes (metadata-push.ts). */
export const METADATA_PUSH_DUTY_CYCLE_MAX = 0.25;

/** Topic config defaults (a zero in CreateTopic takes these). */
export const TOPIC_RETENTION_MS_DEFAULT = 7 * 24 * 3600 * 1000;
export const TOPIC_RETENTION_BYTES_DEFAULT = -1;
/** A CreateTopic with replication factor 0 gets min(this, live brokers). */
export const REPLICATION_FACTOR_DEFAULT = 3;

/** The first leader epoch of a new partition (a new partition is at epoch 0, no leader, until elected). */
export const FIRST_LEADER_EPOCH = 1;
/** CreateTopic waits at most this long for every new partition's first leader before answering. */
export const TOPIC_CREATE_LEADERS_WAIT_MS = 5000;

/** Grace given to in-flight calls on close before they are cancelled. */
export const SHUTDOWN_GRACE_MS = 2000;

/** Metadata changes queued behind the one being persisted; beyond: TOO_MANY_REQUESTS. */
export const PENDING_CHANGES_MAX = 10_000;

/**
 * Leader election (election-driver.ts). The pure LeaderElection counts ticks; the coordinator ticks
 * it every ELECTION_TICK_MS, so each millisecond timeout below is ceil(ms / ELECTION_TICK_MS) ticks
 * (timers can only make a tick later, never earlier: the timeouts are lower bounds).
 */
export const ELECTION_TICK_MS = 10;
/** Collect a majority of promises within this long, else the partition is reported offline. */
export const PREPARE_TIMEOUT_MS = 1500;
/** Re-send PrepareEpoch this often to live replicas that have not answered (and have no call in flight). */
export const PREPARE_RESEND_MS = 200;
/** Deadline of one Replication.PrepareEpoch call. */
export const PREPARE_CALL_TIMEOUT_MS = 1000;
/** An offline partition tries again this often (and at once when one of its replicas comes back). */
export const ELECTION_RETRY_MS = 3000;
/** A failed metadata write of an election is tried again after this long. */
export const ELECTION_PERSIST_RETRY_MS = 500;
/** PrepareEpoch calls in flight over every partition; beyond, sends wait for the next re-send. */
export const PREPARE_CALLS_IN_FLIGHT_MAX = 10_000;
/**
 * Elections in progress at once (from "electing" to elected or offline); a partition that would
 * start one beyond that waits its turn. Bounds the PrepareEpoch calls and metadata writes of one
 * turn when thousands of partitions need a leader at once (a new wide topic, a broker dying).
 */
export const ELECTIONS_ACTIVE_MAX = 128;
/**
 * Persisted election writes are reported to their elections for at most this long per turn of the
 * event loop, then the rest wait for the next turn (each may start PrepareEpoch calls: ~0.1-0.4 ms
 * apiece in grpc-js).
 */
export const ELECTION_COMPLETIONS_SLICE_MS = 10;

/** Default of --preferred-leader-check-interval-ms (0 disables preferred-leader rebalancing). */
export const DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS = 5000;
/** A partition's leadership is moved back to its preferred replica at most this often. */
export const PREFERRED_LEADER_MOVE_INTERVAL_MS_MIN = 10_000;
/** Preferred-leader moves started by one check (the rest wait for the next check). */
export const PREFERRED_LEADER_MOVES_PER_CHECK_MAX = 100;
/** ControlledShutdown waits at most this long for the moves it started before answering (brokers call with a 2 s deadline). */
export const CONTROLLED_SHUTDOWN_WAIT_MS = 1000;

