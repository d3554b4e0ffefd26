import type { BenchResult } from './bench-result.js';
import { measureSequential } from './sequential-latency.js';
import type { Workload } from './workload.js';
import { withTopic } from './workload-context.js';
import type { WorkloadContext } from './workload-context.js';

/**
 * round-trip: one request at a time to the leader of the topic's partition 0, answered without disk
 * or replication, so every sample is the bare client -> server -> client path the latency
 * workloads are built on (records = requests).
 */
export async function runRoundTrip(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  return withTopic(ctx, w, (topic) => measureSequential(ctx, w, () => ctx.system.roundTrip(topic)));
}
