import { parseTpKey, subscribedPartitions, targetAssignment, type TpKey } from './assignor.js';

/**
 * One consumer group's membership and cooperative assignment, as a pure state machine: events in
 * (join, heartbeat, revocation done, leave, time passing, partition counts), effects out (which
 * members' assignments changed, which members were removed). The group coordinator does the I/O.
 *
 * Ownership is what members actually consume. A partition changes owner in two steps: the owner
 * is asked to revoke it (it stays the owner meanwhile), and only after the owner confirms (or is
 * removed for silence) does the partition become free and go to its target. Partitions that
 * do not move are never touched, so members keep consuming them during a rebalance.
 */

export interface GroupMemberState {
  readonly id: string;
  topics: readonly string[];
  clientId: string;
  sessionTimeoutMs: number;
  /** Last join or heartbeat (the session timeout runs from here). */
  lastSeenMs: number;
}

export interface GroupEffects {
  /** Members whose view (assigned / revoke) changed: send them their new assignment. */
  readonly notify: Set<string>;
  /** Members removed by the group (silence, revocation not confirmed in time). */
  readonly removed: Array<{ readonly id: string; readonly reason: string }>;
}

export interface MemberView {
  readonly assigned: TpKey[];
  readonly revoke: TpKey[];
}

export interface JoinInput {
  readonly memberId: string;
  readonly topics: readonly string[];
  /** Partitions the member says it still consumes (honoured only for a member this state does not know). */
  readonly owned: readonly TpKey[];
  readonly sessionTimeoutMs: number;
  readonly clientId: string;
}

export type GroupPhase = 'Empty' | 'Stable' | 'Rebalancing';

const sameView = (a: MemberView | undefined, b: MemberView | undefined): boolean =>
  a !== undefined && b !== undefined && a.assigned.join(',') === b.assigned.join(',') && a.revoke.join(',') === b.revoke.join(',');

const tpOrder = (a: TpKey, b: TpKey): number => {
  const x = parseTpKey(a);
  const y = parseTpKey(b);
  return x.topic === y.topic ? x.partition - y.partition : x.topic < y.topic ? -1 : 1;
};

export class GroupState {
  generation = 0;
  readonly members = new Map<string, GroupMemberState>();
  /** Who consumes each partition now. */
  readonly owner = new Map<TpKey, string>();
  /** Owned partitions whose owner was asked to give them up: deadline for its confirmation. */
  readonly revoking = new Map<TpKey, number>();
  /** Free partitions are not handed out before this time (members of a previous coordinator may still hold them). */
  holdUntilMs = 0;
  private partitionCounts = new Map<string, number>();

  constructor(
    readonly name: string,
    /** Longest a member may take to confirm a revocation before it is removed. */
    private readonly revokeTimeoutMs: number,
  ) {}

  get phase(): GroupPhase {
    if (this.members.size === 0) return 'Empty';
    if (this.revoking.size > 0) return 'Rebalancing';
    const target = this.target();
    for (const tp of subscribedPartitions([...this.members.values()], this.partitionCounts)) {
      if (this.owner.get(tp) !== target.get(tp)) return 'Rebalancing';
    }
    return 'Stable';
  }

  /**
   * Topics whose partition counts the group needs: those some member subscribes to, and those of
   * partitions still owned (a member that dropped a topic owns its partitions until it confirms
   * their revocation; leaving the topic out of the counts would drop them unconfirmed).
   */
  subscribedTopics(): string[] {
    const topics = new Set([...this.members.values()].flatMap((m) => m.topics));
    for (const tp of this.owner.keys()) topics.add(parseTpKey(tp).topic);
    return [...topics].sort();
  }

  view(memberId: string): MemberView {
    const assigned: TpKey[] = [];
    const revoke: TpKey[] = [];
    for (const [tp, owner] of this.owner) {
      if (owner !== memberId) continue;
      assigned.push(tp);
      if (this.revoking.has(tp)) revoke.push(tp);
    }
    return { assigned: assigned.sort(tpOrder), revoke: revoke.sort(tpOrder) };
  }

  owns(memberId: string, tp: TpKey): boolean {
    return this.owner.get(tp) === memberId;
  }

