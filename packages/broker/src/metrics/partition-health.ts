import type { ClusterMetadata__Output } from '@runnel/protocol';

/** What the metrics need of a partition led here. */
export interface LedPartition {
  readonly topic: string;
  readonly partition: number;
  /** Replica set of the current assignment. */
  readonly replicaSet: readonly number[];
  /** Replicas in sync with the leader, itself included. */
  readonly inSyncCount: number;
  /** Leader LEO minus the slowest follower's acknowledged LEO. */
  readonly followerLagRecords: number;
}

export interface PartitionHealth {
  readonly led: number;
  /** Led here with fewer in-sync replicas than assigned replicas. */
  readonly underReplicated: number;
  /** Per partition led (at most `max`): follower lag in records. */
  readonly followerLags: readonly { readonly topic: string; readonly partition: number; readonly lag: number }[];
}

/** Sums up the partitions led here; at most `max` follower-lag series. */
export function partitionHealth(led: readonly LedPartition[], max: number): PartitionHealth {
  let underReplicated = 0;
  const followerLags: Array<{ topic: string; partition: number; lag: number }> = [];
  for (const p of led) {
    if (p.inSyncCount < p.replicaSet.length) underReplicated++;
    if (followerLags.length < max) followerLags.push({ topic: p.topic, partition: p.partition, lag: p.followerLagRecords });
  }
  return { led: led.length, underReplicated, followerLags };
}

/** Partitions the metadata shows with no leader (offline, or not yet elected). */
export function offlinePartitions(snapshot: ClusterMetadata__Output): number {
  let n = 0;
  for (const t of snapshot.topics) {
    for (const p of t.partitions) if (p.state === 'PARTITION_STATE_OFFLINE' || p.leader < 0) n++;
  }
  return n;
}
