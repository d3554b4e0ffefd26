import type { BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo } from '@runnel/protocol';
import type { BrokerRecord, MetadataState, TopicRecord } from './metadata-state.js';

/** The wire form of one topic (partitions in order). */
export function toTopicInfo(t: TopicRecord): TopicInfo {
  return {
    name: t.name,
    topicId: t.topicId,
    replicationFactor: t.replicationFactor,
    config: {
      retentionMs: t.settings.retentionMs,
      retentionBytes: t.settings.retentionBytes,
      maxMessageBytes: t.settings.maxMessageBytes,
      cleanupPolicy: 'CLEANUP_POLICY_DELETE',
    },
    partitions: t.partitions.map((p): PartitionInfo => ({
      partition: p.partition,
      leader: p.leader,
      replicas: [...p.replicas],
      leaderEpoch: p.leaderEpoch,
      state: p.status === 'online' ? 'PARTITION_STATE_ONLINE' : 'PARTITION_STATE_OFFLINE',
    })),
  };
}

export function toBrokerInfo(b: BrokerRecord): BrokerInfo {
  return { id: b.id, address: b.address, alive: b.alive, rack: b.rack };
}

/** Every topic, ordered by name. */
export function toTopicInfos(state: MetadataState): TopicInfo[] {
  return [...state.topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(toTopicInfo);
}

/** The whole snapshot: brokers by id, topics by name. */
export function toClusterMetadata(state: MetadataState): ClusterMetadata {
  return {
    version: state.version,
    clusterId: state.clusterId,
    brokers: [...state.brokers.values()].sort((a, b) => a.id - b.id).map(toBrokerInfo),
    topics: toTopicInfos(state),
  };
}
