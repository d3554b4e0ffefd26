import { RunnelError, fromServiceError, type FetchResponse__Output, type GroupDescription__Output } from '@runnel/protocol';
import type { PartitionOffsetsInfo } from './admin.js';
import type { ConnectionPool } from './connection-pool.js';
import { LAG_FETCH_BYTES, LAG_FETCHES_IN_FLIGHT_MAX } from './constants.js';
import { GroupCoordinatorClient, listGroupsOn } from './group-coordinator-client.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ResolvedClientOptions } from './options.js';
import { unreadRecords } from './unread-records.js';

export interface GroupSummary {
  group: string;
  /** 'Stable', 'Rebalancing' or 'Empty'. */
  state: string;
  generation: number;
  members: number;
  coordinatorId: number;
}

export interface GroupPartitionInfo {
  topic: string;
  partition: number;
  /** Member owning the partition now, '' when none. */
  memberId: string;
  /** -1 when the group never committed an offset for it. */
  committedOffset: number;
  /** -1 when the leader could not be asked. */
  highWatermark: number;
  /**
   * Records a consumer of the group still has to receive: the data records from committedOffset to
   * highWatermark (a new leader's epoch-start markers are never delivered, so they are not lag; 0
   * when caught up). Counted exactly over the first LAG_FETCH_BYTES read, estimated beyond
   * (highWatermark - committedOffset where it cannot read). Undefined when either offset is unknown.
   */
  lag: number | undefined;
}

export interface GroupInfo extends GroupSummary {
  memberList: Array<{
    memberId: string; clientId: string; topics: string[];
    assigned: Array<{ topic: string; partition: number }>; revoking: Array<{ topic: string; partition: number }>;
  }>;
  partitions: GroupPartitionInfo[];
}

export type ResetTo = 'earliest' | 'latest' | { offset: number } | { timestampMs: number };

/** Group admin: list, describe (with lag), reset offsets. */
export class GroupAdmin {
  constructor(
    private readonly pool: ConnectionPool,
    private readonly metadata: MetadataCache,
    private readonly options: ResolvedClientOptions,
    private readonly signal: AbortSignal,
    private readonly partitionOffsets: (topic: string) => Promise<PartitionOffsetsInfo[]>,
    private readonly offsetForTimestamp: (topic: string, partition: number, timestampMs: number) => Promise<number>,
  ) {}

  private coordinator(group: string): GroupCoordinatorClient {
    return new GroupCoordinatorClient(group, this.pool, this.metadata, this.options.retry, this.options.requestTimeoutMs, this.signal);
  }

  /** Every group, asking every live broker for the groups it coordinates. */
  async listGroups(): Promise<GroupSummary[]> {
    const md = await this.metadata.refresh();
    const answers = await Promise.all(md.brokers.filter((b) => b.alive).map(async (b) => {
      try {
        return (await listGroupsOn(this.pool, b.address, this.options.requestTimeoutMs)).groups;
      } catch (err) {
        throw new RunnelError('UNREACHABLE', `broker ${b.id} at ${b.address} did not list its groups: ${fromServiceError(err).message}`, { retriable: true });
      }
    }));
    const byName = new Map<string, GroupSummary>();
    for (const g of answers.flat()) byName.set(g.group, summary(g));
    return [...byName.values()].sort((a, b) => (a.group < b.group ? -1 : 1));
  }

