import assert from 'node:assert/strict';
import type { MetadataState } from './metadata-state.js';

/** A live broker replicas may be placed on. */
export interface AssignableBroker {
  readonly id: number;
  /** '' when none. */
  readonly rack: string;
}

/** How many leaderships / replicas each broker holds already (missing = 0). */
export interface BrokerLoad {
  readonly leaderCounts: ReadonlyMap<number, number>;
  readonly replicaCounts: ReadonlyMap<number, number>;
}

export interface AssignmentInput {
  readonly partitions: number;
  readonly replicationFactor: number;
  /** The live brokers, at least `replicationFactor` of them. */
  readonly brokers: readonly AssignableBroker[];
  readonly load: BrokerLoad;
}

/**
 * Current leader and replica counts per broker over every topic (offline partitions count no leader).
 */
export function brokerLoad(state: MetadataState): BrokerLoad {
  const leaderCounts = new Map<number, number>();
  const replicaCounts = new Map<number, number>();
  for (const topic of state.topics.values()) {
    for (const p of topic.partitions) {
      // Preferred leaders: where leadership settles (elections and rebalancing move it back there).
      const preferred = p.replicas[0];
      if (preferred !== undefined) leaderCounts.set(preferred, (leaderCounts.get(preferred) ?? 0) + 1);
      for (const r of p.replicas) replicaCounts.set(r, (replicaCounts.get(r) ?? 0) + 1);
    }
  }
  return { leaderCounts, replicaCounts };
}

/**
 * The ring partitions are placed around: brokers by id, or, when racks are set, alternating between
 * racks (first broker of each rack, then the second of each, …), so neighbours sit in different racks.
 */
export function brokerRing(brokers: readonly AssignableBroker[]): AssignableBroker[] {
  const byId = [...brokers].sort((a, b) => a.id - b.id);
  if (byId.every((b) => b.rack === '')) return byId;
  const racks = new Map<string, AssignableBroker[]>();
  for (const b of byId) {
    const list = racks.get(b.rack);
    if (list === undefined) racks.set(b.rack, [b]);
    else list.push(b);
  }
  const groups = [...racks.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, list]) => list);
  const ring: AssignableBroker[] = [];
  for (let i = 0; ring.length < byId.length; i++) {
    for (const g of groups) {
      const b = g[i];
      if (b !== undefined) ring.push(b);
    }
  }
  return ring;
}

/**
 * Places the replicas of a new topic's partitions. Pure. Returns one ordered replica list per
 * partition; the first replica is the preferred (and initial) leader.
 *
 * Leaders go round-robin around the broker ring, each to the broker holding the fewest leaderships
 * (existing topics included; ties broken by ring order from where the last one went), so leaders are
 * spread evenly both within a topic and across successive topics. Followers go to the brokers after
 * the leader on the ring, preferring racks the partition does not use yet, then the fewest replicas.
 */
export function assignReplicas(input: AssignmentInput): number[][] {
  const { partitions, replicationFactor } = input;
  assert.ok(Number.isInteger(partitions) && partitions >= 1, 'partitions must be a positive integer');
  assert.ok(Number.isInteger(replicationFactor) && replicationFactor >= 1, 'replication factor must be a positive integer');
  assert.ok(input.brokers.length >= replicationFactor, 'not enough brokers for the replication factor');
  const ring = brokerRing(input.brokers);
  const n = ring.length;
  const leaders = ring.map((b) => input.load.leaderCounts.get(b.id) ?? 0);
  const replicas = ring.map((b) => input.load.replicaCounts.get(b.id) ?? 0);
  const useRacks = ring.some((b) => b.rack !== '');
  const result: number[][] = [];
  let cursor = 0;
  for (let p = 0; p < partitions; p++) {
    let leader = -1;
    for (let d = 0; d < n; d++) {
      const i = (cursor + d) % n;
      if (leader === -1 || (leaders[i] ?? 0) < (leaders[leader] ?? 0)) leader = i;
    }
    cursor = (leader + 1) % n;
    const chosen = [leader];
    const racksUsed = new Set([ring[leader]?.rack]);
    while (chosen.length < replicationFactor) {
      let best = -1;
      let bestKey: [number, number, number] = [Infinity, Infinity, Infinity];
      for (let d = 1; d < n; d++) {
        const i = (leader + d) % n;
        if (chosen.includes(i)) continue;
        const key: [number, number, number] = [useRacks && racksUsed.has(ring[i]?.rack) ? 1 : 0, replicas[i] ?? 0, d];
        if (key[0] < bestKey[0] || (key[0] === bestKey[0] && (key[1] < bestKey[1] || (key[1] === bestKey[1] && key[2] < bestKey[2])))) {
          best = i;
          bestKey = key;
        }
      }
      chosen.push(best);
      racksUsed.add(ring[best]?.rack);
    }
    leaders[leader] = (leaders[leader] ?? 0) + 1;
    for (const i of chosen) replicas[i] = (replicas[i] ?? 0) + 1;
    result.push(chosen.map((i) => {
      const b = ring[i];
      assert.ok(b !== undefined);
      return b.id;
    }));
  }
  return result;
}
