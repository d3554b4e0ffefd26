import type { Logger } from 'pino';
import {
  RunnelError, fromServiceError, type ClusterMetadata__Output, type PartitionInfo__Output, type TopicInfo__Output,
} from '@runnel/protocol';
import { leaderMoved } from './client-errors.js';
import type { ConnectionPool } from './connection-pool.js';
import { METADATA_FALLBACK_BROKERS_MAX, RECONNECT_BACKOFF_MS_INITIAL, RECONNECT_BACKOFF_MS_MAX } from './constants.js';
import type { ResolvedClientOptions } from './options.js';
import { backoffMs, sleep, withRetry } from './retry.js';

export interface LeaderEndpoint {
  readonly id: number;
  readonly address: string;
}

interface LeaderHint {
  readonly id: number;
  readonly address: string | undefined;
  /** Metadata version cached when the hint arrived; a newer snapshot supersedes the hint. */
  readonly version: number;
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/**
 * The client's view of cluster metadata. The first get() fetches a snapshot (DescribeCluster on
 * the coordinator); from then on a WatchMetadata stream keeps it fresh and reconnects with capped
 * backoff while the client is open. A newer snapshot (by version) always replaces an older one.
 *
 * NOT_LEADER answers carry the new leader; such a hint is used for its partition at once and is
 * dropped when a snapshot newer than the one cached at the time of the hint arrives.
 *
 * When the coordinator cannot be reached, refresh() asks a few live brokers (GetMetadata) instead:
 * the coordinator is not on the data path.
 */
export class MetadataCache {
  private snapshot: ClusterMetadata__Output | undefined;
  private readonly hints = new Map<string, LeaderHint>();
  private initial: Promise<ClusterMetadata__Output> | undefined;
  private refreshing: Promise<ClusterMetadata__Output> | undefined;
  private watchTask: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly options: ResolvedClientOptions,
    private readonly signal: AbortSignal,
  ) {
    this.log = options.logger.child({ component: 'metadata-cache' });
  }

  /** The cached snapshot, if any. */
  current(): ClusterMetadata__Output | undefined {
    return this.snapshot;
  }

  /** The cached snapshot; the first call fetches it (with retries) and starts the watch. */
  async get(): Promise<ClusterMetadata__Output> {
    if (this.snapshot !== undefined) return this.snapshot;
    this.initial ??= withRetry({ options: this.options.retry, signal: this.signal }, () => this.refreshOnce())
      .then((md) => {
        this.startWatch();
        return md;
      })
      .finally(() => {
        this.initial = undefined;
      });
    return this.initial;
  }

  /** Forces a refresh now (one attempt; concurrent callers share it). */
  refresh(): Promise<ClusterMetadata__Output> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** refresh() with the client's retry policy. */
  refreshWithRetry(): Promise<ClusterMetadata__Output> {
    return withRetry({ options: this.options.retry, signal: this.signal }, () => this.refresh()).then((md) => {
      this.startWatch();
      return md;
    });
  }

  private async refreshOnce(): Promise<ClusterMetadata__Output> {
    const timeoutMs = this.options.requestTimeoutMs;
    try {
      const coordinator = this.pool.coordinator(this.options.bootstrap);
      const md = await this.pool.unary<ClusterMetadata__Output>((m, o, cb) => coordinator.DescribeCluster({}, m, o, cb), timeoutMs);
      return this.accept(md);
    } catch (thrown) {
      const err = fromServiceError(thrown);
      if (!err.retriable || this.signal.aborted) throw err;
      const brokers = (this.snapshot?.brokers ?? []).filter((b) => b.alive && b.address).slice(0, METADATA_FALLBACK_BROKERS_MAX);
      for (const b of brokers) {
        try {
          const client = this.pool.broker(b.address);
          const md = await this.pool.unary<ClusterMetadata__Output>((m, o, cb) => client.GetMetadata({ topics: [] }, m, o, cb), timeoutMs);
          this.log.debug({ brokerId: b.id, err: err.message }, 'coordinator unreachable; metadata from a broker');
          return this.accept(md);
        } catch {
          // try the next broker
        }
      }
      throw new RunnelError('COORDINATOR_UNAVAILABLE', `cannot fetch metadata from ${this.options.bootstrap}: ${err.message}`, { cause: err });
    }
  }

