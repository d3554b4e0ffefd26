import type { Logger } from 'pino';
import { RunnelError, messageType } from '@runnel/protocol';
import type {
  CommittedOffset, CommitOffsetsRequest__Output, FetchOffsetsRequest__Output, GroupDescription, Record as ProtoRecord, TopicInfo__Output,
} from '@runnel/protocol';
import { BATCH_ATTRIBUTE_CONTROL } from '@runnel/storage';
import {
  GROUP_COMMIT_METADATA_BYTES_MAX, GROUP_COMMIT_OFFSETS_MAX, GROUP_LOAD_READ_BYTES, GROUP_REVOKE_TIMEOUT_MS, GROUPS_PER_PARTITION_MAX,
} from '../constants.js';
import type { MetadataView } from '../metadata-view.js';
import type { PartitionRegistry } from '../partition-registry.js';
import type { ProduceService } from '../produce-handler.js';
import type { ReplicaDriver } from '../replica-driver.js';
import { parseTpKey, tpKey, type TpKey } from './assignor.js';
import { GroupState, type GroupEffects } from './group-state.js';
import {
  OFFSETS_TOPIC, assertValidGroupName, decodeOffsetsRecord, encodeOffsetsRecord, offsetsPartitionFor, type CommittedValue, type OffsetsRecord,
} from './offsets-records.js';

/** What the coordinator needs from a member's session stream. */
export interface MemberSessionSink {
  /** Sends the member its current assignment. */
  assignment(generation: number, assigned: TpKey[], revoke: TpKey[]): void;
  /** Ends the session with an error (removed, coordinator moved). */
  end(error: RunnelError): void;
}

/** A group hosted by this broker. */
export interface GroupEntry {
  readonly state: GroupState;
  readonly offsets: Map<TpKey, CommittedValue>;
  /** Largest session timeout recorded in `__offsets` for the group (0: never recorded). */
  recordedSessionTimeoutMs: number;
  readonly sessions: Map<string, MemberSessionSink>;
  /** Partition counts last given to the state, to notice metadata changes. */
  countsKey: string;
}

/** One `__offsets` partition led here, with the groups it holds, loaded for one leader epoch. */
interface LoadedPartition {
  readonly partition: number;
  readonly epoch: number;
  readonly replica: ReplicaDriver;
  readonly groups: Map<string, GroupEntry>;
}

export interface GroupCoordinatorDeps {
  readonly nodeId: number;
  readonly registry: PartitionRegistry;
  readonly metadata: MetadataView;
  readonly produce: ProduceService;
  readonly logger: Logger;
  readonly nowMs: () => number;
}

const TO_OBJECT = { longs: Number, bytes: Buffer, defaults: true, arrays: true, objects: true } as const;

/**
 * The group coordinator: for every `__offsets` partition this broker leads, the groups that hash
 * to it: their committed offsets (rebuilt from the partition when leadership arrives) and their
 * live membership (GroupState, in memory only: members rejoin a new coordinator, naming what they
 * own). Every write (commit, group record) is acknowledged only once quorum-committed. When the
 * partition's leadership goes, its groups are dropped and their sessions end with NOT_COORDINATOR.
 */
export class GroupCoordinator {
  private readonly loaded = new Map<number, LoadedPartition>();
  private readonly loading = new Map<number, { epoch: number; promise: Promise<LoadedPartition> }>();
  private readonly log: Logger;

  constructor(private readonly deps: GroupCoordinatorDeps) {
    this.log = deps.logger.child({ component: 'groups' });
  }

  /** The groups of the `__offsets` partition `group` hashes to, loading them if needed; NOT_COORDINATOR when not led here. */
  async partitionOf(group: string): Promise<LoadedPartition> {
    assertValidGroupName(group);
    const topic = this.offsetsTopic();
    const partition = offsetsPartitionFor(group, topic.partitions.length);
    return this.partitionLoaded(partition);
  }

  /** The group's entry, or undefined when it is unknown here. */
  async existing(group: string): Promise<{ part: LoadedPartition; entry: GroupEntry | undefined }> {
    const part = await this.partitionOf(group);
    return { part, entry: part.groups.get(group) };
  }

