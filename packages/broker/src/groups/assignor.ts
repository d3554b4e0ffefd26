/**
 * The sticky target assignment of a consumer group (pure): who should own each partition.
 *
 * Sticky: a partition stays with its current owner while that owner is a member subscribed to
 * its topic, unless balance needs it elsewhere. Balanced: no member eligible for a partition owns
 * two more partitions than another member eligible for it. Only the partitions that must move
 * move, so a join of a 4th member to 3 members sharing 12 partitions moves exactly 3.
 * Deterministic: the same input always gives the same answer (ties break on member id, then on
 * topic and partition).
 */

/** `topic/partition`: topic names cannot contain "/". */
export type TpKey = string;

export function tpKey(topic: string, partition: number): TpKey {
  return `${topic}/${partition}`;
}

export function parseTpKey(key: TpKey): { topic: string; partition: number } {
  const slash = key.lastIndexOf('/');
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) };
}

export interface AssignorMember {
  readonly id: string;
  readonly topics: readonly string[];
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[];
  /** Partition count per subscribed topic (topics missing here have no partitions to assign). */
  readonly partitionCounts: ReadonlyMap<string, number>;
  /** Current owner of each partition (owners that are no longer members are ignored). */
  readonly current: ReadonlyMap<TpKey, string>;
}

const byId = (a: AssignorMember, b: AssignorMember): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Every partition of every topic some member subscribes to, in topic then partition order. */
export function subscribedPartitions(members: readonly AssignorMember[], partitionCounts: ReadonlyMap<string, number>): TpKey[] {
  const topics = [...new Set(members.flatMap((m) => m.topics))].filter((t) => partitionCounts.has(t)).sort();
  const out: TpKey[] = [];
  for (const t of topics) {
    const n = partitionCounts.get(t) ?? 0;
    for (let p = 0; p < n; p++) out.push(tpKey(t, p));
  }
  return out;
}

export function targetAssignment(input: AssignorInput): Map<TpKey, string> {
  const members = [...input.members].sort(byId);
  const subscribed = new Map(members.map((m) => [m.id, new Set(m.topics)]));
  const counts = new Map(members.map((m) => [m.id, 0]));
  const target = new Map<TpKey, string>();
  const all = subscribedPartitions(members, input.partitionCounts);
  const eligible = new Map<TpKey, AssignorMember[]>();
  for (const tp of all) {
    const { topic } = parseTpKey(tp);
    eligible.set(tp, members.filter((m) => subscribed.get(m.id)?.has(topic) === true));
  }
  const give = (tp: TpKey, id: string): void => {
    const prev = target.get(tp);
    if (prev !== undefined) counts.set(prev, (counts.get(prev) ?? 0) - 1);
    target.set(tp, id);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  };
  // 1. Keep what current owners may keep.
  for (const tp of all) {
    const owner = input.current.get(tp);
    if (owner !== undefined && (eligible.get(tp) ?? []).some((m) => m.id === owner)) give(tp, owner);
  }
  // 2. Hand out the rest, each to the least loaded eligible member.
  const leastLoaded = (candidates: readonly AssignorMember[]): AssignorMember | undefined => {
    let best: AssignorMember | undefined;
    for (const m of candidates) if (best === undefined || (counts.get(m.id) ?? 0) < (counts.get(best.id) ?? 0)) best = m;
    return best;
  };
  for (const tp of all) {
    if (target.has(tp)) continue;
    const m = leastLoaded(eligible.get(tp) ?? []);
    if (m !== undefined) give(tp, m.id);
  }
  // 3. Balance: move one partition at a time from a member to an eligible one with at least two
  //    fewer, highest partition first (low partitions stay put). Each move lowers the sum of
  //    squared counts, so this ends; the bound is a safety net.
  for (let moves = 0; moves <= all.length * Math.max(1, members.length); moves++) {
    let moved = false;
    const donors = [...members].sort((a, b) => (counts.get(b.id) ?? 0) - (counts.get(a.id) ?? 0) || byId(a, b));
    for (const donor of donors) {
      const owned = all.filter((tp) => target.get(tp) === donor.id).reverse();
      for (const tp of owned) {
        const receiver = leastLoaded(eligible.get(tp) ?? []);
        if (receiver !== undefined && (counts.get(receiver.id) ?? 0) + 1 < (counts.get(donor.id) ?? 0)) {
          give(tp, receiver.id);
          moved = true;
          break;
        }
      }
      if (moved) break;
    }
    if (!moved) break;
  }
  return target;
}
