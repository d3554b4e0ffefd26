import type { Logger } from 'pino';
import { NotLeaderError, RunnelError, TOPIC_MESSAGE_BYTES_DEFAULT } from '@runnel/protocol';
import type { ClusterMetadata__Output, PartitionInfo__Output, TopicInfo__Output } from '@runnel/protocol';
import type { PartitionKey, PartitionLog } from '@runnel/storage';
import type { MetadataView } from './metadata-view.js';
import { PartitionLeader } from './partition-leader.js';
import type { TopicSettings } from './partition-leader.js';

/** The part of the storage Store the broker uses. */
export interface BrokerStore {
  partition(key: PartitionKey): Promise<PartitionLog> | PartitionLog;
  dropPartition(key: PartitionKey): Promise<void>;
  listPartitions(): Promise<PartitionKey[]>;
  close(): Promise<void>;
}

/** A request's target, resolved against the metadata. */
export interface ResolvedPartition {
  readonly topic: TopicInfo__Output;
  readonly info: PartitionInfo__Output;
}

const keyOf = (topicId: string, partition: number): string => `${topicId}\u0000${partition}`;

/** Topic settings from the coordinator's effective config (non-positive retention = unlimited). */
export function topicSettings(topic: TopicInfo__Output): TopicSettings {
  const c = topic.config;
  return {
    retentionMs: c !== null && c.retentionMs > 0 ? c.retentionMs : -1,
    retentionBytes: c !== null && c.retentionBytes > 0 ? c.retentionBytes : -1,
    maxMessageBytes: c !== null && c.maxMessageBytes > 0 ? c.maxMessageBytes : TOPIC_MESSAGE_BYTES_DEFAULT,
  };
}

export interface PartitionRegistryOptions {
  readonly nodeId: number;
  readonly store: BrokerStore;
  readonly metadata: MetadataView;
  readonly logger: Logger;
  readonly nowMs: () => number;
}

/**
 * The partitions this broker leads, kept in step with the coordinator's metadata, and the lookups
 * every handler starts with (topic -> partition -> leader, each with its typed error).
 *
 * Snapshots are applied one at a time in version order; while one is being applied (opening logs),
 * newer ones coalesce into the latest (never queued).
 */
export class PartitionRegistry {
  private readonly nodeId: number;
  private readonly store: BrokerStore;
  private readonly metadata: MetadataView;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private readonly leaders = new Map<string, PartitionLeader>();
  /** Every topic id seen in a snapshot during this process's life, with the partitions it had here. */
  private readonly seenTopics = new Map<string, { name: string; partitions: Set<number> }>();
  private next: ClusterMetadata__Output | undefined;
  private applying: Promise<void> | undefined;
  private closingError: RunnelError | undefined;

  constructor(options: PartitionRegistryOptions) {
    this.nodeId = options.nodeId;
    this.store = options.store;
    this.metadata = options.metadata;
    this.logger = options.logger;
    this.nowMs = options.nowMs;
  }

  /** Resolves once the snapshots offered so far are applied. */
  settled(): Promise<void> {
    return this.applying ?? Promise.resolve();
  }

  /**
   * Logs a warning for every stored partition whose topic id the current metadata does not know.
   * Data is never deleted for that: only a deletion seen while running drops a partition.
   */
  async warnOrphans(): Promise<void> {
    const known = new Set(this.metadata.snapshot.topics.map((t) => t.topicId));
    for (const key of await this.store.listPartitions()) {
      if (!known.has(key.topicId)) this.logger.warn({ topicId: key.topicId, partition: key.partition }, 'orphaned partition: its topic is not in the metadata; keeping its data');
    }
  }

  /** Every partition led here. */
  all(): PartitionLeader[] {
    return [...this.leaders.values()];
  }

  get closing(): boolean {
    return this.closingError !== undefined;
  }

  /** Throws SHUTTING_DOWN once close has begun. */
  assertOpen(): void {
    if (this.closingError !== undefined) throw this.closingError;
  }

