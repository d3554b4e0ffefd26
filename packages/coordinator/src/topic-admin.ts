import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import {
  PARTITIONS_MAX, REPLICATION_FACTOR_MAX, RunnelError, TOPIC_MESSAGE_BYTES_DEFAULT, TOPIC_MESSAGE_BYTES_MAX,
  topicNameProblem,
} from '@runnel/protocol';
import type { TopicInfo } from '@runnel/protocol';
import { assignReplicas, brokerLoad } from './assignment.js';
import {
  BROKER_REPLICAS_MAX, CLUSTER_PARTITIONS_MAX, FIRST_LEADER_EPOCH, REPLICATION_FACTOR_DEFAULT, TOPIC_CREATE_LEADERS_WAIT_MS,
  TOPIC_RETENTION_BYTES_DEFAULT, TOPIC_RETENTION_MS_DEFAULT, TOPICS_MAX,
} from './constants.js';
import type { CreateTopicCommand, DeleteTopicCommand } from './metadata-commands.js';
import type { MetadataController } from './metadata-controller.js';
import type { MetadataState, TopicRecord, TopicSettings } from './metadata-state.js';
import { toTopicInfo, toTopicInfos } from './metadata-snapshot.js';
import type { IsrLookup } from './metadata-snapshot.js';

/** The fields of a CreateTopic request (as proto-loader decodes them: zero = unset). */
export interface CreateTopicInput {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config?: {
    readonly retentionMs?: number;
    readonly retentionBytes?: number;
    readonly maxMessageBytes?: number;
    readonly cleanupPolicy?: string | number;
    readonly uncleanLeaderElection?: boolean;
  } | null | undefined;
  /** Brokers creating an internal topic (`__offsets`): allows a "__" name. */
  readonly internal?: boolean;
}

