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
  /** High watermark minus committed offset, never below 0. */
  readonly lag: number;
}

/**
 * Consumer-group lag: for every committed offset (>= 0) of every group whose partition's high
 * watermark `hwOf` knows, HW minus the committed offset (0 when the commit is ahead of the HW this
 * broker knows). Partitions with no known HW are left out. At most `max` samples, in input order.
 */
export function groupLag(groups: readonly GroupOffsets[], hwOf: (topic: string, partition: number) => number | undefined, max: number): GroupLagSample[] {
  const out: GroupLagSample[] = [];
  for (const g of groups) {
    for (const o of g.offsets) {
      if (out.length >= max) return out;
      if (o.offset < 0) continue;
      const hw = hwOf(o.topic, o.partition);
      if (hw === undefined) continue;
      out.push({ group: g.group, topic: o.topic, partition: o.partition, lag: Math.max(0, hw - o.offset) });
    }
  }
  return out;
}
