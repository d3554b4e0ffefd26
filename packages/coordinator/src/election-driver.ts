import { performance } from 'node:perf_hooks';
import { normaliseError } from '@runnel/protocol';
import { LeaderElection } from '@runnel/replication';
import type { ElectionEvent, ElectionInput, ElectionPersist, TransferOptions } from '@runnel/replication';
import type { Logger } from 'pino';
import {
  ELECTION_COMPLETIONS_SLICE_MS, ELECTION_PERSIST_RETRY_MS, ELECTION_RETRY_MS, ELECTION_TICK_MS, ELECTIONS_ACTIVE_MAX,
  PREPARE_CALL_TIMEOUT_MS, PREPARE_CALLS_IN_FLIGHT_MAX, PREPARE_RESEND_MS, PREPARE_TIMEOUT_MS,
} from './constants.js';
import type { MetadataCommand } from './metadata-commands.js';
import type { MetadataController } from './metadata-controller.js';
import type { MetadataState, PartitionRecord, TopicRecord } from './metadata-state.js';
import type { PrepareEpochTransport } from './prepare-epoch-client.js';

/** Milliseconds as election ticks, rounded up (a timeout is a lower bound). */
const ticks = (ms: number): number => Math.max(1, Math.ceil(ms / ELECTION_TICK_MS));

/** Ticks of a stable partition between RoleChange re-broadcasts: unused here (the metadata push re-informs). */
const REBROADCAST_TICKS_NEVER = Number.MAX_SAFE_INTEGER;

interface Entry {
  readonly key: string;
  readonly topic: string;
  readonly topicId: string;
  readonly partition: number;
  readonly replicas: readonly number[];
  readonly election: LeaderElection;
  /** Brokers with a PrepareEpoch call of this partition in flight. */
  readonly calling: Set<number>;
}

type PendingWrite =
  | { readonly entry: Entry; readonly persist: ElectionPersist }
  | { readonly entry: Entry; readonly offline: true };

export interface ElectionDriverOptions {
  readonly controller: MetadataController;
  readonly transport: PrepareEpochTransport;
  readonly log: Logger;
  /** Brokers not alive in the state but still awaited after a coordinator restart (treated as live). */
  readonly awaiting: () => ReadonlySet<number>;
  /** Optional (metrics): told every election event (electing, elected, offline) as it happens. */
  readonly onEvent?: (ev: ElectionEvent) => void;
}

export const partitionKey = (topicId: string, partition: number): string => `${topicId}/${partition}`;

/**
 * Carries out the pure {@link LeaderElection} of every partition (packages/replication) against
 * the real world: one election per partition, built from the persisted metadata.
 *
 * Inputs: every metadata change (`sync`: new and deleted partitions, the live set = alive or
 * awaited brokers, broker restarts = a new incarnation), PrepareEpoch answers, DeclineLeadership,
 * transfers (controlled shutdown, preferred leader), and a tick every ELECTION_TICK_MS for the
 * elections in progress.
 *
 * Each Ready is carried out in the core's order: PERSIST (`highestEpoch` -> ReserveEpoch,
 * `assignment` -> ChangeLeader, an `offline` event -> ChangeLeader(-1)) — all writes queued while
 * the previous one is persisted go into one metadata change, and completions are reported only once it
 * is durable —, then SEND (PrepareEpoch over gRPC with a deadline, at most one call per partition
 * and broker in flight; RoleChange is not sent: the metadata push carries it to every broker).
 *
 * Bounded work per turn, whatever the partition count (a topic of thousands of partitions, or a
 * broker leading thousands dying): at most ELECTIONS_ACTIVE_MAX elections are in progress (between
 * "electing" and "elected" or offline) at once; a partition that would start one beyond that waits
 * for the live set (an offline one for its retry) until one finishes, oldest first. One metadata
 * change of election writes is persisted at a time (writes meanwhile go into the next: group
 * commit), its completions are carried out ELECTION_COMPLETIONS_SLICE_MS at most per turn, and ticks
 * reach only the partitions with an election in progress or offline.
 */