function isWhole(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Effective settings from a request's config (zero = default); INVALID_CONFIG when out of range. */
export function resolveTopicSettings(config: CreateTopicInput['config']): TopicSettings {
  const retentionMs = config?.retentionMs ?? 0;
  const retentionBytes = config?.retentionBytes ?? 0;
  const maxMessageBytes = config?.maxMessageBytes ?? 0;
  const cleanupPolicy = config?.cleanupPolicy ?? 'CLEANUP_POLICY_UNSPECIFIED';
  const uncleanLeaderElection: unknown = config?.uncleanLeaderElection ?? false;
  if (!isWhole(retentionMs) || retentionMs < -1) {
    throw new RunnelError('INVALID_CONFIG', `retention_ms ${String(retentionMs)} is invalid: use -1 (keep forever), 0 (default, 7 days) or a positive number of milliseconds`);
  }
  if (!isWhole(retentionBytes) || retentionBytes < -1) {
    throw new RunnelError('INVALID_CONFIG', `retention_bytes ${String(retentionBytes)} is invalid: use -1 or 0 (no limit) or a positive number of bytes`);
  }
  if (!isWhole(maxMessageBytes) || maxMessageBytes < 0 || maxMessageBytes > TOPIC_MESSAGE_BYTES_MAX) {
    throw new RunnelError('INVALID_CONFIG', `max_message_bytes ${String(maxMessageBytes)} is invalid: use 0 (default, ${TOPIC_MESSAGE_BYTES_DEFAULT}) or 1 to ${TOPIC_MESSAGE_BYTES_MAX}`);
  }
  if (cleanupPolicy !== 'CLEANUP_POLICY_UNSPECIFIED' && cleanupPolicy !== 'CLEANUP_POLICY_DELETE' && cleanupPolicy !== 0 && cleanupPolicy !== 1) {
    throw new RunnelError('INVALID_CONFIG', `cleanup_policy ${String(cleanupPolicy)} is not supported: use CLEANUP_POLICY_DELETE`);
  }
  if (typeof uncleanLeaderElection !== 'boolean') {
    throw new RunnelError('INVALID_CONFIG', `unclean_leader_election ${String(uncleanLeaderElection)} is invalid: use true or false`);
  }
  return {
    retentionMs: retentionMs === 0 ? TOPIC_RETENTION_MS_DEFAULT : retentionMs,
    retentionBytes: retentionBytes === 0 ? TOPIC_RETENTION_BYTES_DEFAULT : retentionBytes,
    maxMessageBytes: maxMessageBytes === 0 ? TOPIC_MESSAGE_BYTES_DEFAULT : maxMessageBytes,
    cleanupPolicy: 'delete',
    uncleanLeaderElection,
  };
}

/**
 * The replication factor a request asks for: 1 to REPLICATION_FACTOR_MAX, or 0 for
 * min(REPLICATION_FACTOR_DEFAULT, live brokers) (at least 1); INVALID_REPLICATION_FACTOR otherwise.
 * Whether enough brokers are live is checked by the caller (NOT_ENOUGH_BROKERS).
 */
export function resolveReplicationFactor(requested: number, liveBrokers: number): number {
  if (!isWhole(requested) || requested < 0 || requested > REPLICATION_FACTOR_MAX) {
    throw new RunnelError('INVALID_REPLICATION_FACTOR', `replication factor ${String(requested)} is invalid: use 1 to ${REPLICATION_FACTOR_MAX}, or 0 for the default`);
  }
  return requested === 0 ? Math.max(1, Math.min(REPLICATION_FACTOR_DEFAULT, liveBrokers)) : requested;
}

/**
 * Validates a CreateTopic against the state and builds the command (pure but for `newTopicId`).
 * Checks, in order: name, already exists, partitions, replication factor, config, cluster limits
 * (topics, partitions in all), live brokers (at least the replication factor), replicas per broker
 * (BROKER_REPLICAS_MAX, over the live brokers the assignment uses). Replicas and leaders are
 * spread over the live brokers (assignment.ts); each partition starts without a leader (epoch 0)
 * and gets its first one through a normal election — a broker only leads an epoch it promised.
 */
export function planCreateTopic(state: MetadataState, input: CreateTopicInput, newTopicId: () => string = randomUUID): CreateTopicCommand {
  const problem = topicNameProblem(input.name, input.internal === true);
  if (problem !== undefined) throw new RunnelError('INVALID_TOPIC_NAME', problem);
  if (state.topics.has(input.name)) throw new RunnelError('TOPIC_ALREADY_EXISTS', `topic ${JSON.stringify(input.name)} already exists`);
  if (!isWhole(input.partitions) || input.partitions < 1 || input.partitions > PARTITIONS_MAX) {
    throw new RunnelError('INVALID_PARTITIONS', `partition count ${String(input.partitions)} is invalid: use 1 to ${PARTITIONS_MAX}`);
  }
  const live = [...state.brokers.values()].filter((b) => b.alive);
  const replicationFactor = resolveReplicationFactor(input.replicationFactor, live.length);
  const settings = resolveTopicSettings(input.config);
  if (state.topics.size >= TOPICS_MAX) throw new RunnelError('INVALID_REQUEST', `the cluster already holds the maximum of ${TOPICS_MAX} topics`);
  let total = 0;
  for (const t of state.topics.values()) total += t.partitions.length;
  if (total + input.partitions > CLUSTER_PARTITIONS_MAX) {
    throw new RunnelError('INVALID_PARTITIONS', `partition count ${input.partitions} is too many for the cluster: it holds ${total} partitions and may hold at most ${CLUSTER_PARTITIONS_MAX} in all; use at most ${CLUSTER_PARTITIONS_MAX - total}`);
  }
  if (live.length < replicationFactor) {
    throw new RunnelError('NOT_ENOUGH_BROKERS', `replication factor ${replicationFactor} needs ${replicationFactor} live broker(s); ${live.length} alive`);
  }
  const load = brokerLoad(state);
  // Replicas spread evenly: even the emptiest brokers cannot take this many (checked before the assignment is computed).
  let room = 0;
  for (const b of live) room += Math.max(0, BROKER_REPLICAS_MAX - (load.replicaCounts.get(b.id) ?? 0));
  if (input.partitions * replicationFactor > room) {
    throw new RunnelError('INVALID_PARTITIONS', `partition count ${input.partitions} at replication factor ${replicationFactor} is too many: the ${live.length} live broker(s) have room for ${room} more replicas (at most ${BROKER_REPLICAS_MAX} per broker); add brokers, or lower the partitions or the replication factor`);
  }
  const replicaLists = assignReplicas({
    partitions: input.partitions,
    replicationFactor,
    brokers: live.map((b) => ({ id: b.id, rack: b.rack })),
    load,
  });
  const placed = new Map(load.replicaCounts);
  for (const list of replicaLists) for (const id of list) placed.set(id, (placed.get(id) ?? 0) + 1);
  for (const [id, count] of placed) {
    if (count > BROKER_REPLICAS_MAX && count > (load.replicaCounts.get(id) ?? 0)) {
      throw new RunnelError('INVALID_PARTITIONS', `partition count ${input.partitions} at replication factor ${replicationFactor} is too many: broker ${id} would host ${count} replicas, more than ${BROKER_REPLICAS_MAX}; add brokers, or lower the partitions or the replication factor`);
    }
  }
  const topic: TopicRecord = {
    name: input.name,
    topicId: newTopicId(),
    replicationFactor,
    settings,
    partitions: replicaLists.map((replicas, partition) => ({
      partition,
      replicas,
      // No leader yet: the election driver elects one at epoch FIRST_LEADER_EPOCH (PrepareEpoch
      // round, like any election) right after the topic is persisted.
      leader: -1,
      leaderEpoch: FIRST_LEADER_EPOCH - 1,
      highestEpoch: FIRST_LEADER_EPOCH - 1,
      status: 'offline' as const,
    })),
  };
  return { type: 'CreateTopic', topic };
}

function existing(state: MetadataState, name: string): TopicRecord {
  const t = state.topics.get(name);
  if (t === undefined) throw new RunnelError('UNKNOWN_TOPIC', `topic ${JSON.stringify(name.slice(0, 220))} does not exist`);
  return t;
}

/** Create / delete / describe / list topics over the metadata controller. Bad input changes nothing. */
export class TopicAdmin {
  private readonly newTopicId: () => string;
  private readonly isr: IsrLookup | undefined;
  private readonly nextChange: ((timeoutMs: number) => Promise<void>) | undefined;

  constructor(
    private readonly controller: MetadataController,
    options: {
      readonly newTopicId?: () => string;
      /** In-sync replicas for descriptions (default: none reported). */
      readonly isr?: IsrLookup;
      /** Resolves at the next metadata change or after the given ms (omitted: create does not wait for leaders). */
      readonly nextChange?: (timeoutMs: number) => Promise<void>;
    } = {},
  ) {
    this.newTopicId = options.newTopicId ?? randomUUID;
    this.isr = options.isr;
    this.nextChange = options.nextChange;
  }

  /**
   * Resolves once the topic is persisted and every partition has its first leader (or after
   * TOPIC_CREATE_LEADERS_WAIT_MS, answering with what is there: clients retry an offline partition);
   * the answer is its effective description.
   */
  async create(input: CreateTopicInput): Promise<TopicInfo> {
    const created = await this.controller.transact((tx) => {
      const command = planCreateTopic(tx.state, input, this.newTopicId);
      tx.apply(command);
      return command.topic;
    });
    let topic = created;
    if (this.nextChange !== undefined) {
      const deadline = performance.now() + TOPIC_CREATE_LEADERS_WAIT_MS;
      for (;;) {
        const now = this.controller.state.topics.get(created.name);
        if (now === undefined || now.topicId !== created.topicId) break; // deleted meanwhile
        topic = now;
        const left = deadline - performance.now();
        if (now.partitions.every((p) => p.leader >= 0) || left <= 0) break;
        await this.nextChange(left);
      }
    }
    return toTopicInfo(topic, this.isr);
  }

  async delete(name: string): Promise<void> {
    await this.controller.transact((tx) => {
      const t = existing(tx.state, name);
      if (t.name.startsWith('__')) throw new RunnelError('INVALID_TOPIC_NAME', `topic ${JSON.stringify(t.name)} is internal and cannot be deleted`);
      const command: DeleteTopicCommand = { type: 'DeleteTopic', name: t.name, topicId: t.topicId };
      tx.apply(command);
    });
  }

  describe(name: string): TopicInfo {
    return toTopicInfo(existing(this.controller.state, name), this.isr);
  }

  list(): TopicInfo[] {
    return toTopicInfos(this.controller.state, this.isr);
  }
}
