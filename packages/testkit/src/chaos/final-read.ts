import { RunnelClient, type ClientOptions, type ConsumedRecord } from '@runnel/client';
import type { PartitionLog } from '../history/history-types.js';
import { waitFor } from '../wait-for.js';

/** A final read waits this long for more records before deciding what is left is markers. */
const FINAL_READ_IDLE_MS = 2_000;
/** At most this many trailing offsets may be undelivered leader-change markers. */
const FINAL_READ_MARKERS_MAX = 20;

/**
 * Reads every partition from its log start to its high watermark, after the faults healed: the
 * log as the cluster finally holds it. Retries through leader changes; bounded by `timeoutMs`.
 */
export async function finalRead(client: ClientOptions, topic: string, partitions: number, timeoutMs: number): Promise<Map<number, PartitionLog>> {
  const c = new RunnelClient({ ...client, retry: { retriesMax: 50, initialBackoffMs: 20, backoffMsMax: 500 } });
  try {
    const hw = new Map<number, number>();
    await waitFor(async () => {
      const offsets = await c.admin.partitionOffsets(topic);
      if (offsets.some((o) => o.highWatermark < 0)) return false;
      for (const o of offsets) hw.set(o.partition, o.highWatermark);
      return true;
    }, { timeoutMs, intervalMs: 200, description: `the high watermarks of ${topic}` });
    const out = new Map<number, PartitionLog>();
    for (let p = 0; p < partitions; p++) {
      const end = hw.get(p) ?? 0;
      const records: Array<readonly [number, string]> = [];
      if (end > 0) {
        // Offsets can skip (leader-change markers are never delivered), so the read is done when
        // the position reaches the HW or, past the last record, nothing more arrives for a while.
        // An acknowledged record missing here shows up as a lost write in the checker.
        const consumer = c.consumer({ topic, partitions: [p], from: 'earliest' });
        const iterator = (consumer as AsyncIterable<ConsumedRecord>)[Symbol.asyncIterator]();
        const deadline = Date.now() + timeoutMs;
        try {
          for (;;) {
            if ((consumer.positions().get(p) ?? 0) >= end) break;
            let timer: NodeJS.Timeout | undefined;
            const idle = new Promise<'idle'>((resolve) => {
              timer = setTimeout(() => resolve('idle'), FINAL_READ_IDLE_MS);
            });
            const next = await Promise.race([iterator.next(), idle]);
            clearTimeout(timer);
            if (next === 'idle') {
              const last = records.at(-1)?.[0] ?? -1;
              if (end - (last + 1) <= FINAL_READ_MARKERS_MAX) break;
              if (Date.now() > deadline) throw new Error(`final read of ${topic}/${p} stopped at offset ${last + 1} below the high watermark ${end} within ${timeoutMs} ms`);
              continue;
            }
            if (next.done === true) break;
            records.push([next.value.offset, next.value.value.toString()]);
          }
        } finally {
          await consumer.close();
        }
      }
      out.set(p, records);
    }
    return out;
  } finally {
    await c.close();
  }
}