  /** The group's entry, created (and recorded in `__offsets` with QUORUM) when new or when `sessionTimeoutMs` exceeds the recorded one. */
  async entryForJoin(group: string, sessionTimeoutMs: number): Promise<{ part: LoadedPartition; entry: GroupEntry }> {
    const part = await this.partitionOf(group);
    let entry = part.groups.get(group);
    if (entry === undefined) {
      if (part.groups.size >= GROUPS_PER_PARTITION_MAX) throw new RunnelError('TOO_MANY_REQUESTS', `this broker already coordinates ${GROUPS_PER_PARTITION_MAX} groups in ${OFFSETS_TOPIC}/${part.partition}`);
      entry = this.newEntry(group);
      part.groups.set(group, entry);
    }
    if (entry.recordedSessionTimeoutMs < sessionTimeoutMs) {
      await this.append(part, [{ kind: 'group', group, sessionTimeoutMs }]);
      entry.recordedSessionTimeoutMs = Math.max(entry.recordedSessionTimeoutMs, sessionTimeoutMs);
    }
    this.assertCurrent(part);
    return { part, entry };
  }

  /** Applies a state change's effects: new assignments to notified members, removed members' sessions ended. */
  apply(entry: GroupEntry, effects: GroupEffects): void {
    for (const { id, reason } of effects.removed) {
      const sink = entry.sessions.get(id);
      entry.sessions.delete(id);
      this.log.info({ group: entry.state.name, member: id, reason }, 'group member removed');
      sink?.end(new RunnelError('UNKNOWN_MEMBER', `member ${id} was removed from group ${entry.state.name}: ${reason}; join again`));
    }
    for (const id of effects.notify) this.sendAssignment(entry, id);
    if (effects.notify.size > 0) {
      this.log.info({ group: entry.state.name, generation: entry.state.generation, phase: entry.state.phase, members: entry.state.members.size }, 'group assignment changed');
    }
  }

  sendAssignment(entry: GroupEntry, memberId: string): void {
    const view = entry.state.view(memberId);
    entry.sessions.get(memberId)?.assignment(entry.state.generation, view.assigned, view.revoke);
  }

  /** Gives the group's state the partition counts of its subscribed topics from the metadata. */
  refreshCounts(entry: GroupEntry, extraTopics: readonly string[] = []): GroupEffects | undefined {
    const counts = new Map<string, number>();
    for (const t of new Set([...entry.state.subscribedTopics(), ...extraTopics])) {
      const info = this.deps.metadata.topic(t);
      if (info !== undefined) counts.set(t, info.partitions.length);
    }
    const key = JSON.stringify([...counts]);
    if (key === entry.countsKey) return undefined;
    entry.countsKey = key;
    return entry.state.setPartitionCounts(counts, this.deps.nowMs());
  }

  /** Throws NOT_COORDINATOR if the partition's leadership (at the loaded epoch) is gone. */
  assertCurrent(part: LoadedPartition): void {
    if (this.loaded.get(part.partition) === part && part.replica.isLeading && part.replica.epoch === part.epoch) return;
    throw this.notCoordinator(part.partition);
  }