  resolveTopic(name: string): TopicInfo__Output {
    this.assertOpen();
    if (typeof name !== 'string' || name === '') throw new RunnelError('INVALID_REQUEST', 'the request names no topic; set `topic`');
    const topic = this.metadata.topic(name);
    if (topic === undefined) {
      throw new RunnelError('UNKNOWN_TOPIC', `topic ${JSON.stringify(name)} does not exist (metadata version ${this.metadata.version})`);
    }
    return topic;
  }

  resolvePartition(topic: TopicInfo__Output, partition: number): ResolvedPartition {
    const info = Number.isInteger(partition) ? this.metadata.partition(topic, partition) : undefined;
    if (info === undefined) {
      const count = topic.partitions.length;
      throw new RunnelError('UNKNOWN_PARTITION', `topic ${JSON.stringify(topic.name)} has no partition ${partition}; valid partitions are 0 to ${count - 1}`);
    }
    return { topic, info };
  }

  /** The leader object for a partition led here, or NOT_LEADER / PARTITION_OFFLINE naming who leads. */
  leaderFor(target: ResolvedPartition): PartitionLeader {
    this.assertOpen();
    const { topic, info } = target;
    const leader = this.leaders.get(keyOf(topic.topicId, info.partition));
    if (leader !== undefined && leader.isLeading) return leader;
    const who = this.metadata.leaderOf(info);
    if (!who.online) {
      throw new RunnelError('PARTITION_OFFLINE', `${topic.name}/${info.partition} has no live leader right now; retry after a metadata refresh`);
    }
    if (who.leaderId === this.nodeId) {
      // The snapshot names us but the log is still opening (or just resigned under a newer snapshot).
      throw new RunnelError('NOT_LEADER', `${topic.name}/${info.partition} is becoming led by this broker; retry shortly`);
    }
    throw new NotLeaderError(topic.name, info.partition, who.leaderId, who.leaderAddress);
  }

  /** The leader for `topic`/`partition` in one step (UNKNOWN_TOPIC, UNKNOWN_PARTITION, NOT_LEADER, …). */
  lookup(topicName: string, partition: number): PartitionLeader {
    const topic = this.resolveTopic(topicName);
    return this.leaderFor(this.resolvePartition(topic, partition));
  }

  /**
   * Takes a metadata snapshot: newer than the current one -> applied (in the background, in order).
   * Resolves once it (or a newer one) has been applied.
   */
  offer(snapshot: ClusterMetadata__Output): Promise<void> {
    if (this.closing) return Promise.resolve();
    if (this.metadata.hasSnapshot && snapshot.version <= this.metadata.version) return this.applying ?? Promise.resolve();
    if (this.next === undefined || snapshot.version > this.next.version) this.next = snapshot;
    this.applying ??= this.drain().finally(() => {
      this.applying = undefined;
    });
    return this.applying;
  }

  private async drain(): Promise<void> {
    while (this.next !== undefined && !this.closing) {
      const snapshot = this.next;
      this.next = undefined;
      if (!this.metadata.apply(snapshot)) continue;
      try {
        await this.reconcile(snapshot);
      } catch (err) {
        this.logger.error({ err, version: snapshot.version }, 'applying metadata failed');
      }
    }
  }

  private async reconcile(snapshot: ClusterMetadata__Output): Promise<void> {
    const present = new Set<string>();
    for (const topic of snapshot.topics) {
      present.add(topic.topicId);
      const seen = this.seenTopics.get(topic.topicId) ?? { name: topic.name, partitions: new Set<number>() };
      this.seenTopics.set(topic.topicId, seen);
      const settings = topicSettings(topic);
      for (const info of topic.partitions) {
        if (!info.replicas.includes(this.nodeId)) {
          this.resignIfLeading(topic, info);
          continue;
        }
        seen.partitions.add(info.partition);
        const who = this.metadata.leaderOf(info);
        const key = keyOf(topic.topicId, info.partition);
        const current = this.leaders.get(key);
        if (who.online && who.leaderId === this.nodeId) {
          if (current !== undefined) {
            if (info.leaderEpoch < current.epoch) {
              this.logger.warn({ topic: topic.name, partition: info.partition, epoch: info.leaderEpoch, currentEpoch: current.epoch }, 'ignoring leader epoch lower than the one in force');
            } else {
              current.raiseEpoch(info.leaderEpoch);
            }
            current.updateSettings(settings);
            continue;
          }
          await this.becomeLeader(topic, info, settings);
        } else {
          this.resignIfLeading(topic, info);
        }
      }
    }
    for (const [topicId, seen] of this.seenTopics) {
      if (present.has(topicId)) continue;
      this.seenTopics.delete(topicId);
      await this.dropTopic(topicId, seen.name, seen.partitions);
    }
  }