  join(input: JoinInput, nowMs: number): GroupEffects {
    return this.change(nowMs, () => {
      const known = this.members.get(input.memberId);
      if (known !== undefined) {
        known.topics = [...input.topics];
        known.clientId = input.clientId;
        known.sessionTimeoutMs = input.sessionTimeoutMs;
        known.lastSeenMs = nowMs;
        return;
      }
      this.members.set(input.memberId, {
        id: input.memberId, topics: [...input.topics], clientId: input.clientId, sessionTimeoutMs: input.sessionTimeoutMs, lastSeenMs: nowMs,
      });
      // A member of a previous coordinator keeps what it still consumes, unless someone else has it.
      for (const tp of input.owned) {
        if (this.owner.has(tp) || !this.exists(tp) || !input.topics.includes(parseTpKey(tp).topic)) continue;
        this.owner.set(tp, input.memberId);
      }
    });
  }

  /** Returns false for an unknown member. */
  heartbeat(memberId: string, nowMs: number): boolean {
    const m = this.members.get(memberId);
    if (m === undefined) return false;
    m.lastSeenMs = nowMs;
    return true;
  }

  revokeDone(memberId: string, tps: readonly TpKey[], nowMs: number): GroupEffects {
    return this.change(nowMs, () => {
      for (const tp of tps) {
        if (this.owner.get(tp) === memberId && this.revoking.has(tp)) {
          this.owner.delete(tp);
          this.revoking.delete(tp);
        }
      }
    });
  }

  leave(memberId: string, nowMs: number): GroupEffects {
    return this.change(nowMs, () => this.remove(memberId));
  }

  /** Removes members silent for their session timeout and those that did not confirm a revocation in time. */
  tick(nowMs: number): GroupEffects {
    const removed: Array<{ id: string; reason: string }> = [];
    const effects = this.change(nowMs, () => {
      for (const m of [...this.members.values()]) {
        if (nowMs - m.lastSeenMs > m.sessionTimeoutMs) {
          removed.push({ id: m.id, reason: `no heartbeat for ${nowMs - m.lastSeenMs} ms (session timeout ${m.sessionTimeoutMs} ms)` });
          this.remove(m.id);
        }
      }
      for (const [tp, deadline] of this.revoking) {
        const owner = this.owner.get(tp);
        if (owner !== undefined && nowMs > deadline && this.members.has(owner)) {
          removed.push({ id: owner, reason: `revocation of ${tp} not confirmed within ${this.revokeTimeoutMs} ms` });
          this.remove(owner);
        }
      }
    });
    effects.removed.push(...removed);
    return effects;
  }

  /** Partition counts of the subscribed topics (a topic missing here no longer exists). */
  setPartitionCounts(counts: ReadonlyMap<string, number>, nowMs: number): GroupEffects {
    return this.change(nowMs, () => {
      this.partitionCounts = new Map(counts);
    });
  }

  private exists(tp: TpKey): boolean {
    const { topic, partition } = parseTpKey(tp);
    return partition < (this.partitionCounts.get(topic) ?? 0);
  }

  private remove(memberId: string): void {
    if (!this.members.delete(memberId)) return;
    for (const [tp, owner] of [...this.owner]) {
      if (owner !== memberId) continue;
      this.owner.delete(tp);
      this.revoking.delete(tp);
    }
  }

  private target(): Map<TpKey, string> {
    return targetAssignment({ members: [...this.members.values()], partitionCounts: this.partitionCounts, current: this.owner });
  }

  /** Runs `mutate`, then moves the assignment one step toward the target; reports changed views. */
  private change(nowMs: number, mutate: () => void): GroupEffects {
    const before = new Map([...this.members.keys()].map((id) => [id, this.view(id)]));
    const ownersBefore = JSON.stringify([...this.owner, ...this.revoking]);
    mutate();
    this.step(nowMs);
    const notify = new Set<string>();
    for (const id of this.members.keys()) {
      if (!sameView(before.get(id), this.view(id))) notify.add(id);
    }
    if (JSON.stringify([...this.owner, ...this.revoking]) !== ownersBefore) this.generation++;
    return { notify, removed: [] };
  }

  private step(nowMs: number): void {
    // Partitions of deleted topics are simply dropped: nobody can consume them any more.
    for (const tp of [...this.owner.keys()]) {
      if (!this.exists(tp)) {
        this.owner.delete(tp);
        this.revoking.delete(tp);
      }
    }
    const target = this.target();
    for (const [tp, owner] of this.owner) {
      if (target.get(tp) !== owner && !this.revoking.has(tp)) {
        this.revoking.set(tp, nowMs + this.revokeTimeoutMs);
      }
    }
    if (nowMs < this.holdUntilMs) return;
    for (const [tp, to] of target) {
      if (!this.owner.has(tp)) this.owner.set(tp, to);
    }
  }
}
