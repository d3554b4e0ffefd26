import { assert } from './assert.js';
import {
  ASSIGNMENT_REBROADCAST_TICKS,
  ELECTION_RETRY_TICKS,
  PREPARE_RESEND_TICKS,
  PREPARE_TIMEOUT_TICKS,
  REPLICAS_MAX,
} from './constants.js';
import type { ElectionInput, EpochPromise, PrepareEpoch, RoleChange } from './messages.js';

/** Coordinator metadata writes, each to be made durable before its completion is reported. */
export type ElectionPersist =
  /** The highest epoch ever handed out; report `epochPersisted(epoch)`. */
  | { readonly kind: 'highestEpoch'; readonly epoch: number }
  /** The new assignment; report `assignmentPersisted(epoch)`. */
  | { readonly kind: 'assignment'; readonly leader: number; readonly epoch: number; readonly replicas: readonly number[] };

export type ElectionEvent =
  | { readonly kind: 'electing'; readonly epoch: number }
  | { readonly kind: 'elected'; readonly leader: number; readonly epoch: number; readonly unclean: boolean }
  | { readonly kind: 'offline'; readonly epoch: number; readonly promises: number };

export interface ElectionReady {
  readonly persist: readonly ElectionPersist[];
  readonly send: ReadonlyArray<{ readonly to: number; readonly msg: PrepareEpoch | RoleChange }>;
  readonly events: readonly ElectionEvent[];
}

export interface ElectionConfig {
  readonly prepareTimeoutTicks: number;
  readonly prepareResendTicks: number;
  readonly retryTicks: number;
  readonly rebroadcastTicks: number;
  /** Topic opted into unclean election: after the prepare timeout, elect from any promises. Can lose committed data. */
  readonly uncleanElection: boolean;
}

export const DEFAULT_ELECTION_CONFIG: ElectionConfig = Object.freeze({
  prepareTimeoutTicks: PREPARE_TIMEOUT_TICKS,
  prepareResendTicks: PREPARE_RESEND_TICKS,
  retryTicks: ELECTION_RETRY_TICKS,
  rebroadcastTicks: ASSIGNMENT_REBROADCAST_TICKS,
  uncleanElection: false,
});

/** What the coordinator recovered from its durable metadata for this partition. */
export interface RestoredElectionState {
  /** Assigned replicas, ordered (first = preferred leader). */
  readonly replicas: readonly number[];
  /** Highest epoch ever persisted (>= epoch). */
  readonly highestEpoch: number;
  /** Current assignment (undefined leader: none yet / offline). */
  readonly leader: number | undefined;
  readonly epoch: number;
}

export type ElectionPhase =
  | { readonly kind: 'stable' }
  | { readonly kind: 'persisting-epoch'; readonly epoch: number }
  | {
      readonly kind: 'preparing';
      readonly epoch: number;
      readonly promises: Map<number, EpochPromise>;
      readonly startTick: number;
      lastSendTick: number;
    }
  | { readonly kind: 'persisting-assignment'; readonly epoch: number; readonly leader: number; readonly unclean: boolean }
  | { readonly kind: 'offline'; readonly sinceTick: number };

/**
 * Leader election for one partition, coordinator side: a pure state machine (DESIGN.md, "Failure
 * detection and leader election").
 *
 * When the leader is gone (not live, its session ended, it declined, or there is none):
 *   1. pick `e+1` from the highest epoch ever handed out and PERSIST it (`highestEpoch`); wait for
 *      `epochPersisted(e+1)` — an epoch is never handed out twice, even across a coordinator restart;
 *   2. send PrepareEpoch(e+1) to the live replicas (re-sent to the silent ones every
 *      `prepareResendTicks`) and collect their `EpochPromise {lastEpoch, logEndOffset}`;
 *   3. as soon as a MAJORITY of the replica set has promised, choose the promiser with the greatest
 *      (lastEpoch, logEndOffset) (ties: earlier in the replica list), PERSIST the assignment, wait
 *      for `assignmentPersisted(e+1)`;
 *   4. announce RoleChange(leader, e+1) to every replica (and re-broadcast it every
 *      `rebroadcastTicks`, the metadata push that also re-informs restarted replicas).
 * Without a majority within `prepareTimeoutTicks` the partition is reported offline and retried
 * after `retryTicks` with a new epoch — unless `uncleanElection` is set, in which case the best of
 * the promises received is elected (`elected.unclean = true`).
 *
 * Driver order, like PartitionReplica: persist (and report completions), then send, then publish
 * events, then `advance()`.
 */
