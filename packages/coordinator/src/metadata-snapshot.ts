import type { BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo } from '@runnel/protocol';
import type { BrokerRecord, MetadataState, PartitionRecord, TopicRecord } from './metadata-state.js';

/**
 * The in-sync replicas the current leader last reported for a partition (not persisted; undefined
 * when unknown, e.g. right after a leader change).
 */
export type IsrLookup = (topicId: string, p: PartitionRecord) => readonly number[] | undefined;

const noIsr: IsrLookup = () => undefined;

/** The wire form of one topic (partitions in order). */
export function toTopicInfo(t: TopicRecord, isr: IsrLookup = noIsr): TopicInfo {
  return {
    name: t.name,
    topicId: t.topicId,
    replicationFactor: t.replicationFactor,
    config: {
      retentionMs: t.settings.retentionMs,
      retentionBytes: t.settings.retentionBytes,
      maxMessageBytes: t.settings.maxMessageBytes,
      cleanupPolicy: 'CLEANUP_POLICY_DELETE',
      uncleanLeaderElection: t.settings.uncleanLeaderElection,
    },
    partitions: t.partitions.map((p): PartitionInfo => ({
      partition: p.partition,
      leader: p.leader,
      replicas: [...p.replicas],
      leaderEpoch: p.leaderEpoch,
      state: p.status === 'online' ? 'PARTITION_STATE_ONLINE' : 'PARTITION_STATE_OFFLINE',
      inSyncReplicas: [...(isr(t.topicId, p) ?? [])],
    })),
  };
}

export function toBrokerInfo(b: BrokerRecord): BrokerInfo {
  return { id: b.id, address: b.address, alive: b.alive, rack: b.rack };
}

/** Every topic, ordered by name. */
export function toTopicInfos(state: MetadataState, isr: IsrLookup = noIsr): TopicInfo[] {
  return [...state.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((t) => toTopicInfo(t, isr));
}

/** The whole snapshot: brokers by id, topics by name. */
export function toClusterMetadata(state: MetadataState, isr: IsrLookup = noIsr): ClusterMetadata {
  return {
    version: state.version,
    clusterId: state.clusterId,
    brokers: [...state.brokers.values()].sort((a, b) => a.id - b.id).map(toBrokerInfo),
    topics: toTopicInfos(state, isr),
  };
}
