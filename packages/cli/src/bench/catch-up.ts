import { performance } from 'node:perf_hooks';
import { Arrivals } from './arrivals.js';
import type { BenchResult } from './bench-result.js';
import { benchResult } from './bench-result.js';
import { formatRate } from './bench-report.js';
import type { BenchTopic } from './bench-system.js';
import { PROGRESS_EVERY_RECORDS, RECEIVE_IDLE_MS_MAX } from './constants.js';
import { fillerValue } from './payload.js';
import { producePipelined } from './pipelined-produce.js';
import type { Workload } from './workload.js';
import { whenAborted, withTopic } from './workload-context.js';
import type { WorkloadContext } from './workload-context.js';

/** Reads the first `count` records with a new consumer; returns the seconds from its creation to the last record. */
async function readFromStart(ctx: WorkloadContext, topic: BenchTopic, count: number, what: string): Promise<number> {
  const arrivals = new Arrivals(count, RECEIVE_IDLE_MS_MAX, what);
  const started = performance.now();
  const consumer = ctx.system.consumer(topic, () => {
    arrivals.add();
    if (arrivals.count % PROGRESS_EVERY_RECORDS === 0) ctx.progress.update(arrivals.count);
  });
  try {
    await Promise.race([arrivals.done, consumer.failed, whenAborted(ctx.signal)]);
    return (performance.now() - started) / 1000;
  } finally {
    arrivals.cancel();
    await consumer.close();
  }
}

/**
 * catch-up: `records` records are written first (pipelined, not timed); then a new consumer reads
 * them all from the beginning, timed from its creation (subscription included) to the last record.
 * A first consumer reads `warmupRecords` of them, unmeasured, to warm the read path.
 */
export async function runCatchUp(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  return withTopic(ctx, w, async (topic) => {
    const producer = ctx.system.producer(topic, w);
    try {
      const value = fillerValue(w.recordBytes);
      ctx.progress.start(`${w.name} preload`, w.records);
      await producePipelined(producer, {
        count: w.records, inFlightRecordsMax: w.inFlightRecordsMax, recordBytes: w.recordBytes, valueFor: () => value,
        onProgress: (n) => ctx.progress.update(n), signal: ctx.signal,
      });
    } finally {
      await producer.close();
    }
    const warmup = Math.min(w.warmupRecords, w.records);
    if (warmup > 0) {
      ctx.progress.start(`${w.name} warm-up`, warmup);
      await readFromStart(ctx, topic, warmup, `${w.name}: warm-up consumer`);
    }
    ctx.progress.start(w.name, w.records);
    const seconds = await readFromStart(ctx, topic, w.records, `${w.name}: consumer`);
    const result = benchResult(ctx.system.system, ctx.fsync, w, { records: w.records, seconds, latencyMs: null });
    ctx.progress.finish(formatRate(result));
    return result;
  });
}
