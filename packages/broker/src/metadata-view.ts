import type { BrokerInfo__Output, ClusterMetadata__Output, PartitionInfo__Output, TopicInfo__Output } from '@runnel/protocol';

/** What a partition's leader looks like from the metadata. */
export interface LeaderInfo {
  /** Broker id, or -1 when there is none (offline). */
  readonly leaderId: number;
  /** Its address, or undefined when unknown. */
  readonly leaderAddress: string | undefined;
  readonly epoch: number;
  readonly online: boolean;
}

const EMPTY: ClusterMetadata__Output = { version: 0, brokers: [], topics: [], clusterId: '' };

/**
 * This broker's cached copy of the cluster metadata: the newest snapshot by `version` (stale ones
 * are ignored), with lookups by topic name, topic id and broker id.
 */
export class MetadataView {
  private current: ClusterMetadata__Output = EMPTY;
  private received = false;
  private topicsByName = new Map<string, TopicInfo__Output>();
  private brokersById = new Map<number, BrokerInfo__Output>();

  /** The current snapshot (an empty one, version 0, until the first arrives). */
  get snapshot(): ClusterMetadata__Output {
    return this.current;
  }

  get version(): number {
    return this.current.version;
  }

  get hasSnapshot(): boolean {
    return this.received;
  }

  /** Takes `snapshot` if it is newer than the current one; returns whether it did. */
  apply(snapshot: ClusterMetadata__Output): boolean {
    if (this.received && snapshot.version <= this.current.version) return false;
    this.current = snapshot;
    this.received = true;
    this.topicsByName = new Map(snapshot.topics.map((t) => [t.name, t]));
    this.brokersById = new Map(snapshot.brokers.map((b) => [b.id, b]));
    return true;
  }

  topic(name: string): TopicInfo__Output | undefined {
    return this.topicsByName.get(name);
  }

  broker(id: number): BrokerInfo__Output | undefined {
    return this.brokersById.get(id);
  }

  partition(topic: TopicInfo__Output, partition: number): PartitionInfo__Output | undefined {
    const p = topic.partitions[partition];
    if (p?.partition === partition) return p;
    return topic.partitions.find((x) => x.partition === partition);
  }

  leaderOf(partition: PartitionInfo__Output): LeaderInfo {
    const online = partition.state !== 'PARTITION_STATE_OFFLINE' && partition.leader >= 0;
    const leaderId = online ? partition.leader : -1;
    const address = leaderId >= 0 ? this.broker(leaderId)?.address : undefined;
    return { leaderId, leaderAddress: address === '' ? undefined : address, epoch: partition.leaderEpoch, online };
  }
}
