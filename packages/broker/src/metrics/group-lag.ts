/** A consumer group's committed offsets, as GroupCoordinator.describe returns them. */
export interface GroupOffsets {
  readonly group: string;
  readonly offsets: readonly { readonly topic: string; readonly partition: number; readonly offset: number }[];
}

/** One `runnel_consumer_group_lag_records` series. */
export interface GroupLagSample {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Records below the high watermark from the committed offset on, control batches left out; never below 0. */
  readonly lag: number;
}

/** What this broker knows of a partition's log. */
export interface PartitionLagView {
  readonly highWatermark: number;
  /**
   * Offsets of the epoch-start control batches (one record each, never delivered to consumers):
   * the start offsets of the epochs in the log's epoch cache.
   */
  readonly epochStarts: readonly number[];
}

/**
 * Consumer-group lag: for every committed offset (>= 0) of every group whose partition `partitionOf`
 * knows, the records a member still has to receive: HW minus the committed offset, less the
 * epoch-start markers between them (a new leader's marker is a record no consumer receives, so a
 * group that read everything has lag 0 across leader changes). 0 when the commit is ahead of the HW
 * this broker knows. Partitions not known are left out. At most `max` samples, in input order.
 */
export function groupLag(groups: readonly GroupOffsets[], partitionOf: (topic: string, partition: number) => PartitionLagView | undefined, max: number): GroupLagSample[] {
  const out: GroupLagSample[] = [];
  for (const g of groups) {
    for (const o of g.offsets) {
      if (out.length >= max) return out;
      if (o.offset < 0) continue;
      const p = partitionOf(o.topic, o.partition);
      if (p === undefined) continue;
      let markers = 0;
      for (const s of p.epochStarts) if (s >= o.offset && s < p.highWatermark) markers++;
      out.push({ group: g.group, topic: o.topic, partition: o.partition, lag: Math.max(0, p.highWatermark - o.offset - markers) });
    }
  }
  return out;
}
