import type { Logger } from 'pino';
import {
  RunnelError, fromServiceError,
  type ClusterMetadata__Output, type ListOffsetsResponse__Output, type ListTopicsResponse__Output, type PartitionOffsets__Output, type TopicInfo__Output,
} from '@runnel/protocol';
import type { ConnectionPool } from './connection-pool.js';
import { GroupAdmin, type GroupInfo, type GroupSummary, type ResetTo } from './group-admin.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ResolvedClientOptions } from './options.js';
import { withRetry } from './retry.js';

export interface TopicSpec {
  name: string;
  partitions: number;
  /** 1-5; default min(3, live brokers) (decided by the coordinator). */
  replicationFactor?: number;
  config?: {
    retentionMs?: number;
    retentionBytes?: number;
    maxMessageBytes?: number;
    /** LOSSY opt-in: elect a leader without a majority of replicas (see README, Guarantees). Default false. */
    uncleanLeaderElection?: boolean;
  };
}

export interface PartitionOffsetsInfo {
  partition: number;
  leader: number;
  replicas: number[];
  leaderEpoch: number;
  /** The PartitionState enum name, as in TopicInfo: 'PARTITION_STATE_ONLINE' / 'PARTITION_STATE_OFFLINE'. */
  state: string;
  /** -1 when the leader could not be asked (offline, unreachable). */
  logStartOffset: number;
  highWatermark: number;
  logEndOffset: number;
}

export interface Admin {
  createTopic(spec: TopicSpec): Promise<TopicInfo__Output>;
  deleteTopic(name: string): Promise<void>;
  listTopics(): Promise<TopicInfo__Output[]>;
  describeTopic(name: string): Promise<TopicInfo__Output>;
  describeCluster(): Promise<ClusterMetadata__Output>;
  /** Per partition: the assignment joined with its leader's ListOffsets answer (offline: offsets -1). */
  partitionOffsets(topic: string): Promise<PartitionOffsetsInfo[]>;
  /** First offset whose batch's max timestamp is >= timestampMs, else the high watermark. */
  offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number>;
  /** Every consumer group (asks every live broker). */
  listGroups(): Promise<GroupSummary[]>;
  /** Members, assignment, committed offsets and lag per partition; UNKNOWN_GROUP if it does not exist. */
  describeGroup(group: string): Promise<GroupInfo>;
  /** Sets a group's committed offsets (group must have no live members). */
  resetGroupOffsets(group: string, to: ResetTo, topics?: string[]): Promise<Array<{ topic: string; partition: number; offset: number }>>;
}

/** How many times partitionOffsets retries one leader (it is a status view, not a data path). */
const OFFSETS_RETRIES_MAX = 2;

/**
 * Admin operations. Coordinator calls retry retriable errors (unreachable coordinator,
 * NOT_ENOUGH_BROKERS while brokers register, …) with the client's policy; a createTopic retried
 * after an unknown outcome may answer TOPIC_ALREADY_EXISTS although this call created it.
 */
