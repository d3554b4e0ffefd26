import type { Logger } from 'pino';
import { NotLeaderError, RunnelError, TOPIC_MESSAGE_BYTES_DEFAULT, quoteUserText, topicNameProblem } from '@runnel/protocol';
import type { ClusterMetadata__Output, PartitionInfo__Output, TopicInfo__Output } from '@runnel/protocol';
import type { LeaderPartitionStatus } from '@runnel/protocol';
import type { Acks, ReplicaInput, ReplicaOutput } from '@runnel/replication';
import type { MetaStore, PartitionKey, PartitionLog } from '@runnel/storage';
import { performance } from 'node:perf_hooks';
import { NOT_LEADER_HINT_WAIT_MS, RECONCILE_SLICE_MS, REPLICA_REBUILD_SETTLE_MS, SHUTDOWN_SETTLE_MS } from './constants.js';
import type { MetadataView } from './metadata-view.js';
import { decodePromise, promiseKey } from './replica-batches.js';
import { ReplicaDriver } from './replica-driver.js';
import type { TopicSettings } from './replica-driver.js';

/** The part of the storage Store the broker uses. */
export interface BrokerStore {
  partition(key: PartitionKey): Promise<PartitionLog> | PartitionLog;
  dropPartition(key: PartitionKey): Promise<void>;
  listPartitions(): Promise<PartitionKey[]>;
  readonly meta: MetaStore;
  close(): Promise<void>;
}

/** A request's target, resolved against the metadata. */
export interface ResolvedPartition {
  readonly topic: TopicInfo__Output;
  readonly info: PartitionInfo__Output;
}

const keyOf = (topicId: string, partition: number): string => `${topicId}\u0000${partition}`;

/** Whether two snapshots say the same about a partition's role (leader, epoch, state, replicas). */
function sameRole(a: PartitionInfo__Output, b: PartitionInfo__Output): boolean {
  return a.leaderEpoch === b.leaderEpoch && a.leader === b.leader && a.state === b.state
    && a.replicas.length === b.replicas.length && a.replicas.every((id, i) => b.replicas[i] === id);
}

const sameSettings = (a: TopicSettings, b: TopicSettings): boolean =>
  a.retentionMs === b.retentionMs && a.retentionBytes === b.retentionBytes && a.maxMessageBytes === b.maxMessageBytes;

/** Yields to the event loop (lets I/O, timers and other requests run between slices of work). */
const yieldTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const DEFAULT_SETTINGS: TopicSettings = { retentionMs: -1, retentionBytes: -1, maxMessageBytes: TOPIC_MESSAGE_BYTES_DEFAULT };

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
  /** Sends a replica's message to another broker. */
  readonly send: (to: number, topicId: string, partition: number, msg: ReplicaOutput) => void;
  /** A replica declined leadership of `epoch`, or (isolated) asks to be moved (tell the coordinator). */
  readonly onDeclined: (topicId: string, partition: number, epoch: number, isolated: boolean) => void;
  /** Optional (metrics): a produce request accepted by a partition led here (see ReplicaDriverOptions.onProduced). */
  readonly onProduced?: (topic: string, acks: Acks, recordCount: number, bytes: number) => void;
}

/**
 * The partition replicas this broker hosts (every partition whose replica set includes it), kept
 * in step with the coordinator's metadata, and the lookups every handler starts with (topic ->
 * partition -> leader, each with its typed error).
 *
 * Snapshots are applied one at a time in version order; while one is being applied (opening logs),
 * newer ones coalesce into the latest (never queued). Each hosted partition gets
 * `RoleChange{ leader_epoch, leader (-1 when OFFLINE), replicas }`; the core decides what it means
 * (lead — only an epoch it promised in this process life —, follow, or stop: a RoleChange whose
 * leader is -1 makes a leader step down and a follower follow nobody until a leader is named).
 * A partition the snapshot describes as the last one applied to the same replica is skipped, and
 * applying yields to the event loop every RECONCILE_SLICE_MS, so a snapshot of thousands of
 * partitions never holds the loop (heartbeats, requests) for long. A partition not yet elected is
 * not opened here: the coordinator's PrepareEpoch opens it (elections are paced there).
 */
export class PartitionRegistry {
  private readonly nodeId: number;
  private readonly store: BrokerStore;
  private readonly metadata: MetadataView;
  private readonly logger: Logger;
  private readonly nowMs: () => number;
  private readonly replicas = new Map<string, ReplicaDriver>();
  private readonly opening = new Map<string, Promise<ReplicaDriver>>();
  /** Every topic id seen in a snapshot during this process's life, with the partitions it had here. */
  private readonly seenTopics = new Map<string, { name: string; partitions: Set<number> }>();
  /** Per hosted partition: the role and settings last applied, and to which replica (a rebuilt one gets them again). */
  private readonly appliedRoles = new Map<string, { replica: ReplicaDriver; info: PartitionInfo__Output; settings: TopicSettings }>();
  private next: ClusterMetadata__Output | undefined;
  private applying: Promise<void> | undefined;
  private closingError: RunnelError | undefined;
  /** Checks run after every applied snapshot (produces waiting to name a new leader); bounded by pending produces. */
  private readonly metadataWaiters = new Set<() => void>();

