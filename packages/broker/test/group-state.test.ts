// GroupState: cooperative rebalancing of one consumer group. Scenarios named for the sentence of
// the protocol they prove, then a seeded simulation with members that behave like real clients;
// every failure names its seed and step, and `runGroupSimulation({ seed, steps, singleTopic })` in
// this file replays it (with `trace: true` for the whole event log).
import { describe, expect, it } from 'vitest';
import { Prng } from '@runnel/replication';
import { parseTpKey, subscribedPartitions, tpKey, type TpKey } from '../src/groups/assignor.js';
import { GroupState, type GroupEffects, type JoinInput } from '../src/groups/group-state.js';

const REVOKE_TIMEOUT_MS = 30_000;
const SESSION_TIMEOUT_MS = 10_000;

const counts = (...entries: Array<[string, number]>): Map<string, number> => new Map(entries);
const join = (memberId: string, topics: string[], owned: TpKey[] = [], sessionTimeoutMs = SESSION_TIMEOUT_MS): JoinInput => ({
  memberId, topics, owned, sessionTimeoutMs, clientId: `client-${memberId}`,
});
const tps = (topic: string, ...partitions: number[]): TpKey[] => partitions.map((p) => tpKey(topic, p));

function group(partitionCounts: Map<string, number>): GroupState {
  const g = new GroupState('g', REVOKE_TIMEOUT_MS);
  g.setPartitionCounts(partitionCounts, 0);
  return g;
}

