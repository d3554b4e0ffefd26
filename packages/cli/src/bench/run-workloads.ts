import { formatError } from '../errors.js';
import { runAckLatency } from './ack-latency.js';
import type { BenchResult } from './bench-result.js';
import { failedResult } from './bench-result.js';
import { runCatchUp } from './catch-up.js';
import { runEndToEndLatency } from './end-to-end-latency.js';
import { runRoundTrip } from './round-trip.js';
import { runThroughput } from './throughput.js';
import type { Workload } from './workload.js';
import type { WorkloadContext } from './workload-context.js';

function runOne(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  switch (w.kind) {
    case 'throughput':
      return runThroughput(ctx, w);
    case 'ack-latency':
      return runAckLatency(ctx, w);
    case 'end-to-end-latency':
      return runEndToEndLatency(ctx, w);
    case 'catch-up':
      return runCatchUp(ctx, w);
    case 'round-trip':
      return runRoundTrip(ctx, w);
  }
}

/**
 * Runs the workloads one after another, each on its own fresh topic. A workload that fails is
 * reported as failed (with its error) and the next one runs; an abort (signal) stops the run.
 */
export async function runWorkloads(ctx: WorkloadContext, workloads: readonly Workload[]): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  for (const w of workloads) {
    ctx.signal.throwIfAborted();
    try {
      results.push(await runOne(ctx, w));
    } catch (err) {
      ctx.signal.throwIfAborted();
      const message = formatError(err).replace(/^error: /, '');
      ctx.progress.failed(w.name, message);
      results.push(failedResult(ctx.system.system, ctx.fsync, w, message));
    }
  }
  return results;
}
