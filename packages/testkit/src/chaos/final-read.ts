import { RunnelClient, type ClientOptions, type ConsumedRecord } from '@runnel/client';
import type { PartitionLog } from '../history/history-types.js';
import { waitFor } from '../wait-for.js';

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
        // Done at the HW: the position moves past leader-change markers too (next_offset).
        const consumer = c.consumer({ topic, partitions: [p], from: 'earliest' });
        const deadline = setTimeout(() => void consumer.close(), timeoutMs);
        // The position can reach the HW without a record (only markers left): close on it, which ends the loop.
        const watch = setInterval(() => {
          if ((consumer.positions().get(p) ?? 0) >= end) void consumer.close();
        }, 50);
        try {
          for await (const r of consumer as AsyncIterable<ConsumedRecord>) {
            records.push([r.offset, r.value.toString()]);
            if ((consumer.positions().get(p) ?? 0) >= end) break;
          }
        } finally {
          clearTimeout(deadline);
          clearInterval(watch);
        }
        const reached = consumer.positions().get(p) ?? 0;
        await consumer.close();
        if (reached < end) throw new Error(`final read of ${topic}/${p} stopped at offset ${reached} below the high watermark ${end} within ${timeoutMs} ms`);
      }
      out.set(p, records);
    }
    return out;
  } finally {
    await c.close();
  }
}
