import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SendWindow } from '../send-window.js';
import { Arrivals } from './arrivals.js';
import type { BenchResult } from './bench-result.js';
import { benchResult } from './bench-result.js';
import { formatLatency } from './bench-report.js';
import { IN_FLIGHT_BYTES_MAX, PROGRESS_EVERY_RECORDS, RECEIVE_IDLE_MS_MAX } from './constants.js';
import { LatencySamples } from './latency-samples.js';
import { fillerValue, nowEpochMs, readStamp, stampedValue } from './payload.js';
import type { Workload } from './workload.js';
import { whenAborted, withTopic } from './workload-context.js';
import type { WorkloadContext } from './workload-context.js';

/** The pacing loop wakes at most this often; records that fell due meanwhile go out together. */
const PACING_TICK_MS = 1;

/**
 * end-to-end-latency: a consumer subscribes first; then a producer sends records at
 * `ratePerSecond` (warm-up records first, then the measured ones), each stamped with its wall-clock
 * send time; the consumer records receive time minus send time. Producer and consumer share this
 * process (and so its clock and event loop), as in the OpenMessaging Benchmark's single worker.
 */
export async function runEndToEndLatency(ctx: WorkloadContext, w: Workload): Promise<BenchResult> {
  return withTopic(ctx, w, async (topic) => {
    const total = w.warmupRecords + w.records;
    const samples = new LatencySamples(w.records);
    const arrivals = new Arrivals(total, RECEIVE_IDLE_MS_MAX, `${w.name}: consumer`);
    const warmup = w.warmupRecords;
    const consumer = ctx.system.consumer(topic, (value) => {
      const receivedAt = nowEpochMs();
      const stamp = readStamp(value);
      if (stamp.sequence >= warmup) samples.add(receivedAt - stamp.sentAtMs);
      arrivals.add();
      if (arrivals.count % PROGRESS_EVERY_RECORDS === 0) ctx.progress.update(arrivals.count);
    });
    const producer = ctx.system.producer(topic, w);
    try {
      await Promise.race([consumer.ready, consumer.failed, whenAborted(ctx.signal)]);
      ctx.progress.start(w.name, total);
      const filler = fillerValue(w.recordBytes);
      let failure: { readonly error: unknown } | undefined;
      const window = new SendWindow<unknown>(w.inFlightRecordsMax, IN_FLIGHT_BYTES_MAX, (_i, outcome) => {
        if (!outcome.ok) failure ??= { error: outcome.error };
      });
      const intervalMs = 1000 / w.ratePerSecond;
      const started = performance.now();
      let measuredFrom = started;
      for (let sent = 0; sent < total && failure === undefined;) {
        ctx.signal.throwIfAborted();
        const due = Math.min(total, Math.floor((performance.now() - started) / intervalMs) + 1);
        while (sent < due && failure === undefined) {
          if (sent === warmup) measuredFrom = performance.now();
          await window.push(sent, w.recordBytes, producer.send(stampedValue(filler, sent, nowEpochMs())));
          sent++;
        }
        if (sent < total) await sleep(PACING_TICK_MS);
      }
      const sendSeconds = (performance.now() - measuredFrom) / 1000;
      await producer.flush().catch(() => undefined);
      await window.drain();
      if (failure !== undefined) throw failure.error;
      await Promise.race([arrivals.done, consumer.failed, whenAborted(ctx.signal)]);
      const result = benchResult(ctx.system.system, ctx.fsync, w, { records: w.records, seconds: sendSeconds, latencyMs: samples.summary() });
      ctx.progress.finish(formatLatency(result));
      return result;
    } finally {
      arrivals.cancel();
      await producer.close();
      await consumer.close();
    }
  });
}
