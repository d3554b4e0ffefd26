import type { RunnelError } from '@runnel/protocol';
import { FifoQueue } from './fifo-queue.js';
import type { DeliveryEntry, PartitionSubscription } from './partition-subscription.js';
import { toConsumedRecord } from './record-codec.js';
import type { ConsumedRecord } from './record-types.js';

export type QueueItem = DeliveryEntry | { readonly error: RunnelError };

export interface TakeOptions {
  /** Where a subscription's records belong, or undefined when it was stopped (its batches are skipped). */
  readonly live: (s: PartitionSubscription) => { readonly topic: string; readonly partition: number } | undefined;
  /** Closing: hand out nothing more from the queue. */
  readonly closed: () => boolean;
  /** Nothing more will be pushed: do not wait. */
  readonly ended: () => boolean;
}

/**
 * What a consumer's subscriptions delivered, handed out one record at a time in arrival order
 * (batches of one partition stay in offset order). Bounded by the subscriptions' credit windows:
 * credit goes back (batchDone) only once a batch is handed out or skipped.
 */
export class RecordQueue {
  private readonly items = new FifoQueue<QueueItem>();
  private current: DeliveryEntry | undefined;
  private wake: (() => void) | undefined;

  push(item: QueueItem): void {
    this.items.push(item);
    this.interrupt();
  }

  /** Wakes a waiting take() (to see a close or an abort). */
  interrupt(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  clear(): void {
    this.items.clear();
    this.current = undefined;
  }

  /** The next record (with its subscription), an error a subscription pushed, or undefined when closed or ended. */
  async take(o: TakeOptions): Promise<{ record: ConsumedRecord; subscription: PartitionSubscription } | { error: RunnelError } | undefined> {
    for (;;) {
      const cur = this.current;
      if (cur !== undefined) {
        const where = o.live(cur.subscription);
        if (where === undefined) {
          this.current = undefined;
          continue;
        }
        if (cur.index < cur.batch.records.length) {
          const record = toConsumedRecord(where.topic, where.partition, cur.batch, cur.index);
          cur.index++;
          cur.subscription.advance(record.offset);
          if (cur.index >= cur.batch.records.length) {
            this.current = undefined;
            cur.subscription.batchDone(cur.batch);
          }
          return { record, subscription: cur.subscription };
        }
        this.current = undefined;
        cur.subscription.batchDone(cur.batch);
      }
      if (o.closed()) return undefined;
      const item = this.items.shift();
      if (item !== undefined) {
        if ('error' in item) return item;
        this.current = item;
        continue;
      }
      if (o.ended()) return undefined;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
