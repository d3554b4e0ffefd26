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

/**
 * A leadership move of a partition whose leader is fine (controlled shutdown, preferred-leader
 * rebalancing): a normal election at `e+1` with one of these constraints.
 */
export interface TransferOptions {
  /**
   * Not a candidate (a broker shutting down). The new leader is the greatest (lastEpoch, LEO)
   * among the promises of the OTHER replicas, chosen only once those promises alone are a majority
   * of the replica set — so every committed batch (on a majority) is on one of them. PrepareEpoch
   * still goes to it (promising fences it at once); if the others cannot form a majority before the
   * prepare timeout, a normal choice among all promises is made (possibly it again).
   */
  readonly exclude?: number;
  /**
   * Preferred-leader rebalancing: wait (up to the prepare timeout) for this replica's promise as
   * well as a majority, then choose as usual with ties going to it. It only wins when it is as up to
   * date as the best promiser; otherwise the best keeps (re-takes) the leadership.
   */
  readonly prefer?: number;
}

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
  /** Constraints of the election in progress, when it is a transfer. */
  #transfer: TransferOptions | undefined;
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

  /**
   * The failure detector's current live set. An offline partition is retried at once when one of
   * its replicas became live (a membership change), not only after `retryTicks`.
   */
  setLive(live: ReadonlySet<number>): void {
    const returned = this.#replicas.some((id) => live.has(id) && !this.#live.has(id));
    this.#live = new Set(live);
    if (returned && this.#phase.kind === 'offline') this.#start();
    else this.#maybeStart();
  }

  /**
   * A broker's session ended (it restarted): if it led, its leadership is void; an offline
   * partition it replicates is retried at once (it may be back as a new process).
   */
  sessionEnded(brokerId: number): void {
    if (brokerId === this.#leader && this.#phase.kind === 'stable') this.#leaderLost = true;
    if (this.#phase.kind === 'preparing') this.#phase.promises.delete(brokerId);
    if (this.#phase.kind === 'offline' && this.#replicas.includes(brokerId)) this.#start();
    else this.#maybeStart();
  }

  /**
   * Moves the leadership of a stable partition (see {@link TransferOptions}); returns false, doing
   * nothing, when the partition is not stable with a leader, or when the move cannot succeed:
   * with `exclude`, fewer live other replicas than a majority; with `prefer`, the preferred replica
   * is not live, not a replica, or already the leader.
   */
  transfer(opts: TransferOptions): boolean {
    if (this.#phase.kind !== 'stable' || this.#leader === undefined || this.#needsElection()) return false;
    const { exclude, prefer } = opts;
    if (exclude !== undefined) {
      const others = this.#replicas.filter((id) => id !== exclude && this.#live.has(id)).length;
      if (others < this.#majority()) return false;
    }
    if (prefer !== undefined && (prefer === this.#leader || prefer === exclude || !this.#replicas.includes(prefer) || !this.#live.has(prefer))) return false;
    this.#start();
    if ((this.#phase as ElectionPhase).kind !== 'persisting-epoch') return false; // no replica live: offline
    this.#transfer = opts;
    return true;
  }

  tick(): void {
    this.#now++;
    const ph = this.#phase;
    if (ph.kind === 'preparing') {
      if (this.#now - ph.startTick >= this.#cfg.prepareTimeoutTicks) {
        // A transfer that could not get its preferred outcome in time falls back to the majority rule.
        if (this.#tryChoose(ph.epoch, ph.promises, true)) {
          // chosen
        } else if (this.#cfg.uncleanElection && ph.promises.size > 0) this.#choose(ph.epoch, ph.promises, true);
        else {
          this.#transfer = undefined;
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
        this.#tryChoose(ph.epoch, ph.promises, false);
        return;
      case 'PrepareRejected':
        this.#highestEpoch = Math.max(this.#highestEpoch, msg.promisedEpoch);
        if (ph.kind === 'preparing' && msg.epoch === ph.epoch) {
          const transfer = this.#transfer;
          this.#start();
          if (this.#phase.kind === 'persisting-epoch') this.#transfer = transfer;
        }
        return;
      case 'LeadershipDeclined':
        if (ph.kind === 'stable' && msg.epoch === this.#epoch && msg.replicaId === this.#leader) {
          this.#leaderLost = true;
          this.#maybeStart();
        }
        return;
      case 'LeaderIsolated':
        // Moved away only when the other replicas can form a majority without it (transfer checks
        // it); else it stays: a leader cut from everyone still serves lower ack levels.
        if (ph.kind === 'stable' && msg.epoch === this.#epoch && msg.replicaId === this.#leader) this.transfer({ exclude: msg.replicaId });
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
    this.#transfer = undefined;
    this.#leader = undefined;
    if (!this.#replicas.some((id) => this.#live.has(id))) {
      if (this.#phase.kind !== 'offline') this.#events.push({ kind: 'offline', epoch: this.#highestEpoch, promises: 0 });
      this.#phase = { kind: 'offline', sinceTick: this.#now };
      return;
    }
    const epoch = this.#highestEpoch + 1;
    this.#highestEpoch = epoch;
    this.#phase = { kind: 'persisting-epoch', epoch };
    // A partition's first election (no leader ever: every log is empty) waits for its preferred
    // replica like a rebalancing would, so new partitions start on the leaders assignment spread.
    const preferred = this.#replicas[0];
    if (this.#epoch === 0 && preferred !== undefined && this.#live.has(preferred)) this.#transfer = { prefer: preferred };
    this.#persist.push({ kind: 'highestEpoch', epoch });
    this.#events.push({ kind: 'electing', epoch });
  }

  #sendPrepare(epoch: number, promises: ReadonlyMap<number, EpochPromise>): void {
    for (const id of this.#replicas) {
      if (this.#live.has(id) && !promises.has(id)) this.#send.push({ to: id, msg: { type: 'PrepareEpoch', epoch } });
    }
  }

  /**
   * Chooses when the promises allow a clean choice: a majority of the replica set (for a transfer
   * with `exclude`: a majority without the excluded replica; with `prefer`: also the preferred
   * replica's promise or every live replica's). After the prepare timeout (`timedOut`), a transfer
   * falls back to the plain majority rule. Returns whether it chose.
   */
  #tryChoose(epoch: number, promises: ReadonlyMap<number, EpochPromise>, timedOut: boolean): boolean {
    const majority = this.#majority();
    const t = this.#transfer;
    if (t?.exclude !== undefined) {
      const others = new Map([...promises].filter(([id]) => id !== t.exclude));
      if (others.size >= majority) {
        this.#choose(epoch, others, false);
        return true;
      }
      if (!timedOut) return false;
    }
    if (promises.size < majority) return false;
    if (t?.prefer !== undefined && !timedOut && !promises.has(t.prefer)) {
      const waiting = this.#replicas.some((id) => this.#live.has(id) && !promises.has(id));
      if (waiting) return false;
    }
    this.#choose(epoch, promises, false);
    return true;
  }

  #choose(epoch: number, promises: ReadonlyMap<number, EpochPromise>, unclean: boolean): void {
    let best: EpochPromise | undefined;
    const prefer = this.#transfer?.prefer;
    this.#transfer = undefined;
    // Ties go to the earliest in this order: the preferred replica of a rebalancing, then replica order.
    const order = prefer === undefined ? this.#replicas : [prefer, ...this.#replicas.filter((id) => id !== prefer)];
    for (const id of order) {
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