export class ElectionDriver {
  readonly #o: ElectionDriverOptions;
  readonly #entries = new Map<string, Entry>();
  /** The topic records the entries were last synced with (by topic id): an unchanged one is skipped. */
  readonly #synced = new Map<string, TopicRecord>();
  /** Entries not in the stable phase (ticked). */
  readonly #unsettled = new Set<Entry>();
  /** Entries with an election in progress (persisting its epoch, preparing, persisting its leader). */
  readonly #electing = new Set<Entry>();
  /** Entries waiting for the live set because starting their election now would pass ELECTIONS_ACTIVE_MAX (insertion order = admission order). */
  readonly #waiting = new Set<Entry>();
  readonly #incarnations = new Map<number, string>();
  #live: ReadonlySet<number> = new Set();
  #writes: PendingWrite[] = [];
  #flushScheduled = false;
  /** A metadata change of election writes is being persisted. */
  #flushing = false;
  #callsInFlight = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #stateListeners = new Set<() => void>();

  constructor(options: ElectionDriverOptions) {
    this.#o = options;
  }

  /** Builds the elections from the current state and starts ticking. */
  start(): void {
    this.sync(this.#o.controller.state);
    this.#timer = setInterval(() => this.#tick(), ELECTION_TICK_MS);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#o.transport.close();
    for (const l of [...this.#stateListeners]) l();
  }

  /** Every persisted metadata change (and the awaited set changing) comes through here. */
  sync(state: MetadataState): void {
    if (this.#closed) return;
    const awaiting = this.#o.awaiting();
    const live = new Set<number>();
    const restarted: number[] = [];
    for (const b of state.brokers.values()) {
      if (b.alive || awaiting.has(b.id)) live.add(b.id);
      const known = this.#incarnations.get(b.id);
      if (known !== undefined && known !== b.incarnation) restarted.push(b.id);
      this.#incarnations.set(b.id, b.incarnation);
    }
    const liveChanged = live.size !== this.#live.size || [...live].some((id) => !this.#live.has(id));
    this.#live = live;

    const seen = new Set<string>();
    for (const topic of state.topics.values()) {
      seen.add(topic.topicId);
      // Partitions are only ever added with their topic: a known topic needs a pass only when the live set or an incarnation changed.
      const known = this.#synced.get(topic.topicId);
      if (known !== undefined && known.partitions.length === topic.partitions.length && !liveChanged && restarted.length === 0) {
        this.#synced.set(topic.topicId, topic);
        continue;
      }
      this.#synced.set(topic.topicId, topic);
      for (const p of topic.partitions) {
        const key = partitionKey(topic.topicId, p.partition);
        let entry = this.#entries.get(key);
        if (entry === undefined) {
          entry = this.#create(topic, p);
          this.#entries.set(key, entry);
          this.#giveLive(entry);
        } else if (liveChanged) {
          this.#giveLive(entry);
        }
        for (const id of restarted) if (entry.replicas.includes(id)) entry.election.sessionEnded(id);
        this.#drain(entry);
      }
    }
    for (const [topicId, topic] of [...this.#synced]) {
      if (seen.has(topicId)) continue;
      this.#synced.delete(topicId);
      for (const p of topic.partitions) {
        const key = partitionKey(topicId, p.partition);
        const entry = this.#entries.get(key);
        this.#entries.delete(key);
        if (entry !== undefined) this.#forget(entry);
      }
    }
    for (const l of [...this.#stateListeners]) l();
  }

  /** The live set the elections see. */
  get live(): ReadonlySet<number> {
    return this.#live;
  }

  /** A leader declined leadership of `epoch` (chosen from a promise made before its restart). */
  declined(topicId: string, partition: number, epoch: number, brokerId: number): boolean {
    return this.#step(topicId, partition, { type: 'LeadershipDeclined', epoch, replicaId: brokerId });
  }

  /**
   * The leader of `epoch` hears no majority of its replicas: the leadership moves to another replica
   * when the others can form a majority, else nothing changes (see LeaderElection).
   */
  isolated(topicId: string, partition: number, epoch: number, brokerId: number): 'moving' | 'kept' | undefined {
    const entry = this.#entries.get(partitionKey(topicId, partition));
    if (entry === undefined || this.#closed) return undefined;
    const wasStable = entry.election.phase.kind === 'stable';
    this.#step(topicId, partition, { type: 'LeaderIsolated', epoch, replicaId: brokerId });
    return wasStable && entry.election.phase.kind !== 'stable' ? 'moving' : 'kept';
  }

  /** Starts a leadership move (see TransferOptions); false when the election refused it (e.g. one is already in progress). */
  transfer(topicId: string, partition: number, opts: TransferOptions): boolean {
    const entry = this.#entries.get(partitionKey(topicId, partition));
    if (entry === undefined || this.#closed) return false;
    const started = entry.election.transfer(opts);
    this.#drain(entry);
    return started;
  }

  /** Resolves at the next metadata change (or close), or after `timeoutMs`. */
  nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#stateListeners.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.#stateListeners.add(done);
    });
  }

  #create(topic: TopicRecord, p: PartitionRecord): Entry {
    const election = new LeaderElection(
      {
        replicas: p.replicas,
        highestEpoch: Math.max(p.highestEpoch, p.leaderEpoch),
        leader: p.leader >= 0 ? p.leader : undefined,
        epoch: p.leaderEpoch,
      },
      {
        prepareTimeoutTicks: ticks(PREPARE_TIMEOUT_MS),
        prepareResendTicks: ticks(PREPARE_RESEND_MS),
        retryTicks: ticks(ELECTION_RETRY_MS),
        rebroadcastTicks: REBROADCAST_TICKS_NEVER,
        uncleanElection: topic.settings.uncleanLeaderElection,
      },
    );
    return { key: partitionKey(topic.topicId, p.partition), topic: topic.name, topicId: topic.topicId, partition: p.partition, replicas: p.replicas, election, calling: new Set() };
  }

  /** Hands the entry the live set, unless that would start an election beyond ELECTIONS_ACTIVE_MAX (then it waits). */
  #giveLive(entry: Entry): void {
    const e = entry.election;
    const kind = e.phase.kind;
    const leaderLive = e.leader !== undefined && this.#live.has(e.leader);
    const wouldStart = (kind === 'stable' && !leaderLive) || kind === 'offline';
    if (wouldStart && this.#electing.size >= ELECTIONS_ACTIVE_MAX) {
      this.#waiting.add(entry);
      return;
    }
    this.#waiting.delete(entry);
    e.setLive(this.#live);
  }

  #forget(entry: Entry): void {
    this.#unsettled.delete(entry);
    this.#electing.delete(entry);
    this.#waiting.delete(entry);
  }

  #step(topicId: string, partition: number, msg: ElectionInput): boolean {
    const entry = this.#entries.get(partitionKey(topicId, partition));
    if (entry === undefined || this.#closed) return false;
    entry.election.step(msg);
    this.#drain(entry);
    return true;
  }

  #tick(): void {
    if (this.#closed) return;
    // Stable partitions need no ticks: their elections start on live-set changes and declines.
    // An offline one is not ticked while the elections are at their bound (its retry waits).
    for (const entry of [...this.#unsettled]) {
      if (entry.election.phase.kind === 'offline' && this.#electing.size >= ELECTIONS_ACTIVE_MAX) continue;
      entry.election.tick();
      this.#drain(entry);
    }
    for (const entry of this.#waiting) {
      if (this.#electing.size >= ELECTIONS_ACTIVE_MAX) break;
      this.#giveLive(entry);
      this.#drain(entry);
    }
  }

  #drain(entry: Entry): void {
    const e = entry.election;
    while (e.hasReady()) {
      const { persist, send, events } = e.ready();
      e.advance();
      for (const p of persist) this.#queueWrite({ entry, persist: p });
      for (const s of send) if (s.msg.type === 'PrepareEpoch') this.#prepare(entry, s.to, s.msg.epoch);
      for (const ev of events) this.#event(entry, ev);
    }
    if (this.#entries.get(entry.key) !== entry) return; // deleted meanwhile
    const kind = e.phase.kind;
    if (kind === 'stable') {
      this.#unsettled.delete(entry);
      this.#electing.delete(entry);
      return;
    }
    this.#unsettled.add(entry);
    if (kind === 'offline') this.#electing.delete(entry);
    else this.#electing.add(entry);
  }

  #event(entry: Entry, ev: ElectionEvent): void {
    this.#o.onEvent?.(ev);
    const fields = { topic: entry.topic, partition: entry.partition, epoch: ev.epoch };
    switch (ev.kind) {
      case 'electing':
        this.#o.log.info(fields, 'electing leader');
        return;
      case 'elected':
        // Logged by the metadata controller once persisted ('leader changed').
        if (ev.unclean) this.#o.log.warn({ ...fields, leader: ev.leader }, 'UNCLEAN leader election: committed records may be lost');
        return;
      case 'offline':
        this.#o.log.warn({ ...fields, promises: ev.promises }, 'partition offline: no majority of replicas promised');
        this.#queueWrite({ entry, offline: true });
        return;
    }
  }

  #prepare(entry: Entry, to: number, epoch: number): void {
    if (entry.calling.has(to) || this.#callsInFlight >= PREPARE_CALLS_IN_FLIGHT_MAX) return; // re-sent on a later tick
    const broker = this.#o.controller.state.brokers.get(to);
    if (broker === undefined) return;
    entry.calling.add(to);
    this.#callsInFlight++;
    const call = { topicId: entry.topicId, topic: entry.topic, partition: entry.partition, epoch, replicas: entry.replicas };
    this.#o.transport.prepare({ brokerId: to, address: broker.address }, call, PREPARE_CALL_TIMEOUT_MS).then(
      (answer) => {
        entry.calling.delete(to);
        this.#callsInFlight--;
        if (answer === undefined || this.#closed || this.#entries.get(entry.key) !== entry) return;
        entry.election.step(answer);
        this.#drain(entry);
      },
      (err: unknown) => {
        entry.calling.delete(to);
        this.#callsInFlight--;
        this.#o.log.error({ err: normaliseError(err), topic: entry.topic, partition: entry.partition, brokerId: to }, 'PrepareEpoch transport failed');
      },
    );
  }

  #queueWrite(w: PendingWrite): void {
    this.#writes.push(w);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#flushing) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** One metadata change for every election write queued since the last one; completions only once it is durable. */
  #flush(): void {
    this.#flushScheduled = false;
    const writes = this.#writes;
    this.#writes = [];
    if (writes.length === 0 || this.#closed) return;
    this.#flushing = true;
    this.#o.controller
      .transact((tx) => {
        for (const w of writes) {
          const command = this.#command(w, tx.state);
          if (command !== undefined) tx.apply(command);
        }
      })
      .then(
        () => {
          this.#flushing = false;
          this.#complete(writes, 0);
          if (this.#writes.length > 0) this.#scheduleFlush();
        },
        (err: unknown) => {
          this.#flushing = false;
          if (this.#closed) return;
          this.#o.log.error({ err: normaliseError(err), writes: writes.length }, 'election metadata write failed; retrying');
          setTimeout(() => {
            for (const w of writes) this.#queueWrite(w);
          }, ELECTION_PERSIST_RETRY_MS).unref();
        },
      );
  }

  /** Reports persisted writes to their elections, for ELECTION_COMPLETIONS_SLICE_MS at most per turn (each may send PrepareEpoch calls). */
  #complete(writes: readonly PendingWrite[], from: number): void {
    if (this.#closed) return;
    const sliceEnd = performance.now() + ELECTION_COMPLETIONS_SLICE_MS;
    let end = from;
    while (end < writes.length && (end === from || performance.now() < sliceEnd)) {
      const w = writes[end++]!;
      if ('offline' in w || this.#entries.get(w.entry.key) !== w.entry) continue;
      if (w.persist.kind === 'highestEpoch') w.entry.election.epochPersisted(w.persist.epoch);
      else w.entry.election.assignmentPersisted(w.persist.epoch);
      this.#drain(w.entry);
    }
    if (end < writes.length) setImmediate(() => this.#complete(writes, end));
  }

  #command(w: PendingWrite, state: MetadataState): MetadataCommand | undefined {
    const { entry } = w;
    const base = { topic: entry.topic, topicId: entry.topicId, partition: entry.partition };
    if ('offline' in w) {
      const p = state.topics.get(entry.topic)?.partitions[entry.partition];
      if (p === undefined || p.leader === -1) return undefined;
      return { type: 'ChangeLeader', ...base, leader: -1, epoch: p.leaderEpoch };
    }
    if (w.persist.kind === 'highestEpoch') return { type: 'ReserveEpoch', ...base, epoch: w.persist.epoch };
    return { type: 'ChangeLeader', ...base, leader: w.persist.leader, epoch: w.persist.epoch };
  }
}
