import type { HistoryEvent } from '../history/history-types.js';
import type { FaultRecord } from './nemesis.js';

export interface SeriesPoint {
  /** Bucket start, ms since the run started. */
  readonly t: number;
  /** Produces acknowledged in the bucket, per second. */
  readonly okPerSecond: number;
  /** Produces that ended info/fail in the bucket. */
  readonly errors: number;
  /** Ack latency of produces acknowledged in the bucket (ms). */
  readonly p50: number;
  readonly p99: number;
}

export interface FaultOutcome {
  readonly fault: FaultRecord;
  /** Share of produces invoked during the fault that were acknowledged. */
  readonly availability: number;
  /** Longest time any partition went without an acknowledged produce, from the fault's start (ms). */
  readonly worstGapMs: number;
}

export interface ChaosSummary {
  readonly produceOk: number;
  readonly produceFail: number;
  readonly produceInfo: number;
  readonly recordsRead: number;
  /** Share of produces invoked during any fault that were acknowledged. */
  readonly availabilityDuringFaults: number;
  readonly faults: readonly FaultOutcome[];
  readonly series: readonly SeriesPoint[];
  readonly bucketMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Throughput and latency over time, availability and the longest gap per fault. */
export function summarise(history: readonly HistoryEvent[], faults: readonly FaultRecord[], startMs: number, endMs: number, bucketMs = 500): ChaosSummary {
  const invokedAt = new Map<string, number>();
  const completions: Array<{ invoke: number; done: number; type: string; partition: number }> = [];
  let recordsRead = 0;
  for (const e of history) {
    if (e.f === 'produce') {
      if (e.type === 'invoke') invokedAt.set(e.value, e.time);
      else completions.push({ invoke: invokedAt.get(e.value) ?? e.time, done: e.time, type: e.type, partition: e.partition });
    } else if (e.f === 'read' && e.type === 'ok') {
      recordsRead += e.records?.length ?? 0;
    }
  }
  const buckets = Math.max(1, Math.ceil((endMs - startMs) / bucketMs));
  const ok = Array.from({ length: buckets }, () => [] as number[]);
  const errors = new Array<number>(buckets).fill(0);
  for (const c of completions) {
    const b = Math.min(buckets - 1, Math.max(0, Math.floor((c.done - startMs) / bucketMs)));
    if (c.type === 'ok') ok[b]!.push(c.done - c.invoke);
    else errors[b]!++;
  }
  const series = ok.map((lat, i) => {
    const sorted = [...lat].sort((a, b) => a - b);
    return { t: i * bucketMs, okPerSecond: (lat.length * 1000) / bucketMs, errors: errors[i] ?? 0, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  });
  const during = (f: FaultRecord, t: number): boolean => t >= f.startMs && t <= (Number.isNaN(f.endMs) ? endMs : f.endMs);
  let inFault = 0;
  let inFaultOk = 0;
  for (const c of completions) {
    if (faults.some((f) => during(f, c.invoke))) {
      inFault++;
      if (c.type === 'ok') inFaultOk++;
    }
  }
  const partitions = [...new Set(completions.map((c) => c.partition))];
  const outcomes = faults.map((f) => {
    const mine = completions.filter((c) => during(f, c.invoke));
    const until = Number.isNaN(f.endMs) ? endMs : f.endMs;
    let worstGapMs = 0;
    for (const p of partitions) {
      const oks = completions.filter((c) => c.partition === p && c.type === 'ok' && c.done >= f.startMs).map((c) => c.done).sort((a, b) => a - b);
      // Longest stretch without an ack, from the fault's start until the first ack after it ends.
      let last = f.startMs;
      for (const t of oks) {
        worstGapMs = Math.max(worstGapMs, t - last);
        last = t;
        if (t > until) break;
      }
      if (oks.length === 0) worstGapMs = Math.max(worstGapMs, endMs - f.startMs);
    }
    return { fault: f, availability: mine.length === 0 ? 1 : mine.filter((c) => c.type === 'ok').length / mine.length, worstGapMs };
  });
  return {
    produceOk: completions.filter((c) => c.type === 'ok').length,
    produceFail: completions.filter((c) => c.type === 'fail').length,
    produceInfo: completions.filter((c) => c.type === 'info').length,
    recordsRead,
    availabilityDuringFaults: inFault === 0 ? 1 : inFaultOk / inFault,
    faults: outcomes,
    series,
    bucketMs,
  };
}