  /** Keeps `md` if it is at least as new as the cached snapshot; returns the cached one. */
  accept(md: ClusterMetadata__Output): ClusterMetadata__Output {
    const cur = this.snapshot;
    if (cur === undefined || md.version >= cur.version || md.clusterId !== cur.clusterId) {
      if (cur === undefined || md.version !== cur.version) this.log.debug({ version: md.version }, 'metadata updated');
      this.snapshot = md;
      this.pool.clusterId = md.clusterId;
      for (const [key, hint] of this.hints) {
        if (hint.version < md.version || md.clusterId !== cur?.clusterId) this.hints.delete(key);
      }
    }
    return this.snapshot ?? md;
  }

  private startWatch(): void {
    if (this.watchTask !== undefined || this.signal.aborted) return;
    this.watchTask = this.watchLoop().catch((err: unknown) => {
      this.log.debug({ err }, 'metadata watch stopped');
    });
  }

  private async watchLoop(): Promise<void> {
    for (let failures = 0; !this.signal.aborted; ) {
      const received = await this.watchOnce();
      if (this.signal.aborted) return;
      failures = received ? 0 : failures + 1;
      await sleep(backoffMs(failures, { initialBackoffMs: RECONNECT_BACKOFF_MS_INITIAL, backoffMsMax: RECONNECT_BACKOFF_MS_MAX }), this.signal);
    }
  }

  /** One WatchMetadata stream, until it fails or ends. Resolves whether anything arrived. */
  private watchOnce(): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      let received = false;
      let untrack = (): void => undefined;
      try {
        const call = this.pool.coordinator(this.options.bootstrap).WatchMetadata({});
        untrack = this.pool.track(call);
        call.on('data', (md: ClusterMetadata__Output) => {
          received = true;
          this.accept(md);
        });
        const finish = (err?: unknown): void => {
          untrack();
          if (err !== undefined && !this.signal.aborted) this.log.debug({ err: fromServiceError(err).message }, 'metadata watch broke; reconnecting');
          resolve(received);
        };
        call.on('error', (err: unknown) => finish(err));
        call.on('end', () => finish());
      } catch (err) {
        untrack();
        this.log.debug({ err }, 'cannot open metadata watch');
        resolve(false);
      }
    });
  }

  topic(name: string): TopicInfo__Output | undefined {
    return this.snapshot?.topics.find((t) => t.name === name);
  }

  brokerAddress(id: number): string | undefined {
    return this.snapshot?.brokers.find((b) => b.id === id)?.address || undefined;
  }

  /** Records the leader named by a NOT_LEADER or LEADERSHIP_LOST error for its partition. */
  noteError(topic: string, partition: number, err: RunnelError): void {
    if (!leaderMoved(err)) return;
    const key = partitionKey(topic, partition);
    if (err.leaderId === undefined || err.leaderId < 0) {
      this.hints.delete(key);
      return;
    }
    this.hints.set(key, { id: err.leaderId, address: err.leaderAddress || undefined, version: this.snapshot?.version ?? -1 });
  }

  partitionInfo(topic: string, partition: number): PartitionInfo__Output | undefined {
    return this.topic(topic)?.partitions.find((p) => p.partition === partition);
  }

  /**
   * Where to send requests for a partition, or the (retriable unless the topic/partition is
   * unknown) error explaining why there is nowhere.
   */
  leaderFor(topic: string, partition: number): LeaderEndpoint | RunnelError {
    const t = this.topic(topic);
    if (t === undefined) return new RunnelError('UNKNOWN_TOPIC', `unknown topic "${topic}"`);
    const p = t.partitions.find((x) => x.partition === partition);
    if (p === undefined) return new RunnelError('UNKNOWN_PARTITION', `topic "${topic}" has no partition ${partition} (it has ${t.partitions.length})`);
    const hint = this.hints.get(partitionKey(topic, partition));
    if (hint !== undefined) {
      const address = hint.address ?? this.brokerAddress(hint.id);
      if (address !== undefined) return { id: hint.id, address };
    }
    if (p.leader < 0 || p.state === 'PARTITION_STATE_OFFLINE') {
      return new RunnelError('PARTITION_OFFLINE', `${topic}/${partition} has no leader right now`);
    }
    const address = this.brokerAddress(p.leader);
    if (address === undefined) return new RunnelError('UNREACHABLE', `no address known for broker ${p.leader}, leader of ${topic}/${partition}`, { retriable: true });
    return { id: p.leader, address };
  }

  /** Waits for the watch loop to stop (after the client's signal aborted). */
  async closed(): Promise<void> {
    await this.watchTask;
  }
}