export class LeaderElection {
  readonly #cfg: ElectionConfig;
  readonly #replicas: readonly number[];
  #highestEpoch: number;
  #leader: number | undefined;
  #epoch: number;
  #phase: ElectionPhase = { kind: 'stable' };
  #live: ReadonlySet<number> = new Set();
  #leaderLost = false;
  #now = 0;
  #lastBroadcastTick = 0;

  #persist: ElectionPersist[] = [];
  #send: Array<{ to: number; msg: PrepareEpoch | RoleChange }> = [];
  #events: ElectionEvent[] = [];

  constructor(restored: RestoredElectionState, config: Partial<ElectionConfig> = {}) {
    assert(restored.replicas.length >= 1 && restored.replicas.length <= REPLICAS_MAX, 'replica set size out of bounds');
    assert(restored.highestEpoch >= restored.epoch, 'highest epoch below the assignment epoch');
    this.#cfg = { ...DEFAULT_ELECTION_CONFIG, ...config };
    this.#replicas = [...restored.replicas];
    this.#highestEpoch = restored.highestEpoch;
    this.#leader = restored.leader;
    this.#epoch = restored.epoch;
  }

  get phase(): ElectionPhase {
    return this.#phase;
  }
  get leader(): number | undefined {
    return this.#leader;
  }
  get epoch(): number {
    return this.#epoch;
  }
  get highestEpoch(): number {
    return this.#highestEpoch;
  }