describe('GroupState scenarios', () => {
  it('cooperative handover: the owner is first asked to revoke; the partition goes to its new owner only after revokeDone', () => {
    const g = group(counts(['t', 4]));
    g.join(join('a', ['t']), 0);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1, 2, 3), revoke: [] });
    expect(g.phase).toBe('Stable');

    const joined = g.join(join('b', ['t']), 100);
    expect([...joined.notify].sort()).toEqual(['a', 'b']);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1, 2, 3), revoke: tps('t', 2, 3) });
    expect(g.view('b')).toEqual({ assigned: [], revoke: [] });
    expect(g.owner.get(tpKey('t', 2))).toBe('a');
    expect(g.phase).toBe('Rebalancing');

    const first = g.revokeDone('a', tps('t', 2), 200);
    expect([...first.notify].sort()).toEqual(['a', 'b']);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1, 3), revoke: tps('t', 3) });
    expect(g.view('b')).toEqual({ assigned: tps('t', 2), revoke: [] });
    expect(g.phase).toBe('Rebalancing');

    // A confirmation from a member that does not own the partition, or of a partition not being revoked, changes nothing.
    expect(g.revokeDone('b', tps('t', 3), 250).notify.size).toBe(0);
    expect(g.revokeDone('a', tps('t', 0), 260).notify.size).toBe(0);

    g.revokeDone('a', tps('t', 3), 300);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1), revoke: [] });
    expect(g.view('b')).toEqual({ assigned: tps('t', 2, 3), revoke: [] });
    expect(g.phase).toBe('Stable');
  });

  it('a member silent for longer than its session timeout is removed at the next tick, and its partitions go to the others at once', () => {
    const g = group(counts(['t', 4]));
    g.join(join('a', ['t']), 0);
    g.join(join('b', ['t'], [], 5_000), 0);
    g.revokeDone('a', tps('t', 2, 3), 0);
    expect(g.view('b').assigned).toEqual(tps('t', 2, 3));
    expect(g.heartbeat('a', 5_000)).toBe(true);
    expect(g.tick(5_000).removed).toEqual([]); // exactly the session timeout: still in
    const effects = g.tick(5_001);
    expect(effects.removed.map((r) => r.id)).toEqual(['b']);
    expect(effects.removed[0]?.reason).toMatch(/session timeout 5000 ms/);
    expect([...effects.notify]).toEqual(['a']);
    expect(g.members.has('b')).toBe(false);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1, 2, 3), revoke: [] });
    expect(g.heartbeat('b', 5_002)).toBe(false);
    expect(g.phase).toBe('Stable');
  });

  it('a member that does not confirm a revocation within revokeTimeoutMs is removed, though it heartbeats', () => {
    const g = group(counts(['t', 4]));
    g.join(join('a', ['t'], [], 300_000), 0);
    g.join(join('b', ['t'], [], 300_000), 1_000);
    expect(g.revoking.get(tpKey('t', 3))).toBe(1_000 + REVOKE_TIMEOUT_MS);
    g.heartbeat('a', 30_000);
    g.heartbeat('b', 30_000);
    expect(g.tick(1_000 + REVOKE_TIMEOUT_MS).removed).toEqual([]);
    const effects = g.tick(1_001 + REVOKE_TIMEOUT_MS);
    expect(effects.removed.map((r) => r.id)).toEqual(['a']);
    expect(effects.removed[0]?.reason).toMatch(/revocation of t\/[23] not confirmed within 30000 ms/);
    expect(g.view('b')).toEqual({ assigned: tps('t', 0, 1, 2, 3), revoke: [] });
    expect(g.revoking.size).toBe(0);
    expect(g.phase).toBe('Stable');
  });

  it('after a coordinator move, free partitions wait for holdUntilMs, while partitions claimed at join are honoured at once', () => {
    const g = new GroupState('g', REVOKE_TIMEOUT_MS);
    g.holdUntilMs = 5_000;
    g.setPartitionCounts(counts(['t', 4]), 0);
    g.join(join('a', ['t'], tps('t', 0, 1)), 0);
    g.join(join('b', ['t']), 10);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1), revoke: [] });
    expect(g.view('b')).toEqual({ assigned: [], revoke: [] });
    expect(g.tick(4_999).notify.size).toBe(0);
    expect(g.owner.has(tpKey('t', 2))).toBe(false);
    expect(g.phase).toBe('Rebalancing');
    g.heartbeat('a', 5_000);
    g.heartbeat('b', 5_000);
    const effects = g.tick(5_000);
    expect([...effects.notify]).toEqual(['b']);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1), revoke: [] });
    expect(g.view('b')).toEqual({ assigned: tps('t', 2, 3), revoke: [] });
    expect(g.phase).toBe('Stable');
  });

  it('a join claiming partitions another member owns does not take them; claims of unsubscribed or missing partitions are ignored', () => {
    const g = group(counts(['t', 4], ['u', 1]));
    g.join(join('a', ['t']), 0);
    g.join(join('c', ['t'], [...tps('t', 0, 1), tpKey('t', 9), tpKey('u', 0)]), 10);
    expect(g.owner.get(tpKey('t', 0))).toBe('a');
    expect(g.owner.get(tpKey('t', 1))).toBe('a');
    expect(g.owner.has(tpKey('t', 9))).toBe(false);
    expect(g.owner.has(tpKey('u', 0))).toBe(false);
    expect(g.view('c')).toEqual({ assigned: [], revoke: [] });
    // The claim did not make a's partitions move: a is asked to revoke only what balance needs.
    expect(g.view('a').revoke).toEqual(tps('t', 2, 3));
  });

  it('a known member joining again keeps what it owns and its claims are ignored', () => {
    const g = group(counts(['t', 2]));
    g.join(join('a', ['t']), 0);
    g.join(join('b', ['t']), 0);
    g.revokeDone('a', tps('t', 1), 0);
    const again = g.join(join('b', ['t'], tps('t', 0)), 50);
    expect(again.notify.size).toBe(0);
    expect(g.owner.get(tpKey('t', 0))).toBe('a');
    expect(g.view('b')).toEqual({ assigned: tps('t', 1), revoke: [] });
  });

  it('deleting a topic drops its partitions from their owners without a revocation', () => {
    const g = group(counts(['x', 2], ['y', 2]));
    g.join(join('a', ['x', 'y']), 0);
    expect(g.view('a').assigned).toEqual([...tps('x', 0, 1), ...tps('y', 0, 1)]);
    const effects = g.setPartitionCounts(counts(['x', 2]), 10);
    expect([...effects.notify]).toEqual(['a']);
    expect(g.view('a')).toEqual({ assigned: tps('x', 0, 1), revoke: [] });
    expect(g.revoking.size).toBe(0);
    expect(g.phase).toBe('Stable');
    // Created again, its partitions are handed out again.
    g.setPartitionCounts(counts(['x', 2], ['y', 1]), 20);
    expect(g.view('a').assigned).toEqual([...tps('x', 0, 1), tpKey('y', 0)]);
  });

  it('a member that drops a topic owns its partitions until it confirms their revocation: the topic stays in the counts the coordinator refreshes', () => {
    const g = group(counts(['x', 2], ['y', 2]));
    g.join(join('a', ['x', 'y']), 0);
    g.join(join('a', ['x']), 10); // the same member, now subscribed to x only
    expect(g.view('a')).toEqual({ assigned: [...tps('x', 0, 1), ...tps('y', 0, 1)], revoke: tps('y', 0, 1) });
    expect(g.subscribedTopics()).toEqual(['x', 'y']);
    // As GroupCoordinator.refreshCounts: counts of the topics the state asks for, plus a joining member's.
    const refresh = (extra: string[], nowMs: number): void => {
      const all = counts(['x', 2], ['y', 2]);
      g.setPartitionCounts(new Map([...new Set([...g.subscribedTopics(), ...extra])].map((t) => [t, all.get(t) ?? 0])), nowMs);
    };
    refresh([], 20);
    expect(g.owner.get(tpKey('y', 0))).toBe('a');
    refresh(['y'], 30);
    g.join(join('b', ['y']), 30);
    expect(g.view('b')).toEqual({ assigned: [], revoke: [] });
    g.revokeDone('a', tps('y', 0, 1), 40);
    expect(g.view('a')).toEqual({ assigned: tps('x', 0, 1), revoke: [] });
    expect(g.view('b')).toEqual({ assigned: tps('y', 0, 1), revoke: [] });
    expect(g.phase).toBe('Stable');
  });

  it('a clean leave frees the member\'s partitions at once, and the last leave empties the group', () => {
    const g = group(counts(['t', 3]));
    g.join(join('a', ['t']), 0);
    g.join(join('b', ['t']), 0);
    g.revokeDone('a', tps('t', 2), 0);
    const effects = g.leave('b', 10);
    expect([...effects.notify]).toEqual(['a']);
    expect(g.view('a')).toEqual({ assigned: tps('t', 0, 1, 2), revoke: [] });
    g.leave('a', 20);
    expect(g.owner.size).toBe(0);
    expect(g.phase).toBe('Empty');
  });
});

