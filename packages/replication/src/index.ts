/**
 * @runnel/replication — the pure replication and election state machines (DESIGN.md "Replication",
 * "Failure detection and leader election"), their in-memory log twin and the deterministic
 * simulator. No I/O, no clock, no randomness: time is `tick()`, everything else is an input.
 *
 * Wiring it into the broker (one PartitionReplica per hosted partition replica):
 *  - create it from what storage recovered: `{ logEndOffset, epochEntries, highWatermark }` of the
 *    PartitionLog plus the promised epoch kept in the MetaStore (0 if none);
 *  - call `tick()` on a fixed timer (e.g. every 10 ms: then FETCH_KEEPALIVE_TICKS = 100 ms);
 *  - feed it every Replicate-stream message for the partition (`step`), coordinator metadata pushes
 *    (`step(RoleChange)`) and PrepareEpoch calls (`step(PrepareEpoch)`); produces go to `propose`;
 *  - after every input run the Ready loop documented on {@link PartitionReplica}: persist (append /
 *    appendBatch / truncateTo / MetaStore.put of the promise / setHighWatermark), report completions
 *    in order (`appended`, `truncated`, `promisePersisted`), start reads (`readCompleted`), send,
 *    acknowledge, serve readers below `highWatermark`, then `advance()`;
 *  - route `to: 'coordinator'` messages (EpochPromise, PrepareRejected, LeadershipDeclined) as the
 *    answers of the PrepareEpoch RPC / a coordinator notification.
 * The coordinator runs one {@link LeaderElection} per partition with a {@link FailureDetector} fed
 * by heartbeats (with the broker's incarnation), and the same persist-then-send Ready loop.
 */

export { AssertionError, assert } from './assert.js';
export {
  ASSIGNMENT_REBROADCAST_TICKS,
  CONTROL_BATCH_BYTES,
  ELECTION_RETRY_TICKS,
  FETCH_KEEPALIVE_TICKS,
  FOLLOWER_LIVENESS_TICKS,
  FOLLOWER_READ_BYTES_MAX,
  FOLLOWER_RETRANSMIT_TICKS,
  FOLLOWER_WINDOW_BATCHES_MAX,
  FOLLOWER_WINDOW_BYTES_MAX,
  LEADER_ISOLATION_TICKS,
  LOG_OPS_IN_FLIGHT_MAX,
  PENDING_PRODUCES_MAX,
  PREPARE_RESEND_TICKS,
  PREPARE_TIMEOUT_TICKS,
  PRODUCE_TIMEOUT_TICKS_DEFAULT,
  REPLICAS_MAX,
  SESSION_TIMEOUT_TICKS,
} from './constants.js';
export { EpochCache, LOG_START_ZERO } from './epoch-cache.js';
export type { EpochEnd, EpochEntry, LogStart } from './epoch-cache.js';
export { batchEnd } from './messages.js';
export type {
  Acks,
  Diverging,
  ElectionInput,
  EpochPromise,
  FetchRequest,
  FetchResponse,
  Fenced,
  LeadershipDeclined,
  LeaderIsolated,
  PrepareEpoch,
  PrepareRejected,
  ReplicaBatch,
  ReplicaInput,
  ReplicaOutput,
  RoleChange,
} from './messages.js';
export { MUTATIONS } from './mutation.js';
export type { Mutation } from './mutation.js';
export { DEFAULT_REPLICA_CONFIG, PartitionReplica } from './partition-replica.js';
export type {
  Outgoing,
  PartitionReplicaOptions,
  PersistAction,
  ProduceAck,
  ProduceError,
  Proposal,
  ProposeRejection,
  ProposeResult,
  ReadRequest,
  ReplicaConfig,
  ReplicaReady,
  RestoredReplicaState,
  Role,
} from './partition-replica.js';
export { DEFAULT_ELECTION_CONFIG, LeaderElection } from './leader-election.js';
export type {
  ElectionConfig,
  ElectionEvent,
  ElectionPersist,
  ElectionPhase,
  ElectionReady,
  RestoredElectionState,
  TransferOptions,
} from './leader-election.js';
export { FailureDetector } from './failure-detector.js';
export { MemoryLogStorage } from './memory-log.js';
export type { LogOpCompletion } from './memory-log.js';
export { DEFAULT_FAULTS, LEADER_CHURN_FAULTS, LEADER_ISOLATION_FAULTS, NO_FAULTS, OWN_HW_RETENTION_FAULTS, RETENTION_FAULTS, runSimulation } from './simulator/cluster.js';
export type { FaultProfile, SimulationOptions, SimulationResult, SimulationStats } from './simulator/cluster.js';
export { InvariantChecker, recordIdentity } from './simulator/invariants.js';
export type { ReplicaWatch, Violation } from './simulator/invariants.js';
export { COORDINATOR_NODE, SimNetwork } from './simulator/network.js';
export type { NetworkFaults } from './simulator/network.js';
export { Prng } from './simulator/prng.js';