  hasReady(): boolean {
    return this.#persist.length + this.#send.length + this.#events.length > 0;
  }
  ready(): ElectionReady {
    return { persist: this.#persist, send: this.#send, events: this.#events };
  }
  advance(): void {
    this.#persist = [];
    this.#send = [];
    this.#events = [];
  }

  /** The failure detector's current live set. */
  setLive(live: ReadonlySet<number>): void {
    this.#live = new Set(live);
    this.#maybeStart();
  }

  /** A broker's session ended (it restarted): if it led, its leadership is void. */
  sessionEnded(brokerId: number): void {
    if (brokerId === this.#leader && this.#phase.kind === 'stable') this.#leaderLost = true;
    if (this.#phase.kind === 'preparing') this.#phase.promises.delete(brokerId);
    this.#maybeStart();
  }

  tick(): void {
    this.#now++;
    const ph = this.#phase;
    if (ph.kind === 'preparing') {
      if (this.#now - ph.startTick >= this.#cfg.prepareTimeoutTicks) {
        if (this.#cfg.uncleanElection && ph.promises.size > 0) this.#choose(ph.epoch, ph.promises, true);
        else {
          this.#events.push({ kind: 'offline', epoch: ph.epoch, promises: ph.promises.size });
          this.#phase = { kind: 'offline', sinceTick: this.#now };
        }
      } else if (this.#now - ph.lastSendTick >= this.#cfg.prepareResendTicks) {
        ph.lastSendTick = this.#now;
        this.#sendPrepare(ph.epoch, ph.promises);
      }
    } else if (ph.kind === 'stable' && this.#leader !== undefined && this.#now - this.#lastBroadcastTick >= this.#cfg.rebroadcastTicks) {
      this.#broadcast();
    }
    this.#maybeStart();
  }

  step(msg: ElectionInput): void {
    const ph = this.#phase;
    switch (msg.type) {
      case 'EpochPromise':
        if (ph.kind !== 'preparing' || msg.epoch !== ph.epoch || !this.#replicas.includes(msg.replicaId)) return;
        if (!this.#live.has(msg.replicaId)) return;
        ph.promises.set(msg.replicaId, msg);
        if (ph.promises.size >= this.#majority()) this.#choose(ph.epoch, ph.promises, false);
        return;
      case 'PrepareRejected':
        this.#highestEpoch = Math.max(this.#highestEpoch, msg.promisedEpoch);
        if (ph.kind === 'preparing' && msg.epoch === ph.epoch) this.#start();
        return;
      case 'LeadershipDeclined':
        if (ph.kind === 'stable' && msg.epoch === this.#epoch && msg.replicaId === this.#leader) {
          this.#leaderLost = true;
          this.#maybeStart();
        }
        return;
    }
  }

  epochPersisted(epoch: number): void {
    const ph = this.#phase;
    if (ph.kind !== 'persisting-epoch' || ph.epoch !== epoch) return;
    const promises = new Map<number, EpochPromise>();
    this.#phase = { kind: 'preparing', epoch, promises, startTick: this.#now, lastSendTick: this.#now };
    this.#sendPrepare(epoch, promises);
  }

  assignmentPersisted(epoch: number): void {
    const ph = this.#phase;
    if (ph.kind !== 'persisting-assignment' || ph.epoch !== epoch) return;
    this.#leader = ph.leader;
    this.#epoch = epoch;
    this.#phase = { kind: 'stable' };
    this.#events.push({ kind: 'elected', leader: ph.leader, epoch, unclean: ph.unclean });
    this.#broadcast();
  }

  #majority(): number {
    return Math.floor(this.#replicas.length / 2) + 1;
  }

  #needsElection(): boolean {
    return this.#leader === undefined || this.#leaderLost || !this.#live.has(this.#leader);
  }

  #maybeStart(): void {
    const ph = this.#phase;
    if (ph.kind === 'stable' && this.#needsElection()) this.#start();
    else if (ph.kind === 'offline' && this.#now - ph.sinceTick >= this.#cfg.retryTicks) this.#start();
  }

  #start(): void {
    this.#leaderLost = false;
    this.#leader = undefined;
    if (!this.#replicas.some((id) => this.#live.has(id))) {
      if (this.#phase.kind !== 'offline') this.#events.push({ kind: 'offline', epoch: this.#highestEpoch, promises: 0 });
      this.#phase = { kind: 'offline', sinceTick: this.#now };
      return;
    }
    const epoch = this.#highestEpoch + 1;
    this.#highestEpoch = epoch;
    this.#phase = { kind: 'persisting-epoch', epoch };
    this.#persist.push({ kind: 'highestEpoch', epoch });
    this.#events.push({ kind: 'electing', epoch });
  }

  #sendPrepare(epoch: number, promises: ReadonlyMap<number, EpochPromise>): void {
    for (const id of this.#replicas) {
      if (this.#live.has(id) && !promises.has(id)) this.#send.push({ to: id, msg: { type: 'PrepareEpoch', epoch } });
    }
  }

  #choose(epoch: number, promises: ReadonlyMap<number, EpochPromise>, unclean: boolean): void {
    let best: EpochPromise | undefined;
    for (const id of this.#replicas) {
      const p = promises.get(id);
      if (p === undefined) continue;
      if (best === undefined || p.lastEpoch > best.lastEpoch || (p.lastEpoch === best.lastEpoch && p.logEndOffset > best.logEndOffset)) best = p;
    }
    assert(best !== undefined, 'choose without promises');
    this.#phase = { kind: 'persisting-assignment', epoch, leader: best.replicaId, unclean };
    this.#persist.push({ kind: 'assignment', leader: best.replicaId, epoch, replicas: this.#replicas });
  }

  #broadcast(): void {
    const leader = this.#leader;
    if (leader === undefined) return;
    this.#lastBroadcastTick = this.#now;
    for (const id of this.#replicas) {
      this.#send.push({ to: id, msg: { type: 'RoleChange', epoch: this.#epoch, leader, replicas: this.#replicas } });
    }
  }
}