// ---------------------------------------------------------------------------------------------
// The simulation.

const TOPIC_POOL = ['a', 'b', 'c'] as const;
const LIVE_MEMBERS_MAX = 8;
const PARTITIONS_MAX = 12;
const SESSION_TIMEOUT_MS_MIN = 1_000;
const SESSION_TIMEOUT_MS_MAX = 10_000;
const ADVANCE_MS_MAX = 3_000;
const DRAIN_ROUNDS_MAX = 50;
const TRACE_TAIL = 12;

interface SimulationOptions {
  readonly seed: number;
  readonly steps: number;
  /** Every member subscribes to topic "a" only (so the end state must be exactly balanced). */
  readonly singleTopic: boolean;
  readonly trace?: boolean;
}

interface SimulationStats {
  joins: number;
  leaves: number;
  crashes: number;
  resubscribes: number;
  coordinatorMoves: number;
  claimsHonoured: number;
  removedSilent: number;
  removedSlowRevocation: number;
  revocationsConfirmed: number;
  handovers: number;
  topicChanges: number;
  stableEnds: number;
}

interface SimulationResult {
  readonly violations: string[];
  readonly stats: SimulationStats;
  readonly trace: string[];
}

interface SimMember {
  readonly id: string;
  topics: string[];
  readonly sessionTimeoutMs: number;
  /** live: heartbeats, applies views, confirms; crashed: does nothing, ever; gone: left or told it was removed. */
  status: 'live' | 'crashed' | 'gone';
  /** Member of the current coordinator's GroupState (false between a coordinator move and its rejoin). */
  joined: boolean;
  rejoinAtMs: number;
  nextHeartbeatMs: number;
  /** What it consumes: assigned minus revoke of the last view it was sent. */
  consumed: Set<TpKey>;
  /** Revocations it has stopped consuming, with when it will confirm them. */
  confirmAtMs: Map<TpKey, number>;
}