export class AdminClient implements Admin {
  private readonly log: Logger;
  private readonly groups: GroupAdmin;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly metadata: MetadataCache,
    private readonly options: ResolvedClientOptions,
    private readonly signal: AbortSignal,
  ) {
    this.log = options.logger.child({ component: 'admin' });
    this.groups = new GroupAdmin(pool, metadata, options, signal, (t) => this.partitionOffsets(t), (t, p, ts) => this.offsetForTimestamp(t, p, ts));
  }

  listGroups(): Promise<GroupSummary[]> {
    return this.groups.listGroups();
  }

  describeGroup(group: string): Promise<GroupInfo> {
    return this.groups.describeGroup(group);
  }

  resetGroupOffsets(group: string, to: ResetTo, topics?: string[]): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    return this.groups.resetOffsets(group, to, topics);
  }

  private coordinatorCall<T>(call: (timeoutMs: number) => Promise<T>): Promise<T> {
    return withRetry({ options: this.options.retry, signal: this.signal }, () => call(this.options.requestTimeoutMs));
  }

  async createTopic(spec: TopicSpec): Promise<TopicInfo__Output> {
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') throw new RunnelError('INVALID_REQUEST', 'createTopic needs { name, partitions }');
    if (!Number.isInteger(spec.partitions)) throw new RunnelError('INVALID_PARTITIONS', 'partitions must be an integer');
    const config = spec.config ?? {};
    const request = {
      name: spec.name,
      partitions: spec.partitions,
      replicationFactor: spec.replicationFactor ?? 0,
      config: {
        retentionMs: config.retentionMs ?? 0,
        retentionBytes: config.retentionBytes ?? 0,
        maxMessageBytes: config.maxMessageBytes ?? 0,
        uncleanLeaderElection: config.uncleanLeaderElection ?? false,
      },
    };
    const c = this.pool.coordinator(this.options.bootstrap);
    const info = await this.coordinatorCall((t) => this.pool.unary<TopicInfo__Output>((m, o, cb) => c.CreateTopic(request, m, o, cb), t));
    this.refreshInBackground();
    return info;
  }

  async deleteTopic(name: string): Promise<void> {
    const c = this.pool.coordinator(this.options.bootstrap);
    await this.coordinatorCall((t) => this.pool.unary((m, o, cb) => c.DeleteTopic({ name }, m, o, cb), t));
    this.refreshInBackground();
  }

  async listTopics(): Promise<TopicInfo__Output[]> {
    const c = this.pool.coordinator(this.options.bootstrap);
    const res = await this.coordinatorCall((t) => this.pool.unary<ListTopicsResponse__Output>((m, o, cb) => c.ListTopics({}, m, o, cb), t));
    return res.topics;
  }

  describeTopic(name: string): Promise<TopicInfo__Output> {
    const c = this.pool.coordinator(this.options.bootstrap);
    return this.coordinatorCall((t) => this.pool.unary<TopicInfo__Output>((m, o, cb) => c.DescribeTopic({ name }, m, o, cb), t));
  }

  async describeCluster(): Promise<ClusterMetadata__Output> {
    const c = this.pool.coordinator(this.options.bootstrap);
    const md = await this.coordinatorCall((t) => this.pool.unary<ClusterMetadata__Output>((m, o, cb) => c.DescribeCluster({}, m, o, cb), t));
    this.metadata.accept(md);
    return md;
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsetsInfo[]> {
    const info = await this.describeTopic(topic);
    await this.metadata.get().catch(() => undefined);
    const answers = await Promise.all(info.partitions.map(async (p) => {
      if (p.leader < 0 || p.state === 'PARTITION_STATE_OFFLINE') return undefined;
      try {
        return await this.listOffsets(topic, p.partition, undefined, OFFSETS_RETRIES_MAX);
      } catch (err) {
        this.log.debug({ topic, partition: p.partition, err: fromServiceError(err).message }, 'cannot read partition offsets');
        return undefined;
      }
    }));
    return info.partitions.map((p, i) => {
      const a = answers[i];
      return {
        partition: p.partition,
        leader: p.leader,
        replicas: p.replicas,
        leaderEpoch: p.leaderEpoch,
        state: p.state,
        logStartOffset: a?.logStartOffset ?? -1,
        highWatermark: a?.highWatermark ?? -1,
        logEndOffset: a?.logEndOffset ?? -1,
      };
    });
  }

  async offsetForTimestamp(topic: string, partition: number, timestampMs: number): Promise<number> {
    if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new RunnelError('INVALID_REQUEST', 'timestampMs must be a non-negative integer');
    await this.metadata.get();
    const answer = await this.listOffsets(topic, partition, timestampMs, this.options.retry.retriesMax);
    return answer.offsetForTimestamp;
  }

  /** ListOffsets for one partition on its leader, following NOT_LEADER hints and refreshing metadata. */
  private async listOffsets(topic: string, partition: number, timestampMs: number | undefined, retriesMax: number): Promise<PartitionOffsets__Output> {
    if (this.metadata.topic(topic) === undefined) await this.metadata.refresh();
    return withRetry(
      {
        options: { ...this.options.retry, retriesMax },
        signal: this.signal,
        beforeRetry: async (err) => {
          this.metadata.noteError(topic, partition, err);
          await this.metadata.refresh();
        },
      },
      async () => {
        const leader = this.metadata.leaderFor(topic, partition);
        if (leader instanceof RunnelError) throw leader;
        const b = this.pool.broker(leader.address);
        const request = timestampMs === undefined ? { topic, partitions: [partition] } : { topic, partitions: [partition], timestampMs };
        const res = await this.pool.unary<ListOffsetsResponse__Output>((m, o, cb) => b.ListOffsets(request, m, o, cb), this.options.requestTimeoutMs);
        const p = res.partitions.find((x) => x.partition === partition);
        if (p === undefined) throw new RunnelError('NOT_LEADER', `broker ${leader.id} did not report ${topic}/${partition}`);
        return p;
      },
    );
  }

  private refreshInBackground(): void {
    this.metadata.refresh().catch((err: unknown) => {
      this.log.debug({ err: fromServiceError(err).message }, 'metadata refresh after admin change failed');
    });
  }
}
