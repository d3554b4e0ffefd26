import type { CommandContext } from '../context.js';
import { openClient } from '../client-factory.js';
import { cleanupPolicyName, formatTopicDescribe, formatTopicList, jsonDocument, partitionStateName } from '../format.js';
import type { PartitionView, TopicConfigView, TopicSummaryView, TopicView } from '../format.js';
import { EXIT_OK } from '../constants.js';

/** The fields of a TopicInfo this command reads (as the client returns it). */
interface TopicInfoLike {
  readonly name: string;
  readonly topicId?: string;
  readonly replicationFactor: number;
  readonly config?: { retentionMs?: number; retentionBytes?: number; maxMessageBytes?: number; cleanupPolicy?: unknown; uncleanLeaderElection?: boolean } | null;
  readonly partitions: readonly { partition: number; leader: number; replicas: readonly number[]; inSyncReplicas?: readonly number[]; leaderEpoch: number; state?: unknown }[];
}

interface PartitionOffsetsLike {
  readonly partition: number;
  readonly leader: number;
  readonly replicas: readonly number[];
  readonly leaderEpoch: number;
  readonly state?: unknown;
  readonly logStartOffset: number;
  readonly highWatermark: number;
  readonly logEndOffset: number;
}

export function configView(config: TopicInfoLike['config']): TopicConfigView {
  return {
    retentionMs: Number(config?.retentionMs ?? 0),
    retentionBytes: Number(config?.retentionBytes ?? 0),
    maxMessageBytes: Number(config?.maxMessageBytes ?? 0),
    cleanupPolicy: cleanupPolicyName(config?.cleanupPolicy ?? 'delete'),
    uncleanLeaderElection: config?.uncleanLeaderElection === true,
  };
}

/** Merges a topic's assignment with its offsets (when they could be read) into the describe document. */
export function topicView(info: TopicInfoLike, offsets: readonly PartitionOffsetsLike[] | undefined): TopicView {
  const byPartition = new Map((offsets ?? []).map((o) => [o.partition, o]));
  const partitions: PartitionView[] = info.partitions.map((p) => {
    const o = byPartition.get(p.partition);
    return {
      partition: p.partition,
      leader: o?.leader ?? p.leader,
      replicas: [...(o?.replicas ?? p.replicas)],
      inSyncReplicas: [...(p.inSyncReplicas ?? [])],
      epoch: o?.leaderEpoch ?? p.leaderEpoch,
      state: partitionStateName(o?.state ?? p.state),
      logStartOffset: o === undefined ? null : Number(o.logStartOffset),
      highWatermark: o === undefined ? null : Number(o.highWatermark),
      logEndOffset: o === undefined ? null : Number(o.logEndOffset),
    };
  });
  return {
    name: info.name,
    topicId: info.topicId ?? '',
    replicationFactor: info.replicationFactor,
    config: configView(info.config),
    partitions,
  };
}

export function topicSummaryView(info: TopicInfoLike): TopicSummaryView {
  return {
    name: info.name,
    topicId: info.topicId ?? '',
    partitions: info.partitions.length,
    replicationFactor: info.replicationFactor,
    config: configView(info.config),
  };
}

export interface TopicCreateOptions {
  readonly bootstrap: string;
  readonly partitions: number;
  readonly replication?: number;
  readonly retentionMs?: number;
  readonly retentionBytes?: number;
  readonly maxMessageBytes?: number;
  readonly uncleanLeaderElection?: boolean;
  readonly json?: boolean;
}

export async function topicCreate(name: string, opts: TopicCreateOptions, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    const config: { retentionMs?: number; retentionBytes?: number; maxMessageBytes?: number; uncleanLeaderElection?: boolean } = {};
    if (opts.uncleanLeaderElection === true) config.uncleanLeaderElection = true;
    if (opts.retentionMs !== undefined) config.retentionMs = opts.retentionMs;
    if (opts.retentionBytes !== undefined) config.retentionBytes = opts.retentionBytes;
    if (opts.maxMessageBytes !== undefined) config.maxMessageBytes = opts.maxMessageBytes;
    const info = await client.admin.createTopic({
      name,
      partitions: opts.partitions,
      ...(opts.replication === undefined ? {} : { replicationFactor: opts.replication }),
      ...(Object.keys(config).length === 0 ? {} : { config }),
    });
    const view = topicView(info, undefined);
    if (opts.json === true) ctx.output.stdout(jsonDocument(view));
    else ctx.output.stdout(`created topic ${view.name}: ${view.partitions.length} partitions, replication ${view.replicationFactor}\n`);
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export async function topicList(opts: { readonly bootstrap: string; readonly json?: boolean }, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    const topics = (await client.admin.listTopics()).map(topicSummaryView);
    ctx.output.stdout(opts.json === true ? jsonDocument(topics) : formatTopicList(topics));
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export async function topicDescribe(name: string, opts: { readonly bootstrap: string; readonly json?: boolean }, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    const info = await client.admin.describeTopic(name);
    let offsets: readonly PartitionOffsetsLike[] | undefined;
    try {
      offsets = await client.admin.partitionOffsets(name);
    } catch (err) {
      // Offsets come from the leaders; a partition without one still has an assignment to show.
      ctx.logger.warn({ err }, 'could not read partition offsets');
    }
    const view = topicView(info, offsets);
    ctx.output.stdout(opts.json === true ? jsonDocument(view) : formatTopicDescribe(view));
    return EXIT_OK;
  } finally {
    await client.close();
  }
}

export async function topicDelete(name: string, opts: { readonly bootstrap: string }, ctx: CommandContext): Promise<number> {
  const client = openClient(opts.bootstrap, ctx);
  try {
    await client.admin.deleteTopic(name);
    ctx.output.stdout(`deleted topic ${name}\n`);
    return EXIT_OK;
  } finally {
    await client.close();
  }
}
