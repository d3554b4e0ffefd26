import type { BenchResult } from './bench-result.js';
import { fillerValue } from './payload.js';
import { measureSequential } from './sequential-latency.js';
import type { Workload } from './workload.js';
import { withTopic } from './workload-context.js';
import type { WorkloadContext } from './workload-context.js';

/**
 * ack-latency: one record at a time, each awaited before the next is sent, so every sample is
 * one full round trip (client batching, leader append and fsync, replication to a quorum, answer).
 */
export async function runAckLatency(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  return withTopic(ctx, w, async (topic) => {
    const producer = ctx.system.producer(topic, w);
    try {
      const value = fillerValue(w.recordBytes);
      return await measureSequential(ctx, w, () => producer.send(value));
    } finally {
      await producer.close();
    }
  });
}
