// The sticky, balanced target assignment of a consumer group (assignor.ts), sentence by sentence
// of its doc comment, then a property sweep over seeded random inputs (every failure names its seed).
import { describe, expect, it } from 'vitest';
import { Prng } from '@runnel/replication';
import { parseTpKey, subscribedPartitions, targetAssignment, tpKey, type AssignorInput, type AssignorMember, type TpKey } from '../src/groups/assignor.js';

const member = (id: string, ...topics: string[]): AssignorMember => ({ id, topics });

function countsOf(target: ReadonlyMap<TpKey, string>, ids: readonly string[]): Map<string, number> {
  const counts = new Map(ids.map((id) => [id, 0]));
  for (const owner of target.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return counts;
}

/** Partitions whose owner in `current` is still a member and is not their owner in `target`. */
function moved(input: AssignorInput, target: ReadonlyMap<TpKey, string>): TpKey[] {
  const ids = new Set(input.members.map((m) => m.id));
  const out: TpKey[] = [];
  for (const [tp, owner] of target) {
    const before = input.current.get(tp);
    if (before !== undefined && ids.has(before) && before !== owner) out.push(tp);
  }
  return out.sort();
}

/**
 * The fewest moves any balanced assignment of one topic needs: members keep min(owned, quota),
 * the larger quota (ceil) going to the members that own the most now.
 */
function minimumMoves(input: AssignorInput, topic: string, partitions: number): number {
  const ids = input.members.map((m) => m.id);
  const owned = new Map(ids.map((id) => [id, 0]));
  for (const [tp, owner] of input.current) {
    const tpParsed = parseTpKey(tp);
    if (owned.has(owner) && tpParsed.topic === topic && tpParsed.partition < partitions) owned.set(owner, (owned.get(owner) ?? 0) + 1);
  }
  const sorted = [...owned.values()].sort((a, b) => b - a);
  const floor = Math.floor(partitions / ids.length);
  const ceilCount = partitions % ids.length;
  let kept = 0;
  sorted.forEach((c, i) => {
    kept += Math.min(c, i < ceilCount ? floor + 1 : floor);
  });
  return sorted.reduce((a, b) => a + b, 0) - kept;
}

/** Violations of "no member eligible for a partition owns two more than another member eligible for it" (for the partition's owner). */
function imbalances(input: AssignorInput, target: ReadonlyMap<TpKey, string>): string[] {
  const counts = countsOf(target, input.members.map((m) => m.id));
  const out: string[] = [];
  for (const [tp, owner] of target) {
    const { topic } = parseTpKey(tp);
    for (const m of input.members) {
      if (!m.topics.includes(topic)) continue;
      if ((counts.get(owner) ?? 0) >= (counts.get(m.id) ?? 0) + 2) out.push(`${tp} owner ${owner} has ${counts.get(owner)}, eligible ${m.id} has ${counts.get(m.id)}`);
    }
  }
  return out;
}

const one = (partitions: number): Map<string, number> => new Map([['t', partitions]]);

describe('targetAssignment', () => {
  it('balances 12 partitions over 3 members: 4 each', () => {
    const target = targetAssignment({ members: [member('a', 't'), member('b', 't'), member('c', 't')], partitionCounts: one(12), current: new Map() });
    expect(target.size).toBe(12);
    expect(countsOf(target, ['a', 'b', 'c'])).toEqual(new Map([['a', 4], ['b', 4], ['c', 4]]));
  });

  it('a 4th member joining 3 members sharing 12 partitions takes exactly 3, one from each; the 9 others keep their owner', () => {
    const three = [member('a', 't'), member('b', 't'), member('c', 't')];
    const current = targetAssignment({ members: three, partitionCounts: one(12), current: new Map() });
    const input = { members: [...three, member('d', 't')], partitionCounts: one(12), current };
    const target = targetAssignment(input);
    const changed = moved(input, target);
    expect(changed).toHaveLength(3);
    for (const tp of changed) expect(target.get(tp)).toBe('d');
    expect(new Set(changed.map((tp) => current.get(tp)))).toEqual(new Set(['a', 'b', 'c']));
    for (const [tp, owner] of current) if (!changed.includes(tp)) expect(target.get(tp)).toBe(owner);
    expect(countsOf(target, ['a', 'b', 'c', 'd'])).toEqual(new Map([['a', 3], ['b', 3], ['c', 3], ['d', 3]]));
  });

  it('a member leaving moves only its own partitions, spread over the others', () => {
    const four = [member('a', 't'), member('b', 't'), member('c', 't'), member('d', 't')];
    const current = targetAssignment({ members: four, partitionCounts: one(12), current: new Map() });
    const target = targetAssignment({ members: four.filter((m) => m.id !== 'b'), partitionCounts: one(12), current });
    for (const [tp, owner] of current) {
      if (owner === 'b') expect(target.get(tp)).not.toBe('b');
      else expect(target.get(tp)).toBe(owner);
    }
    expect(countsOf(target, ['a', 'c', 'd'])).toEqual(new Map([['a', 4], ['c', 4], ['d', 4]]));
  });

  it('members only get partitions of the topics they subscribe to, and balance holds among the members eligible for each partition', () => {
    const input = {
      members: [member('a', 'x'), member('b', 'x', 'y'), member('c', 'y'), member('d', 'z')],
      partitionCounts: new Map([['x', 7], ['y', 5], ['z', 2], ['unsubscribed', 4]]),
      current: new Map(),
    };
    const target = targetAssignment(input);
    expect([...target.keys()].sort()).toEqual(subscribedPartitions(input.members, input.partitionCounts).sort());
    expect(target.size).toBe(14);
    for (const [tp, owner] of target) expect(input.members.find((m) => m.id === owner)?.topics).toContain(parseTpKey(tp).topic);
    expect(imbalances(input, target)).toEqual([]);
    // x+y is 12 over a, b, c: 4 each; z only has d.
    expect(countsOf(target, ['a', 'b', 'c', 'd'])).toEqual(new Map([['a', 4], ['b', 4], ['c', 4], ['d', 2]]));
  });

  it('one topic: every member gets floor or ceil of partitions / members', () => {
    for (let n = 0; n <= 20; n++) {
      for (let m = 1; m <= 7; m++) {
        const ids = Array.from({ length: m }, (_, i) => `m${i}`);
        const counts = [...countsOf(targetAssignment({ members: ids.map((id) => member(id, 't')), partitionCounts: one(n), current: new Map() }), ids).values()];
        for (const c of counts) expect([Math.floor(n / m), Math.ceil(n / m)], `${n} partitions over ${m} members`).toContain(c);
      }
    }
  });

  it('is a fixed point: its own output as the current assignment changes nothing', () => {
    const members = [member('a', 'x'), member('b', 'x', 'y'), member('c', 'y')];
    const partitionCounts = new Map([['x', 9], ['y', 4]]);
    const first = targetAssignment({ members, partitionCounts, current: new Map([[tpKey('x', 0), 'c'], [tpKey('y', 3), 'gone']]) });
    expect(targetAssignment({ members, partitionCounts, current: first })).toEqual(first);
  });

  it('is deterministic: the same input gives the same output, whatever the order of members or of the current map', () => {
    const members = [member('m3', 'x'), member('m1', 'x', 'y'), member('m2', 'y'), member('m0', 'x')];
    const partitionCounts = new Map([['x', 11], ['y', 6]]);
    const current = new Map([[tpKey('x', 1), 'm2'], [tpKey('x', 2), 'm3'], [tpKey('y', 0), 'ghost'], [tpKey('y', 5), 'm1']]);
    const expected = targetAssignment({ members, partitionCounts, current });
    expect(targetAssignment({ members, partitionCounts, current })).toEqual(expected);
    expect(targetAssignment({ members: [...members].reverse(), partitionCounts, current: new Map([...current].reverse()) })).toEqual(expected);
    expect(targetAssignment({ members: [members[2]!, members[0]!, members[3]!, members[1]!], partitionCounts, current })).toEqual(expected);
  });

  it('property (1000 seeds): assigned to eligible members, a fixed point, deterministic; one topic: balanced with the fewest moves', () => {
    const failures: string[] = [];
    let singleTopicCases = 0;
    let movesSeen = 0;
    for (let seed = 1; seed <= 1000; seed++) {
      const rng = new Prng(seed);
      const topics = ['t0', 't1', 't2'].slice(0, rng.between(1, 3));
      const partitionCounts = new Map(topics.map((t) => [t, rng.between(1, 30)]));
      const members: AssignorMember[] = Array.from({ length: rng.between(1, 8) }, (_, i) => {
        const subscribed = topics.filter(() => rng.chance(0.6));
        return member(`m${i}`, ...(subscribed.length > 0 ? subscribed : [rng.pick(topics)]));
      });
      // Current owners: a random few of the members and of members gone, so the current load is often skewed.
      const owners = [...members.map((m) => m.id), 'gone-1', 'gone-2'].filter(() => rng.chance(0.5));
      if (owners.length === 0) owners.push(rng.pick(members).id);
      const current = new Map<TpKey, string>();
      for (const t of [...topics, 'deleted']) {
        for (let p = 0; p < (partitionCounts.get(t) ?? 5) + 2; p++) if (rng.chance(0.7)) current.set(tpKey(t, p), rng.pick(owners));
      }
      const input = { members, partitionCounts, current };
      const fail = (what: string): void => {
        failures.push(`seed ${seed}: ${what}\n  input ${JSON.stringify({ members, partitionCounts: [...partitionCounts], current: [...current] })}`);
      };
      const target = targetAssignment(input);
      const expectedKeys = subscribedPartitions(members, partitionCounts);
      if (JSON.stringify([...target.keys()].sort()) !== JSON.stringify([...expectedKeys].sort())) fail('assigns other partitions than those of subscribed topics');
      for (const [tp, owner] of target) {
        if (members.find((m) => m.id === owner)?.topics.includes(parseTpKey(tp).topic) !== true) fail(`${tp} goes to ${owner}, not subscribed to its topic`);
      }
      const again = targetAssignment({ members, partitionCounts, current: target });
      if (JSON.stringify([...again].sort()) !== JSON.stringify([...target].sort())) fail('not a fixed point');
      const shuffled = [...members].sort(() => rng.float() - 0.5);
      const reordered = targetAssignment({ members: shuffled, partitionCounts, current: new Map([...current].reverse()) });
      if (JSON.stringify([...reordered].sort()) !== JSON.stringify([...target].sort())) fail('depends on input order');
      for (const v of imbalances(input, target)) fail(`imbalance: ${v}`);
      if (topics.length === 1 && members.every((m) => m.topics.includes('t0'))) {
        singleTopicCases++;
        const n = partitionCounts.get('t0') ?? 0;
        const counts = [...countsOf(target, members.map((m) => m.id)).values()];
        if (Math.max(...counts) - Math.min(...counts) > 1) fail(`counts ${JSON.stringify(counts)} differ by more than 1`);
        const moves = moved(input, target).length;
        movesSeen += moves;
        if (moves !== minimumMoves(input, 't0', n)) fail(`moved ${moves} partitions; ${minimumMoves(input, 't0', n)} would do`);
      }
    }
    expect(failures).toEqual([]);
    // The sweep must reach the single-topic case often, with moves to count.
    expect(singleTopicCases).toBeGreaterThan(200);
    expect(movesSeen).toBeGreaterThan(300);
  });
});