class Violation extends Error {}

/** One seeded run: a GroupState driven like the coordinator drives it, with members that behave like clients. */
function runGroupSimulation(options: SimulationOptions): SimulationResult {
  const rng = new Prng(options.seed);
  const pool: readonly string[] = options.singleTopic ? ['a'] : TOPIC_POOL;
  const revokeTimeoutMs = rng.between(500, 20_000);
  const stats: SimulationStats = {
    joins: 0, leaves: 0, crashes: 0, resubscribes: 0, coordinatorMoves: 0, claimsHonoured: 0, removedSilent: 0, removedSlowRevocation: 0,
    revocationsConfirmed: 0, handovers: 0, topicChanges: 0, stableEnds: 0,
  };
  const trace: string[] = [];
  const violations: string[] = [];
  const topics = new Map<string, number>([['a', rng.between(1, PARTITIONS_MAX)]]);
  const members = new Map<string, SimMember>();
  let state = new GroupState('sim', revokeTimeoutMs);
  let countsKey = '';
  let recordedSessionTimeoutMs = 0;
  let nowMs = 0;
  let nextMemberId = 0;
  let draining = false;
  let step = 0;
  let generation = 0;
  const lastConsumer = new Map<TpKey, string>();

  const log = (event: string): void => {
    trace.push(`[step ${step} t=${nowMs}] ${event}`);
  };
  const live = (): SimMember[] => [...members.values()].filter((m) => m.status === 'live');
  const liveJoined = (): SimMember[] => live().filter((m) => m.joined);
  const existingTopics = (): string[] => pool.filter((t) => topics.has(t));
  const randomTopics = (): string[] => {
    const existing = existingTopics();
    if (options.singleTopic || existing.length === 0) return existing;
    const chosen = existing.filter(() => rng.chance(0.5));
    return chosen.length > 0 ? chosen : [rng.pick(existing)];
  };

  /** What a client does with an assignment: consume assigned minus revoke, stop the revoked now, confirm them later. */
  const deliverView = (m: SimMember): void => {
    if (m.status !== 'live' || !m.joined) return;
    const view = state.view(m.id);
    const revoke = new Set(view.revoke);
    m.consumed = new Set(view.assigned.filter((tp) => !revoke.has(tp)));
    for (const tp of [...m.confirmAtMs.keys()]) if (!revoke.has(tp)) m.confirmAtMs.delete(tp);
    for (const tp of revoke) {
      if (m.confirmAtMs.has(tp)) continue;
      let delayMs = rng.int(m.sessionTimeoutMs);
      if (draining) delayMs = Math.min(delayMs, revokeTimeoutMs - 1);
      m.confirmAtMs.set(tp, nowMs + delayMs);
    }
  };

  // Ownership as of the last call, and what justifies a partition leaving its owner in the next one.
  let ownerBefore = new Map<TpKey, string>();
  const confirmed = new Set<TpKey>();
  let leaving: string | undefined;
  /** A partition leaves its owner only when the owner confirmed its revocation, or left or was removed, or the partition no longer exists. */
  const auditHandovers = (effects: GroupEffects): void => {
    const removed = new Set(effects.removed.map((r) => r.id));
    if (leaving !== undefined) removed.add(leaving);
    for (const [tp, was] of ownerBefore) {
      const now = state.owner.get(tp);
      if (now === was || removed.has(was) || confirmed.has(tp)) continue;
      const { topic, partition } = parseTpKey(tp);
      if (partition >= (topics.get(topic) ?? 0)) continue;
      throw new Violation(`${tp} left ${was} (now ${now ?? 'free'}) though ${was} neither confirmed its revocation nor left nor was removed, and the partition still exists`);
    }
    ownerBefore = new Map(state.owner);
    confirmed.clear();
    leaving = undefined;
  };

  /** What the coordinator does with effects: end removed members' sessions, send changed views. */
  const apply = (effects: GroupEffects): void => {
    auditHandovers(effects);
    for (const { id, reason } of effects.removed) {
      log(`removed ${id}: ${reason}`);
      if (reason.startsWith('revocation')) stats.removedSlowRevocation++;
      else stats.removedSilent++;
      const m = members.get(id);
      if (m === undefined) throw new Violation(`removed ${id}, which never joined`);
      if (m.status === 'live') {
        m.status = 'gone';
        m.consumed.clear();
        m.confirmAtMs.clear();
      }
    }
    for (const id of effects.notify) {
      const m = members.get(id);
      if (m === undefined) throw new Violation(`notified ${id}, which never joined`);
      deliverView(m);
    }
  };

  /** As GroupCoordinator.refreshCounts: the counts of the subscribed topics (plus a joining member's) that exist. */
  const refreshCounts = (extra: readonly string[]): void => {
    const counts = new Map<string, number>();
    for (const t of new Set([...state.subscribedTopics(), ...extra])) {
      const n = topics.get(t);
      if (n !== undefined) counts.set(t, n);
    }
    const key = JSON.stringify([...counts]);
    if (key === countsKey) return;
    countsKey = key;
    apply(state.setPartitionCounts(counts, nowMs));
  };

  const tick = (): void => {
    refreshCounts([]);
    apply(state.tick(nowMs));
  };

  /** The coordinator's periodic tick, run before a confirmation only when it has someone to remove (cheaper, same outcome). */
  const tickIfExpired = (): void => {
    const expired = [...state.revoking.values()].some((deadlineMs) => nowMs > deadlineMs)
      || [...state.members.values()].some((m) => nowMs - m.lastSeenMs > m.sessionTimeoutMs);
    if (expired) tick();
  };

  const joinGroup = (m: SimMember, owned: TpKey[]): void => {
    refreshCounts(m.topics);
    recordedSessionTimeoutMs = Math.max(recordedSessionTimeoutMs, m.sessionTimeoutMs);
    m.joined = true;
    m.nextHeartbeatMs = nowMs + Math.floor(m.sessionTimeoutMs / 3);
    const effects = state.join({ memberId: m.id, topics: m.topics, owned, sessionTimeoutMs: m.sessionTimeoutMs, clientId: m.id }, nowMs);
    apply(effects);
    if (!effects.notify.has(m.id)) deliverView(m);
    stats.claimsHonoured += owned.filter((tp) => state.owner.get(tp) === m.id).length;
  };

  const newMember = (): void => {
    const memberTopics = randomTopics();
    if (memberTopics.length === 0) return; // JoinGroup names existing topics only
    const m: SimMember = {
      id: `m${nextMemberId++}`, topics: memberTopics, sessionTimeoutMs: rng.between(SESSION_TIMEOUT_MS_MIN, SESSION_TIMEOUT_MS_MAX),
      status: 'live', joined: false, rejoinAtMs: 0, nextHeartbeatMs: 0, consumed: new Set(), confirmAtMs: new Map(),
    };
    members.set(m.id, m);
    log(`join ${m.id} topics=${m.topics.join(',')} session=${m.sessionTimeoutMs}`);
    stats.joins++;
    joinGroup(m, []);
  };

  const rejoin = (m: SimMember): void => {
    // After a coordinator move: the same member id, claiming what it still consumes.
    m.topics = m.topics.filter((t) => topics.has(t));
    if (m.topics.length === 0) {
      log(`${m.id} cannot rejoin (its topics are gone) and stops`);
      m.status = 'gone';
      m.consumed.clear();
      return;
    }
    const owned = [...m.consumed].filter((tp) => m.topics.includes(parseTpKey(tp).topic)).sort();
    log(`rejoin ${m.id} topics=${m.topics.join(',')} owned=${owned.join(',')}`);
    joinGroup(m, owned);
  };

  /** Time passes: members heartbeat, confirm and rejoin when due; the coordinator ticks before a rejoin, before a confirmation when someone is overdue, and at the end. */
  const advance = (durationMs: number): void => {
    const endMs = nowMs + durationMs;
    for (;;) {
      let next: { atMs: number; run: () => void; changes: boolean } | undefined;
      const consider = (atMs: number, run: () => void, changes = true): void => {
        if (atMs <= endMs && (next === undefined || atMs < next.atMs)) next = { atMs, run, changes };
      };
      for (const m of live()) {
        if (!m.joined) {
          consider(m.rejoinAtMs, () => {
            tick();
            if (m.status === 'live') rejoin(m);
          });
          continue;
        }
        consider(m.nextHeartbeatMs, () => {
          m.nextHeartbeatMs = nowMs + Math.floor(m.sessionTimeoutMs / 3);
          if (!state.heartbeat(m.id, nowMs)) throw new Violation(`live member ${m.id} heartbeats but the group does not know it (removed without telling it)`);
        }, false);
        const due = [...m.confirmAtMs.entries()].sort((x, y) => x[1] - y[1])[0];
        if (due !== undefined) {
          consider(due[1], () => {
            tickIfExpired();
            if (m.status !== 'live') return;
            const ready = [...m.confirmAtMs].filter(([, atMs]) => atMs <= nowMs).map(([tp]) => tp).sort();
            for (const tp of ready) m.confirmAtMs.delete(tp);
            log(`${m.id} revokeDone ${ready.join(',')}`);
            state.heartbeat(m.id, nowMs); // as the session handler does on `revoked`
            const before = ready.filter((tp) => state.owner.get(tp) === m.id && state.revoking.has(tp)).length;
            for (const tp of ready) if (state.owner.get(tp) === m.id && state.revoking.has(tp)) confirmed.add(tp);
            apply(state.revokeDone(m.id, ready, nowMs));
            stats.revocationsConfirmed += before;
          });
        }
      }
      if (next === undefined) break;
      nowMs = Math.max(nowMs, next.atMs);
      next.run();
      if (next.changes) check(); // a heartbeat changes no ownership
    }
    nowMs = endMs;
    tick();
  };

  const check = (): void => {
    const consumer = new Map<TpKey, string>();
    for (const m of live()) {
      for (const tp of m.consumed) {
        const other = consumer.get(tp);
        if (other !== undefined) throw new Violation(`${tp} is consumed by ${other} and ${m.id} at once`);
        consumer.set(tp, m.id);
      }
    }
    for (const [tp, id] of consumer) {
      const before = lastConsumer.get(tp);
      if (before !== undefined && before !== id) stats.handovers++;
      lastConsumer.set(tp, id);
    }
    for (const [tp, owner] of state.owner) {
      const m = state.members.get(owner);
      if (m === undefined) throw new Violation(`owner of ${tp} is ${owner}, not a member`);
      if (!m.topics.includes(parseTpKey(tp).topic) && !state.revoking.has(tp)) throw new Violation(`${owner} owns ${tp} without subscribing to its topic, and is not asked to revoke it`);
    }
    for (const tp of state.revoking.keys()) if (!state.owner.has(tp)) throw new Violation(`${tp} is being revoked but has no owner`);
    for (const m of liveJoined()) {
      if (!state.members.has(m.id)) throw new Violation(`live member ${m.id} was removed without being told`);
      const view = state.view(m.id);
      const expected = view.assigned.filter((tp) => !view.revoke.includes(tp));
      if (expected.length !== m.consumed.size || expected.some((tp) => !m.consumed.has(tp))) {
        throw new Violation(`${m.id} consumes ${[...m.consumed].sort().join(',')} but its view is ${JSON.stringify(view)}: a change was not notified`);
      }
    }
    if (state.generation < generation) throw new Violation(`generation went back from ${generation} to ${state.generation}`);
    generation = state.generation;
  };

  const events: Array<{ weight: number; run: () => void }> = [
    { weight: 20, run: () => {
      if (live().length < LIVE_MEMBERS_MAX) newMember();
    } },
    { weight: 6, run: () => {
      const candidates = liveJoined();
      if (candidates.length === 0) return;
      const m = rng.pick(candidates);
      log(`leave ${m.id}`);
      stats.leaves++;
      m.status = 'gone';
      m.consumed.clear();
      m.confirmAtMs.clear();
      leaving = m.id;
      apply(state.leave(m.id, nowMs));
    } },
    { weight: 5, run: () => {
      const candidates = live();
      if (candidates.length === 0) return;
      const m = rng.pick(candidates);
      log(`crash ${m.id}`);
      stats.crashes++;
      m.status = 'crashed';
    } },
    { weight: 10, run: () => {
      const candidates = liveJoined();
      if (candidates.length === 0) return;
      const m = rng.pick(candidates);
      if (!state.heartbeat(m.id, nowMs)) throw new Violation(`live member ${m.id} heartbeats but the group does not know it`);
    } },
    { weight: 35, run: () => {
      const durationMs = rng.between(0, ADVANCE_MS_MAX);
      log(`advance ${durationMs} ms`);
      advance(durationMs);
    } },
    { weight: 7, run: () => {
      const t = rng.pick(pool);
      const n = topics.get(t);
      if (n !== undefined && rng.chance(0.4)) {
        topics.delete(t);
        log(`topic ${t} deleted`);
      } else if (n !== undefined) {
        topics.set(t, Math.min(PARTITIONS_MAX, n + rng.between(1, 4)));
        log(`topic ${t} grows to ${topics.get(t)} partitions`);
      } else {
        topics.set(t, rng.between(1, PARTITIONS_MAX));
        log(`topic ${t} created with ${topics.get(t)} partitions`);
      }
      stats.topicChanges++;
      refreshCounts([]);
    } },
    { weight: options.singleTopic ? 0 : 3, run: () => {
      const candidates = liveJoined();
      const newTopics = randomTopics();
      if (candidates.length === 0 || newTopics.length === 0) return;
      const m = rng.pick(candidates);
      m.topics = newTopics;
      log(`resubscribe ${m.id} topics=${m.topics.join(',')}`);
      stats.resubscribes++;
      joinGroup(m, [...m.consumed]);
    } },
    { weight: 2, run: () => {
      // The coordinator moves: a fresh GroupState holding free partitions for a session timeout;
      // live members keep consuming until they rejoin, naming what they consume.
      log('coordinator moves');
      stats.coordinatorMoves++;
      state = new GroupState('sim', revokeTimeoutMs);
      ownerBefore = new Map();
      state.holdUntilMs = nowMs + recordedSessionTimeoutMs;
      countsKey = '';
      generation = 0;
      for (const m of live()) {
        m.joined = false;
        m.confirmAtMs.clear();
        m.rejoinAtMs = nowMs + rng.int(Math.floor(m.sessionTimeoutMs / 3) + 1);
      }
    } },
  ];
  const totalWeight = events.reduce((sum, e) => sum + e.weight, 0);

  try {
    for (step = 1; step <= options.steps; step++) {
      let r = rng.int(totalWeight);
      const event = events.find((e) => (r -= e.weight) < 0);
      event?.run();
      check();
    }
    // The events stop: pending confirmations arrive, crashed members time out, holds pass.
    draining = true;
    if (!topics.has('a')) {
      topics.set('a', rng.between(1, PARTITIONS_MAX));
      log('topic a created for the end state');
      refreshCounts([]);
    }
    for (let round = 0; ; round++) {
      step = options.steps + round + 1;
      if (liveJoined().length === 0 && live().length === 0) newMember();
      const settled = state.phase === 'Stable' && nowMs >= state.holdUntilMs && live().every((m) => m.joined && m.confirmAtMs.size === 0)
        && [...state.members.keys()].every((id) => members.get(id)?.status === 'live');
      if (settled) break;
      if (round >= DRAIN_ROUNDS_MAX) throw new Violation(`not settled after ${DRAIN_ROUNDS_MAX} rounds: phase ${state.phase}, revoking ${[...state.revoking.keys()].join(',')}`);
      advance(SESSION_TIMEOUT_MS_MAX + 1);
      check();
    }
    // The end state: every partition of a subscribed topic owned by a member subscribing to it, balanced.
    const counts = new Map(state.subscribedTopics().filter((t) => topics.has(t)).map((t) => [t, topics.get(t) ?? 0]));
    const groupMembers = [...state.members.values()];
    const wanted = subscribedPartitions(groupMembers, counts);
    if (JSON.stringify([...state.owner.keys()].sort()) !== JSON.stringify([...wanted].sort())) {
      throw new Violation(`end state owns ${[...state.owner.keys()].sort().join(',')}; subscribed partitions are ${[...wanted].sort().join(',')}`);
    }
    const owned = new Map(groupMembers.map((m) => [m.id, 0]));
    for (const id of state.owner.values()) owned.set(id, (owned.get(id) ?? 0) + 1);
    for (const [tp, id] of state.owner) {
      const { topic } = parseTpKey(tp);
      if (state.members.get(id)?.topics.includes(topic) !== true) throw new Violation(`end state: ${id} owns ${tp} without subscribing to ${topic}`);
      for (const m of groupMembers) {
        if (m.topics.includes(topic) && (owned.get(id) ?? 0) >= (owned.get(m.id) ?? 0) + 2) {
          throw new Violation(`end state unbalanced: ${id} owns ${owned.get(id)} though ${m.id}, also subscribed to ${topic}, owns ${owned.get(m.id)}`);
        }
      }
    }
    if (options.singleTopic && groupMembers.length > 0) {
      const values = [...owned.values()];
      if (Math.max(...values) - Math.min(...values) > 1) throw new Violation(`end state unbalanced: ${JSON.stringify([...owned])}`);
    }
    stats.stableEnds++;
  } catch (err) {
    if (!(err instanceof Violation)) throw err;
    const tail = trace.slice(-TRACE_TAIL).join('\n    ');
    violations.push(`seed ${options.seed} step ${step}: ${err.message}\n  replay: runGroupSimulation(${JSON.stringify({ seed: options.seed, steps: options.steps, singleTopic: options.singleTopic, trace: true })})\n  last events:\n    ${tail}`);
  }
  return { violations, stats, trace: options.trace === true ? trace : [] };
}

