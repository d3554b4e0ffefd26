/**
 * The cluster metadata the coordinator owns, as plain immutable data. Changed only by
 * `apply(state, command)` (metadata-commands.ts); persisted by metadata-store.ts; turned into the
 * wire snapshot by metadata-snapshot.ts.
 */

/** A registered broker. */
export interface BrokerRecord {
  readonly id: number;
  /** host:port of its public endpoint. */
  readonly address: string;
  /** '' when none. */
  readonly rack: string;
  /** Random per broker process start; a new one means the broker restarted. */
  readonly incarnation: string;
  /** False once declared dead, and for every broker loaded after a coordinator restart until it re-registers. */
  readonly alive: boolean;
}

export type PartitionStatus = 'online' | 'offline';

/** One partition's assignment. */
export interface PartitionRecord {
  readonly partition: number;
  /** Ordered broker ids; the first is the preferred leader. */
  readonly replicas: readonly number[];
  /** Current leader's broker id, -1 when offline. */
  readonly leader: number;
  /** Epoch of the current (or, when offline, the last) leadership. */
  readonly leaderEpoch: number;
  /**
   * Highest epoch ever handed out (or reserved) for this partition: the next leadership gets a
   * greater one, so no epoch is used twice, even across a coordinator restart.
   */
  readonly highestEpoch: number;
  readonly status: PartitionStatus;
}

/** Effective topic settings (defaults already applied). */
export interface TopicSettings {
  /** -1 keeps data forever. */
  readonly retentionMs: number;
  /** -1 = no limit. */
  readonly retentionBytes: number;
  readonly maxMessageBytes: number;
  readonly cleanupPolicy: 'delete';
  /**
   * LOSSY: when no majority of a partition's replicas promises within the prepare timeout, elect
   * the most up-to-date promiser anyway instead of leaving the partition offline.
   */
  readonly uncleanLeaderElection: boolean;
}

export interface TopicRecord {
  readonly name: string;
  /** Random UUID fixed at creation. */
  readonly topicId: string;
  readonly replicationFactor: number;
  readonly settings: TopicSettings;
  /** Ordered by partition number; index = partition. */
  readonly partitions: readonly PartitionRecord[];
}

export interface MetadataState {
  /** Random, fixed when the store is first created. */
  readonly clusterId: string;
  /** +1 per applied change. */
  readonly version: number;
  readonly brokers: ReadonlyMap<number, BrokerRecord>;
  readonly topics: ReadonlyMap<string, TopicRecord>;
}

export function emptyState(clusterId: string): MetadataState {
  return { clusterId, version: 0, brokers: new Map(), topics: new Map() };
}

/** Ids of the brokers currently alive, ascending. */
export function liveBrokerIds(state: MetadataState): number[] {
  return [...state.brokers.values()].filter((b) => b.alive).map((b) => b.id).sort((a, b) => a - b);
}
