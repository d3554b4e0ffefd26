/**
 * Named bounds and defaults of the replication state machines (units last). Time is in ticks: the
 * driver decides how long a tick is (the broker: 10 ms; the simulator: one step). Every queue, map
 * and window in this package is bounded by one of these.
 */

/** Bytes a leader keeps in flight (shipped, not yet acknowledged by a fetch) per follower. */
export const FOLLOWER_WINDOW_BYTES_MAX = 1024 * 1024;
/** Batches a leader keeps in flight per follower. */
export const FOLLOWER_WINDOW_BATCHES_MAX = 64;
/** Bytes the leader asks the log for in one read for one follower. */
export const FOLLOWER_READ_BYTES_MAX = 256 * 1024;
/** Ticks without fetch progress from a follower after which the leader re-ships from its last fetch offset. */
export const FOLLOWER_RETRANSMIT_TICKS = 20;
/** A follower not heard from for this many ticks does not count as live for NOT_ENOUGH_REPLICAS. */
export const FOLLOWER_LIVENESS_TICKS = 50;
/**
 * A leader that has not heard from a majority of its replica set for this many ticks (3 s in the
 * broker, the default broker session timeout) asks the coordinator to move its leadership.
 */
export const LEADER_ISOLATION_TICKS = 300;
/** A follower with nothing else to say sends a fetch (keepalive, HW refresh, retransmit trigger) this often. */
export const FETCH_KEEPALIVE_TICKS = 10;

/** Produces waiting for their ack level per partition leader; beyond: TOO_MANY_REQUESTS. */
export const PENDING_PRODUCES_MAX = 4096;
/** Ticks a produce may wait for its ack level before failing with TIMEOUT (default). */
export const PRODUCE_TIMEOUT_TICKS_DEFAULT = 100;
/** Storage operations (appends, truncations) issued and not yet durable per replica. */
export const LOG_OPS_IN_FLIGHT_MAX = 1024;
/** Size the core accounts for an epoch-start control batch. */
export const CONTROL_BATCH_BYTES = 64;

/** Coordinator: ticks to collect a majority of promises before reporting the partition offline. */
export const PREPARE_TIMEOUT_TICKS = 30;
/** Coordinator: ticks between PrepareEpoch re-sends to replicas that have not answered. */
export const PREPARE_RESEND_TICKS = 5;
/** Coordinator: ticks an offline partition waits before the next election attempt. */
export const ELECTION_RETRY_TICKS = 20;
/** Coordinator: ticks between re-broadcasts of the current assignment (metadata push). */
export const ASSIGNMENT_REBROADCAST_TICKS = 20;
/** Coordinator: ticks without a heartbeat after which a broker is declared dead. */
export const SESSION_TIMEOUT_TICKS = 15;
/** Largest replica set (replication factor) the state machines accept. */
export const REPLICAS_MAX = 5;
