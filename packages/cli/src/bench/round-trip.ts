import { performance } from 'node:perf_hooks';
import type { BenchResult } from './bench-result.js';
import { benchResult } from './bench-result.js';
import { formatLatency } from './bench-report.js';
import { PROGRESS_EVERY_RECORDS } from './constants.js';
import { LatencySamples } from './latency-samples.js';
import type { Workload } from './workload.js';
import { withTopic } from './workload-context.js';
import type { WorkloadContext } from './workload-context.js';

/**
 * round-trip: one request at a time to the leader of the topic's partition 0, answered without disk
 * or replication, so every sample is the bare client -> server -> client path the latency
 * workloads are built on (records = requests).
 */
export async function runRoundTrip(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  return withTopic(ctx, w, async (topic) => {
    ctx.progress.start(`${w.name} warm-up`, w.warmupRecords);
    for (let i = 0; i < w.warmupRecords; i++) {
      ctx.signal.throwIfAborted();
      await ctx.system.roundTrip(topic);
    }
    const samples = new LatencySamples(w.records);
    ctx.progress.start(w.name, w.records);
    const started = performance.now();
    for (let i = 0; i < w.records; i++) {
      ctx.signal.throwIfAborted();
      const sentAt = performance.now();
      await ctx.system.roundTrip(topic);
      samples.add(performance.now() - sentAt);
      if ((i + 1) % PROGRESS_EVERY_RECORDS === 0) ctx.progress.update(i + 1);
    }
    const seconds = (performance.now() - started) / 1000;
    const result = benchResult(ctx.system.system, ctx.fsync, w, { records: w.records, seconds, latencyMs: samples.summary() });
    ctx.progress.finish(formatLatency(result));
    return result;
  });
}