  constructor(private readonly options: PartitionRegistryOptions) {
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
  all(): ReplicaDriver[] {
    return [...this.replicas.values()].filter((r) => r.isLeading);
  }

  /** Every partition replica hosted here (leading, following or idle). */
  hosted(): ReplicaDriver[] {
    return [...this.replicas.values()];
  }

  /** Heartbeat statuses of the partitions led here, in a stable order. */
  leaderStatuses(): LeaderPartitionStatus[] {
    const out: LeaderPartitionStatus[] = [];
    for (const r of this.replicas.values()) {
      const s = r.status();
      if (s !== undefined) out.push(s);
    }
    return out.sort((a, b) => (a.topicId === b.topicId ? (a.partition ?? 0) - (b.partition ?? 0) : (a.topicId ?? '') < (b.topicId ?? '') ? -1 : 1));
  }

  /** One replica tick for every hosted replica. */
  tick(): void {
    for (const r of this.replicas.values()) r.tick();
  }

  /** A replication message from another broker (dropped if the partition is not hosted here). */
  deliver(topicId: string, partition: number, msg: ReplicaInput): void {
    this.replicas.get(keyOf(topicId, partition))?.deliver(msg);
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
    // A name no topic can have is bad input (INVALID_TOPIC_NAME), not a missing topic; "__" names are readable.
    const problem = topicNameProblem(name, true);
    if (problem !== undefined) throw new RunnelError('INVALID_TOPIC_NAME', problem);
    const topic = this.metadata.topic(name);
    if (topic === undefined) {
      // A brand-new topic: the coordinator elected its leaders (PrepareEpoch opened replicas here)
      // before this broker applied the metadata that names it. Retriable, unlike UNKNOWN_TOPIC.
      if ([...this.seenTopics.values()].some((t) => t.name === name)) {
        throw new RunnelError('NOT_LEADER', `topic ${quoteUserText(name)} was just created and this broker has not applied its metadata yet; retry shortly`);
      }
      throw new RunnelError('UNKNOWN_TOPIC', `topic ${quoteUserText(name)} does not exist (metadata version ${this.metadata.version})`);
    }
    return topic;
  }

  resolvePartition(topic: TopicInfo__Output, partition: number): ResolvedPartition {
    const info = Number.isInteger(partition) ? this.metadata.partition(topic, partition) : undefined;
    if (info === undefined) {
      const count = topic.partitions.length;
      throw new RunnelError('UNKNOWN_PARTITION', `topic ${quoteUserText(topic.name)} has no partition ${partition}; valid partitions are 0 to ${count - 1}`);
    }
    return { topic, info };
  }

  /** The replica of a partition led here, or NOT_LEADER / PARTITION_OFFLINE naming who leads. */
  leaderFor(target: ResolvedPartition): ReplicaDriver {
    this.assertOpen();
    const { topic, info } = target;
    const replica = this.replicas.get(keyOf(topic.topicId, info.partition));
    if (replica !== undefined && replica.isLeading) return replica;
    const who = this.metadata.leaderOf(info);
    if (!who.online) {
      throw new RunnelError('PARTITION_OFFLINE', `${topic.name}/${info.partition} is offline: it has no leader right now; retry after a metadata refresh`);
    }
    if (who.leaderId === this.nodeId) {
      // The snapshot names us but the replica is still opening, declined, or just stepped down.
      throw new RunnelError('NOT_LEADER', `${topic.name}/${info.partition} is becoming led by this broker; retry shortly`);
    }
    throw new NotLeaderError(topic.name, info.partition, who.leaderId, who.leaderAddress);
  }

  /** The leader for `topic`/`partition` in one step (UNKNOWN_TOPIC, UNKNOWN_PARTITION, NOT_LEADER, …). */
  lookup(topicName: string, partition: number): ReplicaDriver {
    const topic = this.resolveTopic(topicName);
    return this.leaderFor(this.resolvePartition(topic, partition));
  }

  /** NOT_LEADER naming the leader the current metadata knows for a partition (retriable). */
  notLeader(topicId: string, topicName: string, partition: number): RunnelError {
    const topic = this.metadata.snapshot.topics.find((t) => t.topicId === topicId);
    const info = topic === undefined ? undefined : this.metadata.partition(topic, partition);
    const who = info === undefined ? undefined : this.metadata.leaderOf(info);
    if (who !== undefined && who.online && who.leaderId !== this.nodeId) return new NotLeaderError(topicName, partition, who.leaderId, who.leaderAddress);
    return new RunnelError('NOT_LEADER', `this broker no longer leads ${topicName}/${partition}; no other leader is known yet, retry after a metadata refresh`);
  }

  /** notLeader, once the metadata names a leader other than this broker, or after NOT_LEADER_HINT_WAIT_MS. */
  notLeaderSoon(topicId: string, topicName: string, partition: number): Promise<RunnelError> {
    const known = (): boolean => this.notLeader(topicId, topicName, partition).leaderId !== undefined;
    return this.awaitMetadata(known, NOT_LEADER_HINT_WAIT_MS).then(() => this.notLeader(topicId, topicName, partition));
  }

  /**
   * Resolves true once `check()` holds (tested now and after every applied snapshot), false after
   * `timeoutMs` or at shutdown.
   */
  awaitMetadata(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (this.closing) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.metadataWaiters.delete(test);
        resolve(ok);
      };
      const test = (): void => {
        if (this.closing) finish(false);
        else if (check()) finish(true);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.metadataWaiters.add(test);
    });
  }

  /**
   * Coordinator PrepareEpoch: opens the replica if needed, promises `epoch` and resolves with the
   * answer once the promise is durable (or the rejection, if a higher epoch was promised).
   */
  async prepareEpoch(req: { topicId: string; topic: string; partition: number; epoch: number }, timeoutMs: number): Promise<Awaited<ReturnType<ReplicaDriver['prepareEpoch']>>> {
    this.assertOpen();
    const known = this.metadata.snapshot.topics.find((t) => t.topicId === req.topicId);
    const name = known?.name ?? (req.topic !== '' ? req.topic : req.topicId);
    const replica = await this.ensureReplica(req.topicId, name, req.partition, known === undefined ? DEFAULT_SETTINGS : topicSettings(known));
    return replica.prepareEpoch(req.epoch, timeoutMs);
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
      for (const check of [...this.metadataWaiters]) check();
    }
  }

  private async reconcile(snapshot: ClusterMetadata__Output): Promise<void> {
    const present = new Set<string>();
    let sliceStart = performance.now();
    for (const topic of snapshot.topics) {
      present.add(topic.topicId);
      const seen = this.seenTopics.get(topic.topicId) ?? { name: topic.name, partitions: new Set<number>() };
      this.seenTopics.set(topic.topicId, seen);
      const settings = topicSettings(topic);
      for (const info of topic.partitions) {
        if (performance.now() - sliceStart >= RECONCILE_SLICE_MS) {
          await yieldTurn();
          if (this.closing) return;
          sliceStart = performance.now();
        }
        const key = keyOf(topic.topicId, info.partition);
        let replica = this.replicas.get(key);
        if (!info.replicas.includes(this.nodeId) && replica === undefined) continue;
        seen.partitions.add(info.partition);
        const applied = this.appliedRoles.get(key);
        if (replica !== undefined && applied?.replica === replica && sameRole(applied.info, info) && sameSettings(applied.settings, settings)) continue;
        if (replica === undefined && info.leaderEpoch <= 0) continue; // not yet elected: PrepareEpoch opens it
        if (replica === undefined) {
          try {
            replica = await this.ensureReplica(topic.topicId, topic.name, info.partition, settings);
          } catch (err) {
            this.logger.error({ err, topic: topic.name, partition: info.partition }, 'opening partition replica failed');
            continue;
          }
        }
        if (this.closing) return;
        replica.updateSettings(settings);
        this.appliedRoles.set(key, { replica, info, settings });
        if (info.leaderEpoch <= 0) continue; // not yet elected
        const who = this.metadata.leaderOf(info);
        replica.roleChange(info.leaderEpoch, who.online ? who.leaderId : -1, info.replicas);
      }
    }
    for (const [topicId, seen] of this.seenTopics) {
      if (present.has(topicId)) continue;
      this.seenTopics.delete(topicId);
      await this.dropTopic(topicId, seen.name, seen.partitions);
    }
  }

  /** The replica of a partition, opened (log recovered, promise read) on first use. */
  private ensureReplica(topicId: string, topicName: string, partition: number, settings: TopicSettings): Promise<ReplicaDriver> {
    const key = keyOf(topicId, partition);
    const existing = this.replicas.get(key);
    if (existing !== undefined) return Promise.resolve(existing);
    let opening = this.opening.get(key);
    if (opening === undefined) {
      opening = this.openReplica(topicId, topicName, partition, settings).finally(() => this.opening.delete(key));
      this.opening.set(key, opening);
    }
    return opening;
  }

  private async openReplica(topicId: string, topicName: string, partition: number, settings: TopicSettings): Promise<ReplicaDriver> {
    const log = await this.store.partition({ topicId, partition });
    const promisedEpoch = decodePromise(await this.store.meta.get(promiseKey(topicId, partition)));
    this.assertOpen();
    const key = keyOf(topicId, partition);
    const onProduced = this.options.onProduced;
    const replica = new ReplicaDriver({
      nodeId: this.nodeId,
      topic: topicName,
      topicId,
      partition,
      log,
      meta: this.store.meta,
      promisedEpoch,
      settings,
      logger: this.logger.child({ topic: topicName, partition }),
      nowMs: this.nowMs,
      send: (to, msg) => this.options.send(to, topicId, partition, msg),
      onDeclined: (epoch, isolated) => this.options.onDeclined(topicId, partition, epoch, isolated),
      notLeader: () => this.notLeader(topicId, topicName, partition),
      notLeaderSoon: () => this.notLeaderSoon(topicId, topicName, partition),
      onFailed: () => {
        this.rebuild(key, replica).catch((err: unknown) => this.logger.error({ err, topic: topicName, partition }, 'rebuilding the replica failed'));
      },
      ...(onProduced === undefined ? {} : { onProduced: (acks: Acks, recordCount: number, bytes: number) => onProduced(topicName, acks, recordCount, bytes) }),
    });
    this.replicas.set(key, replica);
    this.seenTopicFor(topicId, topicName).partitions.add(partition);
    return replica;
  }

  /**
   * A replica stopped by a storage failure: once its writes settle, a fresh one is built from the
   * log (like a process restart) and given the partition's current role from the metadata.
   */
  private async rebuild(key: string, failed: ReplicaDriver): Promise<void> {
    await failed.waitIdle(REPLICA_REBUILD_SETTLE_MS);
    if (this.closing || this.replicas.get(key) !== failed) return;
    const { log } = failed;
    const fields = { topic: failed.topic, partition: failed.partition, leo: log.logEndOffset, durable: log.durableEndOffset };
    if (log.durableEndOffset !== log.logEndOffset) {
      this.logger.error(fields, 'replica not rebuilt: its log still has writes in flight; restart the broker');
      return;
    }
    this.replicas.delete(key);
    const replica = await this.ensureReplica(failed.topicId, failed.topic, failed.partition, failed.settings);
    this.logger.warn(fields, 'replica rebuilt from its log after a storage failure');
    const topic = this.metadata.snapshot.topics.find((t) => t.topicId === failed.topicId);
    const info = topic === undefined ? undefined : this.metadata.partition(topic, failed.partition);
    if (info === undefined || info.leaderEpoch <= 0) return;
    const who = this.metadata.leaderOf(info);
    replica.roleChange(info.leaderEpoch, who.online ? who.leaderId : -1, info.replicas);
  }

  private seenTopicFor(topicId: string, name: string): { name: string; partitions: Set<number> } {
    const seen = this.seenTopics.get(topicId) ?? { name, partitions: new Set<number>() };
    this.seenTopics.set(topicId, seen);
    return seen;
  }

  private async dropTopic(topicId: string, name: string, partitions: ReadonlySet<number>): Promise<void> {
    for (const partition of partitions) {
      const key = keyOf(topicId, partition);
      const replica = this.replicas.get(key);
      this.appliedRoles.delete(key);
      if (replica !== undefined) {
        this.replicas.delete(key);
        replica.stop(new RunnelError('UNKNOWN_TOPIC', `topic ${JSON.stringify(name)} was deleted`));
        await replica.waitIdle(1_000);
      }
      try {
        await this.store.dropPartition({ topicId, partition });
        await this.store.meta.del(promiseKey(topicId, partition));
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

  /** After beginClose: waits (bounded) for in-flight produces and writes, then stops every replica. */
  async finishClose(timeoutMs: number): Promise<void> {
    await this.applying;
    await Promise.allSettled([...this.opening.values()]);
    const replicas = this.hosted();
    await Promise.all(replicas.map((r) => r.waitIdle(timeoutMs)));
    const error = this.closingError ?? new RunnelError('SHUTTING_DOWN', 'shutting down');
    for (const r of replicas) r.stop(error);
    await Promise.all(replicas.map((r) => r.waitIdle(SHUTDOWN_SETTLE_MS)));
    this.replicas.clear();
  }

  /** Ends every reader (subscriptions, long-polls) with SHUTTING_DOWN without failing produces. */
  endReaders(): void {
    const error = this.closingError ?? new RunnelError('SHUTTING_DOWN', 'shutting down');
    for (const r of this.replicas.values()) r.endReaders(error);
  }
}
