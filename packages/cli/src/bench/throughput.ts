import type { BenchResult } from './bench-result.js';
import { benchResult } from './bench-result.js';
import { formatRate } from './bench-report.js';
import { fillerValue } from './payload.js';
import { producePipelined } from './pipelined-produce.js';
import type { Workload } from './workload.js';
import { withTopic } from './workload-context.js';
import type { WorkloadContext } from './workload-context.js';

/**
 * throughput: one producer sends `records` records of `recordBytes` bytes as fast as the
 * window of `inFlightRecordsMax` unacknowledged records allows; the time runs from the first
 * send to the last acknowledgement. Warm-up records go first, unmeasured.
 */
export async function runThroughput(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  return withTopic(ctx, w, async (topic) => {
    const producer = ctx.system.producer(topic, w);
    try {
      const value = fillerValue(w.recordBytes);
      const pipeline = { inFlightRecordsMax: w.inFlightRecordsMax, recordBytes: w.recordBytes, valueFor: () => value, signal: ctx.signal };
      if (w.warmupRecords > 0) {
        ctx.progress.start(`${w.name} warm-up`, w.warmupRecords);
        await producePipelined(producer, { ...pipeline, count: w.warmupRecords, onProgress: (n) => ctx.progress.update(n) });
      }
      ctx.progress.start(w.name, w.records);
      const seconds = await producePipelined(producer, { ...pipeline, count: w.records, onProgress: (n) => ctx.progress.update(n) });
      const result = benchResult(ctx.system.system, ctx.fsync, w, { records: w.records, seconds, latencyMs: null });
      ctx.progress.finish(formatRate(result));
      return result;
    } finally {
      await producer.close();
    }
  });
}