  async commit(req: CommitOffsetsRequest__Output): Promise<void> {
    assertValidGroupName(req.group);
    const offsets = req.offsets ?? [];
    if (offsets.length === 0) throw new RunnelError('INVALID_REQUEST', 'the commit carries no offsets; send at least one');
    if (offsets.length > GROUP_COMMIT_OFFSETS_MAX) throw new RunnelError('INVALID_REQUEST', `a commit carries at most ${GROUP_COMMIT_OFFSETS_MAX} offsets; it has ${offsets.length}`);
    for (const o of offsets) {
      this.checkPartition(o.topic, o.partition);
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) throw new RunnelError('INVALID_REQUEST', `offset ${String(o.offset)} for ${o.topic}/${o.partition} must be a non-negative integer`);
      if (Buffer.byteLength(o.metadata ?? '') > GROUP_COMMIT_METADATA_BYTES_MAX) {
        throw new RunnelError('INVALID_REQUEST', `commit metadata for ${o.topic}/${o.partition} is longer than ${GROUP_COMMIT_METADATA_BYTES_MAX} bytes`);
      }
    }
    const part = await this.partitionOf(req.group);
    const entry = part.groups.get(req.group);
    if (req.memberId !== '') {
      if (entry === undefined || !entry.state.members.has(req.memberId)) {
        throw new RunnelError('UNKNOWN_MEMBER', `member ${JSON.stringify(req.memberId)} is not in group ${JSON.stringify(req.group)}; join again`);
      }
      for (const o of offsets) {
        if (!entry.state.owns(req.memberId, tpKey(o.topic, o.partition))) {
          throw new RunnelError('PARTITION_NOT_ASSIGNED', `member ${req.memberId} of group ${JSON.stringify(req.group)} does not own ${o.topic}/${o.partition}; nothing was committed`);
        }
      }
    } else if (entry !== undefined && entry.state.members.size > 0) {
      throw new RunnelError('GROUP_NOT_EMPTY', `group ${JSON.stringify(req.group)} has ${entry.state.members.size} live member(s); stop them before setting its offsets (nothing was committed)`);
    }
    const commitTimeMs = this.deps.nowMs();
    const records: OffsetsRecord[] = offsets.map((o) => ({
      kind: 'offset', group: req.group, topic: o.topic, partition: o.partition, value: { offset: o.offset, metadata: o.metadata ?? '', commitTimeMs },
    }));
    await this.append(part, records);
    this.assertCurrent(part);
    let target = part.groups.get(req.group);
    if (target === undefined) {
      target = this.newEntry(req.group);
      part.groups.set(req.group, target);
    }
    for (const r of records) if (r.kind === 'offset') target.offsets.set(tpKey(r.topic, r.partition), r.value);
  }

  async fetchOffsets(req: FetchOffsetsRequest__Output): Promise<CommittedOffset[]> {
    const { entry } = await this.existing(req.group);
    if (entry === undefined || !this.isKnown(entry)) throw this.unknownGroup(req.group);
    const wanted = (req.partitions ?? []).length > 0 ? req.partitions.map((p) => tpKey(p.topic, p.partition)) : [...entry.offsets.keys()].sort();
    return wanted.map((tp) => committedOffset(tp, entry.offsets.get(tp)));
  }

  async describe(group: string): Promise<GroupDescription> {
    const { entry } = await this.existing(group);
    if (entry === undefined || !this.isKnown(entry)) throw this.unknownGroup(group);
    return this.description(entry, true);
  }

  /** Every group of every `__offsets` partition led here (loading them). */
  async list(): Promise<GroupDescription[]> {
    const topic = this.deps.metadata.topic(OFFSETS_TOPIC);
    if (topic === undefined) return [];
    const out: GroupDescription[] = [];
    for (const info of topic.partitions) {
      let part: LoadedPartition;
      try {
        part = await this.partitionLoaded(info.partition);
      } catch (err) {
        if (err instanceof RunnelError && err.code === 'NOT_COORDINATOR') continue;
        throw err;
      }
      for (const entry of part.groups.values()) if (this.isKnown(entry)) out.push(this.description(entry, false));
    }
    return out.sort((a, b) => ((a.group ?? '') < (b.group ?? '') ? -1 : 1));
  }

  /** Periodic: drops partitions no longer led here, expires silent members, follows partition-count changes. */
  tick(): void {
    const nowMs = this.deps.nowMs();
    for (const part of [...this.loaded.values()]) {
      if (!part.replica.isLeading || part.replica.epoch !== part.epoch) {
        this.unload(part, this.notCoordinator(part.partition));
        continue;
      }
      for (const entry of part.groups.values()) {
        const counts = this.refreshCounts(entry);
        if (counts !== undefined) this.apply(entry, counts);
        this.apply(entry, entry.state.tick(nowMs));
      }
    }
  }

  /** Ends every session (shutdown). */
  close(error: RunnelError): void {
    for (const part of [...this.loaded.values()]) this.unload(part, error);
  }

  offsetsTopic(): TopicInfo__Output {
    const topic = this.deps.metadata.topic(OFFSETS_TOPIC);
    if (topic === undefined || topic.partitions.length === 0) {
      throw new RunnelError('NOT_COORDINATOR', `the ${OFFSETS_TOPIC} topic does not exist yet; call FindGroupCoordinator first`);
    }
    return topic;
  }

  /** NOT_COORDINATOR naming the leader of the group's `__offsets` partition, when known. */
  notCoordinator(partition: number): RunnelError {
    const topic = this.deps.metadata.topic(OFFSETS_TOPIC);
    const info = topic === undefined ? undefined : this.deps.metadata.partition(topic, partition);
    const who = info === undefined ? undefined : this.deps.metadata.leaderOf(info);
    if (who !== undefined && who.online && who.leaderAddress !== undefined) {
      return new RunnelError('NOT_COORDINATOR', `this broker does not coordinate groups of ${OFFSETS_TOPIC}/${partition}; broker ${who.leaderId} at ${who.leaderAddress} does`, {
        leaderId: who.leaderId, leaderAddress: who.leaderAddress,
      });
    }
    return new RunnelError('NOT_COORDINATOR', `no broker coordinates groups of ${OFFSETS_TOPIC}/${partition} right now; retry after FindGroupCoordinator`);
  }

  checkPartition(topicName: string, partition: number): TopicInfo__Output {
    const topic = this.deps.registry.resolveTopic(topicName);
    this.deps.registry.resolvePartition(topic, partition);
    return topic;
  }

  private isKnown(entry: GroupEntry): boolean {
    return entry.state.members.size > 0 || entry.offsets.size > 0 || entry.recordedSessionTimeoutMs > 0;
  }

  private unknownGroup(group: string): RunnelError {
    return new RunnelError('UNKNOWN_GROUP', `group ${JSON.stringify(group)} does not exist: it has no members and no committed offsets`);
  }

  private newEntry(group: string): GroupEntry {
    return { state: new GroupState(group, GROUP_REVOKE_TIMEOUT_MS), offsets: new Map(), recordedSessionTimeoutMs: 0, sessions: new Map(), countsKey: '' };
  }

  private description(entry: GroupEntry, withOffsets: boolean): GroupDescription {
    const { state } = entry;
    const tps = (keys: readonly TpKey[]): Array<{ topic: string; partition: number }> => keys.map(parseTpKey);
    return {
      group: state.name,
      state: state.phase,
      generation: state.generation,
      coordinatorId: this.deps.nodeId,
      members: [...state.members.values()].map((m) => {
        const view = state.view(m.id);
        return { memberId: m.id, clientId: m.clientId, topics: [...m.topics], assigned: tps(view.assigned), revoking: tps(view.revoke), sessionTimeoutMs: m.sessionTimeoutMs };
      }),
      offsets: withOffsets ? [...entry.offsets.keys()].sort().map((tp) => committedOffset(tp, entry.offsets.get(tp))) : [],
    };
  }

  private unload(part: LoadedPartition, error: RunnelError): void {
    if (this.loaded.get(part.partition) === part) this.loaded.delete(part.partition);
    for (const entry of part.groups.values()) {
      for (const sink of entry.sessions.values()) sink.end(error);
      entry.sessions.clear();
    }
    this.log.info({ partition: part.partition, epoch: part.epoch, groups: part.groups.size }, 'group coordination moved away');
  }

  private partitionLoaded(partition: number): Promise<LoadedPartition> {
    let replica: ReplicaDriver;
    try {
      replica = this.deps.registry.lookup(OFFSETS_TOPIC, partition);
    } catch (err) {
      if (err instanceof RunnelError && (err.code === 'NOT_LEADER' || err.code === 'PARTITION_OFFLINE')) throw this.notCoordinator(partition);
      throw err;
    }
    const current = this.loaded.get(partition);
    if (current !== undefined && current.epoch === replica.epoch && current.replica === replica) return Promise.resolve(current);
    if (current !== undefined) this.unload(current, this.notCoordinator(partition));
    const inProgress = this.loading.get(partition);
    if (inProgress !== undefined && inProgress.epoch === replica.epoch) return inProgress.promise;
    const promise = this.load(partition, replica).finally(() => {
      if (this.loading.get(partition)?.promise === promise) this.loading.delete(partition);
    });
    this.loading.set(partition, { epoch: replica.epoch, promise });
    return promise;
  }

  /**
   * Appends a marker with QUORUM acks, then replays the partition up to it: the marker committing
   * means everything before it is committed, so the state rebuilt is every acknowledged commit.
   */
  private async load(partition: number, replica: ReplicaDriver): Promise<LoadedPartition> {
    const epoch = replica.epoch;
    const startMs = Date.now();
    const marker = await this.deps.produce.start({
      topic: OFFSETS_TOPIC, partition, records: [toProtoRecord({ kind: 'marker' })], acks: 'ACKS_QUORUM', timeoutMs: 0,
    }, true);
    if (marker.leaderEpoch !== epoch || !replica.isLeading || replica.epoch !== epoch) throw this.notCoordinator(partition);
    const markerOffset = Number(marker.baseOffset);
    const part: LoadedPartition = { partition, epoch, replica, groups: new Map() };
    const batchType = messageType('Batch');
    let next = replica.logStartOffset;
    let records = 0;
    while (next < markerOffset) {
      const raw = await replica.read(next, GROUP_LOAD_READ_BYTES, markerOffset);
      if (raw.length === 0) break;
      for (const bytes of raw) {
        const batch = batchType.toObject(batchType.decode(bytes), TO_OBJECT) as {
          baseOffset: number; recordCount: number; attributes: number; records?: { records: Array<{ key: Buffer; value: Buffer }> } | null;
        };
        const end = batch.baseOffset + batch.recordCount;
        if (end <= next) continue;
        if ((batch.attributes & BATCH_ATTRIBUTE_CONTROL) === 0) {
          (batch.records?.records ?? []).forEach((r, i) => {
            if (batch.baseOffset + i < next || batch.baseOffset + i >= markerOffset) return;
            const decoded = decodeOffsetsRecord(r.key, r.value);
            if (decoded !== undefined) {
              this.replay(part, decoded);
              records++;
            }
          });
        }
        next = end;
      }
    }
    const nowMs = this.deps.nowMs();
    for (const entry of part.groups.values()) {
      // Members of the previous coordinator may still consume: free partitions wait for them to rejoin.
      if (entry.recordedSessionTimeoutMs > 0) entry.state.holdUntilMs = nowMs + entry.recordedSessionTimeoutMs;
    }
    if (!replica.isLeading || replica.epoch !== epoch) throw this.notCoordinator(partition);
    this.loaded.set(partition, part);
    this.log.info({ topic: OFFSETS_TOPIC, partition, epoch, offset: markerOffset, records, groups: part.groups.size, ms: Date.now() - startMs }, 'groups loaded');
    return part;
  }

  private replay(part: LoadedPartition, r: OffsetsRecord): void {
    if (r.kind === 'marker') return;
    let entry = part.groups.get(r.group);
    if (entry === undefined) {
      entry = this.newEntry(r.group);
      part.groups.set(r.group, entry);
    }
    if (r.kind === 'offset') entry.offsets.set(tpKey(r.topic, r.partition), r.value);
    else entry.recordedSessionTimeoutMs = Math.max(entry.recordedSessionTimeoutMs, r.sessionTimeoutMs);
  }

  /** Appends records to the partition as one batch and resolves once quorum-committed. */
  private async append(part: LoadedPartition, records: readonly OffsetsRecord[]): Promise<void> {
    this.assertCurrent(part);
    const res = await this.deps.produce.start({
      topic: OFFSETS_TOPIC, partition: part.partition, records: records.map(toProtoRecord), acks: 'ACKS_QUORUM', timeoutMs: 0,
    }, true).catch((err: unknown) => {
      // LEADERSHIP_LOST: the commit may still land; the member retries it at the new coordinator (same offsets, so harmless).
      if (err instanceof RunnelError && (err.code === 'NOT_LEADER' || err.code === 'LEADERSHIP_LOST' || err.code === 'PARTITION_OFFLINE')) throw this.notCoordinator(part.partition);
      throw err;
    });
    if (res.leaderEpoch !== part.epoch) throw this.notCoordinator(part.partition);
  }
}

function toProtoRecord(r: OffsetsRecord): ProtoRecord & { key: Buffer; value: Buffer; headers: Record<string, Buffer>; timestampMs: number } {
  const { key, value } = encodeOffsetsRecord(r);
  return { key, value, headers: {}, timestampMs: 0 };
}

function committedOffset(tp: TpKey, value: CommittedValue | undefined): CommittedOffset {
  const { topic, partition } = parseTpKey(tp);
  return { topic, partition, offset: value?.offset ?? -1, metadata: value?.metadata ?? '', commitTimeMs: value?.commitTimeMs ?? 0 };
}

