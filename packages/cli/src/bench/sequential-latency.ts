import { performance } from 'node:perf_hooks';
import type { BenchResult } from './bench-result.js';
import { benchResult } from './bench-result.js';
import { formatLatency } from './bench-report.js';
import { PROGRESS_EVERY_RECORDS } from './constants.js';
import { LatencySamples } from './latency-samples.js';
import type { Workload } from './workload.js';
import type { WorkloadContext } from './workload-context.js';

/**
 * The loop of the sequential latency workloads: `w.warmupRecords` unmeasured calls of `once`, then
 * `w.records` measured ones, each awaited before the next, so every sample is one full round trip.
 */
export async function measureSequential(ctx: WorkloadContext, w: Workload, once: () => Promise<unknown>): Promise<BenchResult> {
  ctx.progress.start(`${w.name} warm-up`, w.warmupRecords);
  for (let i = 0; i < w.warmupRecords; i++) {
    ctx.signal.throwIfAborted();
    await once();
  }
  const samples = new LatencySamples(w.records);
  ctx.progress.start(w.name, w.records);
  const started = performance.now();
  for (let i = 0; i < w.records; i++) {
    ctx.signal.throwIfAborted();
    const sentAt = performance.now();
    await once();
    samples.add(performance.now() - sentAt);
    if ((i + 1) % PROGRESS_EVERY_RECORDS === 0) ctx.progress.update(i + 1);
  }
  const seconds = (performance.now() - started) / 1000;
  const result = benchResult(ctx.system.system, ctx.fsync, w, { records: w.records, seconds, latencyMs: samples.summary() });
  ctx.progress.finish(formatLatency(result));
  return result;
}