function sweep(first: number, count: number, steps: number, singleTopic: boolean): { failures: string[]; totals: SimulationStats } {
  const failures: string[] = [];
  let totals: SimulationStats | undefined;
  for (let seed = first; seed < first + count; seed++) {
    const r = runGroupSimulation({ seed, steps, singleTopic });
    failures.push(...r.violations);
    if (totals === undefined) totals = { ...r.stats };
    else for (const k of Object.keys(totals) as Array<keyof SimulationStats>) totals[k] += r.stats[k];
  }
  if (failures.length > 0) console.error(failures.slice(0, 5).join('\n'));
  if (totals === undefined) throw new Error('no seeds');
  return { failures, totals };
}

describe('GroupState simulation: no partition is consumed twice, and the group settles balanced', () => {
  it('three topics, random subscriptions: 200 seeds x 300 steps', () => {
    const { failures, totals } = sweep(1, 200, 300, false);
    expect(failures).toEqual([]);
    expect(totals.stableEnds).toBe(200);
    // The runs must exercise every path, not idle.
    expect(totals.handovers).toBeGreaterThan(15_000);
    expect(totals.revocationsConfirmed).toBeGreaterThan(5_000);
    expect(totals.removedSilent).toBeGreaterThan(1_000);
    expect(totals.removedSlowRevocation).toBeGreaterThan(300);
    expect(totals.coordinatorMoves).toBeGreaterThan(600);
    expect(totals.claimsHonoured).toBeGreaterThan(5_000);
    expect(totals.resubscribes).toBeGreaterThan(800);
    expect(totals.topicChanges).toBeGreaterThan(2_000);
  });

  it('one topic, all subscribed (the end state is exactly balanced): 200 seeds x 300 steps', () => {
    const { failures, totals } = sweep(10_001, 200, 300, true);
    expect(failures).toEqual([]);
    expect(totals.stableEnds).toBe(200);
    expect(totals.handovers).toBeGreaterThan(10_000);
    expect(totals.revocationsConfirmed).toBeGreaterThan(1_500);
    expect(totals.removedSlowRevocation).toBeGreaterThan(150);
    expect(totals.claimsHonoured).toBeGreaterThan(2_000);
  });

  it('the same seed replays the same run', () => {
    const a = runGroupSimulation({ seed: 7, steps: 300, singleTopic: false, trace: true });
    const b = runGroupSimulation({ seed: 7, steps: 300, singleTopic: false, trace: true });
    expect(a.trace.length).toBeGreaterThan(100);
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
  });
});