  private async becomeLeader(topic: TopicInfo__Output, info: PartitionInfo__Output, settings: TopicSettings): Promise<void> {
    const log = await this.store.partition({ topicId: topic.topicId, partition: info.partition });
    if (this.closing) return;
    // A newer snapshot may have arrived while the log opened; it is applied next and resigns if needed.
    const leader = new PartitionLeader({
      topic: topic.name,
      topicId: topic.topicId,
      partition: info.partition,
      epoch: info.leaderEpoch,
      log,
      settings,
      logger: this.logger.child({ topic: topic.name, partition: info.partition }),
      nowMs: this.nowMs,
    });
    this.leaders.set(keyOf(topic.topicId, info.partition), leader);
  }

  private resignIfLeading(topic: TopicInfo__Output, info: PartitionInfo__Output): void {
    const key = keyOf(topic.topicId, info.partition);
    const leader = this.leaders.get(key);
    if (leader === undefined) return;
    this.leaders.delete(key);
    const who = this.metadata.leaderOf(info);
    const error = who.online
      ? new NotLeaderError(topic.name, info.partition, who.leaderId, who.leaderAddress)
      : new RunnelError('NOT_LEADER', `${topic.name}/${info.partition} lost its leader; no leader is known right now`);
    leader.resign(error);
  }

  private async dropTopic(topicId: string, name: string, partitions: ReadonlySet<number>): Promise<void> {
    for (const partition of partitions) {
      const key = keyOf(topicId, partition);
      const leader = this.leaders.get(key);
      if (leader !== undefined) {
        this.leaders.delete(key);
        leader.resign(new RunnelError('UNKNOWN_TOPIC', `topic ${JSON.stringify(name)} was deleted`));
        await leader.waitIdle(1_000);
      }
      try {
        await this.store.dropPartition({ topicId, partition });
        this.logger.info({ topic: name, topicId, partition }, 'dropped partition of deleted topic');
      } catch (err) {
        this.logger.error({ err, topic: name, topicId, partition }, 'dropping partition failed');
      }
    }
  }

  /**
   * Begins shutdown: every later lookup fails with SHUTTING_DOWN and every reader ends with it.
   * Produces already accepted keep going (see waitIdle).
   */
  beginClose(): void {
    if (this.closingError !== undefined) return;
    this.closingError = new RunnelError('SHUTTING_DOWN', `broker ${this.nodeId} is shutting down; retry against the new leader`);
    this.next = undefined;
  }

  /** After beginClose: waits (bounded) for in-flight produces, then resigns every partition. */
  async finishClose(timeoutMs: number): Promise<void> {
    await this.applying;
    const leaders = this.all();
    await Promise.all(leaders.map((l) => l.waitIdle(timeoutMs)));
    const error = this.closingError ?? new RunnelError('SHUTTING_DOWN', 'shutting down');
    for (const leader of leaders) leader.resign(error);
    this.leaders.clear();
  }

  /** Ends every reader (subscriptions, long-polls) with SHUTTING_DOWN without failing produces. */
  endReaders(): void {
    const error = this.closingError ?? new RunnelError('SHUTTING_DOWN', 'shutting down');
    for (const leader of this.leaders.values()) leader.endReaders(error);
  }
}