  async describeGroup(group: string): Promise<GroupInfo> {
    const d = await this.coordinator(group).describe();
    const owner = new Map<string, string>();
    for (const m of d.members) for (const tp of m.assigned) owner.set(`${tp.topic}/${tp.partition}`, m.memberId);
    const committed = new Map(d.offsets.map((o) => [`${o.topic}/${o.partition}`, o.offset]));
    const keys = new Set([...owner.keys(), ...committed.keys()]);
    const topics = [...new Set([...keys].map((k) => k.slice(0, k.lastIndexOf('/'))))];
    const hw = new Map<string, number>();
    await Promise.all(topics.map(async (t) => {
      try {
        for (const p of await this.partitionOffsets(t)) hw.set(`${t}/${p.partition}`, p.highWatermark);
      } catch {
        // deleted topic or unreachable leader: lag unknown
      }
    }));
    const partitions = [...keys].map((k) => {
      const slash = k.lastIndexOf('/');
      const c = committed.get(k) ?? -1;
      const h = hw.get(k) ?? -1;
      return {
        topic: k.slice(0, slash), partition: Number(k.slice(slash + 1)), memberId: owner.get(k) ?? '',
        committedOffset: c, highWatermark: h, lag: c >= 0 && h >= 0 ? Math.max(0, h - c) : undefined,
      };
    }).sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    // Refine each positive lag by reading what lies between (bounded: a few partitions at a time).
    const behind = partitions.filter((p) => p.lag !== undefined && p.lag > 0);
    const workers = Array.from({ length: Math.min(LAG_FETCHES_IN_FLIGHT_MAX, behind.length) }, async () => {
      for (let p = behind.pop(); p !== undefined; p = behind.pop()) p.lag = await this.unread(p.topic, p.partition, p.committedOffset, p.highWatermark);
    });
    await Promise.all(workers);
    return {
      ...summary(d),
      memberList: d.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, topics: m.topics, assigned: m.assigned, revoking: m.revoking })),
      partitions,
    };
  }

  /** Data records in [committed, highWatermark) (see GroupPartitionInfo.lag); the offset distance when the leader cannot be read. */
  private async unread(topic: string, partition: number, committed: number, highWatermark: number): Promise<number> {
    const leader = this.metadata.leaderFor(topic, partition);
    if (leader instanceof RunnelError) return highWatermark - committed;
    try {
      const b = this.pool.broker(leader.address);
      const request = { topic, partition, offset: committed, maxBytes: LAG_FETCH_BYTES, maxWaitMs: 0 };
      const res = await this.pool.unary<FetchResponse__Output>((m, o, cb) => b.Fetch(request, m, o, cb), this.options.requestTimeoutMs);
      return unreadRecords(res.batches, committed, highWatermark);
    } catch {
      // Retention passed the commit, or the leader moved: the distance is the best answer left.
      return highWatermark - committed;
    }
  }

  /**
   * Sets a group's committed offsets, for every partition of `topics` (default: the topics it has
   * committed offsets for). Only for a group without live members (GROUP_NOT_EMPTY otherwise);
   * UNKNOWN_GROUP for a group that does not exist. Returns the offsets set.
   */
  async resetOffsets(group: string, to: ResetTo, topics?: string[]): Promise<Array<{ topic: string; partition: number; offset: number }>> {
    const d = await this.coordinator(group).describe();
    if (d.members.length > 0) {
      throw new RunnelError('GROUP_NOT_EMPTY', `group ${JSON.stringify(group)} has ${d.members.length} live member(s); stop them before resetting its offsets`);
    }
    const wanted = topics ?? [...new Set(d.offsets.map((o) => o.topic))];
    if (wanted.length === 0) throw new RunnelError('INVALID_REQUEST', `group ${JSON.stringify(group)} has no committed offsets; name the topics to set`);
    const out: Array<{ topic: string; partition: number; offset: number }> = [];
    for (const topic of wanted.sort()) {
      for (const p of await this.partitionOffsets(topic)) {
        if (p.highWatermark < 0) throw new RunnelError('PARTITION_OFFLINE', `${topic}/${p.partition} has no reachable leader; nothing was reset`, { retriable: true });
        let offset: number;
        if (to === 'earliest') offset = p.logStartOffset;
        else if (to === 'latest') offset = p.highWatermark;
        else if ('offset' in to) offset = Math.min(Math.max(to.offset, p.logStartOffset), p.highWatermark);
        else offset = await this.offsetForTimestamp(topic, p.partition, to.timestampMs);
        out.push({ topic, partition: p.partition, offset });
      }
    }
    await this.coordinator(group).commit('', out.map((o) => ({ ...o, metadata: 'reset-offsets' })));
    return out;
  }
}

function summary(g: GroupDescription__Output): GroupSummary {
  return { group: g.group, state: g.state, generation: g.generation, members: g.members.length, coordinatorId: g.coordinatorId };
}
