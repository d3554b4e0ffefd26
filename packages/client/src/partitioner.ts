import { RunnelError, partitionForKey } from '@runnel/protocol';

/**
 * Chooses a record's partition: the explicit one if given (checked against the count), else the
 * murmur2 hash of the key (Kafka-compatible, same as the broker), else a "sticky" partition: all
 * keyless records of a topic go to one partition until its batch closes, then to the next one
 * round-robin (Kafka KIP-480), so keyless records fill batches instead of spreading thin.
 */
export class Partitioner {
  private readonly sticky = new Map<string, number>();
  private readonly cursor = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  choose(topic: string, partitionCount: number, record: { partition?: number | undefined; key?: Uint8Array | undefined }): number {
    if (partitionCount < 1) throw new RunnelError('PARTITION_OFFLINE', `topic "${topic}" has no partitions`);
    if (record.partition !== undefined) {
      if (record.partition >= partitionCount) {
        throw new RunnelError('UNKNOWN_PARTITION', `topic "${topic}" has no partition ${record.partition} (it has ${partitionCount})`);
      }
      return record.partition;
    }
    if (record.key !== undefined && record.key.length > 0) return partitionForKey(record.key, partitionCount);
    const current = this.sticky.get(topic);
    if (current !== undefined && current < partitionCount) return current;
    const start = this.cursor.get(topic) ?? Math.floor(this.random() * partitionCount);
    const next = start % partitionCount;
    this.cursor.set(topic, next + 1);
    this.sticky.set(topic, next);
    return next;
  }

  /** A batch of `topic`/`partition` closed: keyless records move on to the next partition. */
  batchClosed(topic: string, partition: number): void {
    if (this.sticky.get(topic) === partition) this.sticky.delete(topic);
  }
}
