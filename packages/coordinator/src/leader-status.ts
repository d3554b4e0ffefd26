import type { LeaderPartitionStatus__Output } from '@runnel/protocol';
import type { MetadataState, PartitionRecord, TopicRecord } from './metadata-state.js';
import type { IsrLookup } from './metadata-snapshot.js';

interface Reported {
  readonly leader: number;
  readonly epoch: number;
  readonly inSyncReplicas: readonly number[];
}

const key = (topicId: string, partition: number): string => `${topicId}/${partition}`;

/**
 * What each partition's leader last reported about its replicas (heartbeats). Not persisted: after
 * a coordinator restart or a leader change it is unknown until the next report. Only reports for a
 * partition the metadata holds, from the leader it names at the epoch it names, are kept, so the
 * table is bounded by the partition count.
 */
export class LeaderStatusTable {
  readonly #byPartition = new Map<string, Reported>();
  /** Topics by id for the latest state seen: rebuilt once per metadata change, not per heartbeat. */
  #index: { readonly state: MetadataState; readonly byId: ReadonlyMap<string, TopicRecord> } | undefined;

  /** Records a heartbeat's statuses from `brokerId`; stale or unknown ones are ignored. */
  report(state: MetadataState, brokerId: number, statuses: readonly LeaderPartitionStatus__Output[]): void {
    if (this.#index?.state !== state) this.#index = { state, byId: new Map([...state.topics.values()].map((t) => [t.topicId, t])) };
    const topicsById = this.#index.byId;
    for (const s of statuses) {
      const p = topicsById.get(s.topicId)?.partitions[s.partition];
      if (p === undefined || p.leader !== brokerId || p.leaderEpoch !== s.epoch) continue;
      const isr = s.inSyncReplicas.filter((id) => p.replicas.includes(id));
      this.#byPartition.set(key(s.topicId, s.partition), { leader: brokerId, epoch: s.epoch, inSyncReplicas: isr });
    }
  }

  /** The in-sync replicas of the current leadership, or undefined when not reported for it. */
  readonly isr: IsrLookup = (topicId, p) => {
    const r = this.#byPartition.get(key(topicId, p.partition));
    if (r === undefined || r.leader !== p.leader || r.epoch !== p.leaderEpoch) return undefined;
    return r.inSyncReplicas;
  };

  /** Drops what no longer matches the metadata (deleted topics, changed leaderships). */
  prune(state: MetadataState): void {
    const current = new Map<string, PartitionRecord>();
    for (const t of state.topics.values()) for (const p of t.partitions) current.set(key(t.topicId, p.partition), p);
    for (const [k, r] of this.#byPartition) {
      const p = current.get(k);
      if (p === undefined || p.leader !== r.leader || p.leaderEpoch !== r.epoch) this.#byPartition.delete(k);
    }
  }
}
