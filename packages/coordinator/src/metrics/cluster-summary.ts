import type { IsrLookup } from '../metadata-snapshot.js';
import type { MetadataState } from '../metadata-state.js';

/** The coordinator's gauges, from one metadata state. */
export interface ClusterSummary {
  /** Registered and alive. */
  readonly liveBrokers: number;
  /** Not alive, still awaited after a coordinator restart (elections treat them as live). */
  readonly awaitedBrokers: number;
  /** Not alive and not awaited: declared dead. */
  readonly deadBrokers: number;
  readonly topics: number;
  readonly partitions: number;
  /** With no leader (offline, or not yet elected). */
  readonly offlinePartitions: number;
  /** Whose leader reported fewer in-sync replicas than the replica set (unreported ones are not counted). */
  readonly underReplicatedPartitions: number;
  readonly metadataVersion: number;
}

export function clusterSummary(state: MetadataState, awaiting: ReadonlySet<number>, isr: IsrLookup): ClusterSummary {
  let liveBrokers = 0;
  let awaitedBrokers = 0;
  let deadBrokers = 0;
  for (const b of state.brokers.values()) {
    if (b.alive) liveBrokers++;
    else if (awaiting.has(b.id)) awaitedBrokers++;
    else deadBrokers++;
  }
  let partitions = 0;
  let offlinePartitions = 0;
  let underReplicatedPartitions = 0;
  for (const t of state.topics.values()) {
    for (const p of t.partitions) {
      partitions++;
      if (p.status === 'offline' || p.leader < 0) {
        offlinePartitions++;
        continue;
      }
      const inSync = isr(t.topicId, p);
      if (inSync !== undefined && inSync.length < p.replicas.length) underReplicatedPartitions++;
    }
  }
  return {
    liveBrokers, awaitedBrokers, deadBrokers, topics: state.topics.size, partitions, offlinePartitions, underReplicatedPartitions, metadataVersion: state.version,
  };
}
