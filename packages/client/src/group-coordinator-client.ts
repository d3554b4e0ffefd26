import {
  RunnelError,
  type CommitOffsetsResponse__Output, type CommittedOffset__Output, type FetchOffsetsResponse__Output, type FindGroupCoordinatorResponse__Output,
  type GroupDescription__Output, type ListGroupsResponse__Output, type OffsetCommit,
} from '@runnel/protocol';
import type { BrokerClient } from '@runnel/protocol';
import type { ConnectionPool } from './connection-pool.js';
import type { MetadataCache } from './metadata-cache.js';
import type { ResolvedRetryOptions } from './options.js';
import { withRetry } from './retry.js';

/** Where a group's coordinator is. */
export interface GroupCoordinatorEndpoint {
  readonly brokerId: number;
  readonly address: string;
}

/**
 * Calls to a group's coordinating broker: finds it (FindGroupCoordinator on any live broker),
 * caches it, and finds it again after NOT_COORDINATOR or a lost connection. Retries follow the
 * client's retry policy.
 */
export class GroupCoordinatorClient {
  private cached: GroupCoordinatorEndpoint | undefined;

  constructor(
    readonly group: string,
    private readonly pool: ConnectionPool,
    private readonly metadata: MetadataCache,
    private readonly retry: ResolvedRetryOptions,
    private readonly requestTimeoutMs: number,
    private readonly signal: AbortSignal,
  ) {}

  /** Forgets the cached coordinator (or replaces it with the one a NOT_COORDINATOR named). */
  invalidate(err?: RunnelError): void {
    this.cached = err?.leaderAddress !== undefined && err.leaderId !== undefined ? { brokerId: err.leaderId, address: err.leaderAddress } : undefined;
  }

  /** The coordinator, asking the brokers (in metadata order, starting at a random one) until one answers. */
  async find(): Promise<GroupCoordinatorEndpoint> {
    if (this.cached !== undefined) return this.cached;
    const md = await this.metadata.get();
    const brokers = md.brokers.filter((b) => b.alive && b.address !== '');
    if (brokers.length === 0) throw new RunnelError('UNREACHABLE', 'no live broker is known; cannot find the group coordinator', { retriable: true });
    const start = Math.floor(Math.random() * brokers.length);
    let last: RunnelError | undefined;
    for (let i = 0; i < brokers.length; i++) {
      const b = brokers[(start + i) % brokers.length]!;
      try {
        const client = this.pool.broker(b.address);
        const res = await this.pool.unary<FindGroupCoordinatorResponse__Output>((m, o, cb) => client.FindGroupCoordinator({ group: this.group }, m, o, cb), this.requestTimeoutMs);
        this.cached = { brokerId: res.brokerId, address: res.address };
        return this.cached;
      } catch (err) {
        last = err instanceof RunnelError ? err : new RunnelError('INTERNAL', String(err));
        if (!last.retriable) throw last;
      }
    }
    throw last ?? new RunnelError('UNREACHABLE', 'no broker answered FindGroupCoordinator', { retriable: true });
  }

  /** A unary call on the coordinator, re-finding it on retriable failures. */
  call<T>(invoke: (client: BrokerClient, timeoutMs: number) => Promise<T>): Promise<T> {
    return withRetry(
      {
        options: this.retry, signal: this.signal, what: 'group',
        beforeRetry: async (err) => {
          this.invalidate(err.code === 'NOT_COORDINATOR' ? err : undefined);
          if (err.code !== 'NOT_COORDINATOR') await this.metadata.refresh().catch(() => undefined);
        },
      },
      async () => {
        const at = await this.find();
        return invoke(this.pool.broker(at.address), this.requestTimeoutMs);
      },
    );
  }

  commit(memberId: string, offsets: OffsetCommit[]): Promise<void> {
    return this.call(async (client, timeoutMs) => {
      await this.pool.unary<CommitOffsetsResponse__Output>((m, o, cb) => client.CommitOffsets({ group: this.group, memberId, offsets }, m, o, cb), timeoutMs);
    });
  }

  fetchOffsets(partitions: Array<{ topic: string; partition: number }>): Promise<CommittedOffset__Output[]> {
    return this.call(async (client, timeoutMs) => {
      const res = await this.pool.unary<FetchOffsetsResponse__Output>((m, o, cb) => client.FetchOffsets({ group: this.group, partitions }, m, o, cb), timeoutMs);
      return res.offsets;
    });
  }

  describe(): Promise<GroupDescription__Output> {
    return this.call((client, timeoutMs) => this.pool.unary<GroupDescription__Output>((m, o, cb) => client.DescribeGroup({ group: this.group }, m, o, cb), timeoutMs));
  }
}

/** ListGroups on one broker. */
export function listGroupsOn(pool: ConnectionPool, address: string, timeoutMs: number): Promise<ListGroupsResponse__Output> {
  const client = pool.broker(address);
  return pool.unary<ListGroupsResponse__Output>((m, o, cb) => client.ListGroups({}, m, o, cb), timeoutMs);
}
