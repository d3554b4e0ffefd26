import type { ChangeLeaderCommand } from './metadata-commands.js';
import type { MetadataState, PartitionRecord } from './metadata-state.js';

/** What the election may assume about brokers besides the `alive` flags in the state. */
export interface ElectionContext {
  /**
   * Brokers not alive in the state but not declared dead either: after a coordinator restart every
   * broker starts not-alive and has one session timeout to re-register. Their leaderships are left
   * in place (brokers keep serving while the coordinator is away); they are not picked as new leaders.
   */
  readonly awaitingBrokerIds: ReadonlySet<number>;
}

/** A leadership decision for one partition: keep it as is, or move to `leader` (-1 = offline) at `epoch`. */
export type PartitionDecision = { readonly kind: 'keep' } | { readonly kind: 'change'; readonly leader: number; readonly epoch: number };

/**
 * The election rule for one partition (minimal version, before PrepareEpoch):
 * - a live leader is kept (no preferred-leader rebalancing yet);
 * - a leader that is dead (and not awaited after a coordinator restart) is replaced by the first
 *   live replica in replica order at epoch `highestEpoch + 1`, or, when none is alive (always the
 *   case with one replica), the partition goes offline (leader -1) keeping its epoch;
 * - an offline partition comes back once a replica is alive — the preferred leader first, else the
 *   first live one in replica order — at epoch `highestEpoch + 1`.
 *
 * The next milestone replaces this body with PrepareEpoch(e+1) to the live replicas and a majority
 * vote; callers only see decisions.
 */
export function electPartition(p: PartitionRecord, isAlive: (brokerId: number) => boolean, ctx: ElectionContext): PartitionDecision {
  if (p.leader >= 0 && (isAlive(p.leader) || ctx.awaitingBrokerIds.has(p.leader))) return { kind: 'keep' };
  const candidate = p.replicas.find(isAlive);
  if (candidate !== undefined) return { kind: 'change', leader: candidate, epoch: Math.max(p.highestEpoch, p.leaderEpoch) + 1 };
  if (p.leader >= 0) return { kind: 'change', leader: -1, epoch: p.leaderEpoch };
  return { kind: 'keep' };
}

/** The leadership changes the current state calls for, over every partition, in topic-name order. */
export function electLeaders(state: MetadataState, ctx: ElectionContext): ChangeLeaderCommand[] {
  const isAlive = (id: number): boolean => state.brokers.get(id)?.alive === true;
  const out: ChangeLeaderCommand[] = [];
  const names = [...state.topics.keys()].sort();
  for (const name of names) {
    const topic = state.topics.get(name);
    if (topic === undefined) continue;
    for (const p of topic.partitions) {
      const d = electPartition(p, isAlive, ctx);
      if (d.kind === 'change') {
        out.push({ type: 'ChangeLeader', topic: topic.name, topicId: topic.topicId, partition: p.partition, leader: d.leader, epoch: d.epoch });
      }
    }
  }
  return out;
}
