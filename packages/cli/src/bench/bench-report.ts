import { table } from '../format.js';
import type { BenchReport, BenchResult } from './bench-result.js';

/** Pure formatting of bench results: every function returns text. */

function fixed(n: number, digits: number): string {
  return n.toFixed(digits);
}

function ms(n: number): string {
  return n >= 100 ? fixed(n, 0) : n >= 10 ? fixed(n, 1) : fixed(n, 2);
}

function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "52,310 records/s, 5.0 MiB/s" */
export function formatRate(r: BenchResult): string {
  return `${count(r.recordsPerSecond)} records/s, ${fixed(r.mibPerSecond, 1)} MiB/s`;
}

/** "p50 1.20 ms, p99 3.40 ms, p99.9 …, max …" */
export function formatLatency(r: BenchResult): string {
  const l = r.latencyMs;
  if (l === null) return 'no latency samples';
  return `p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms, p99.9 ${ms(l.p999)} ms, max ${ms(l.max)} ms`;
}

function latencyCells(r: BenchResult): string[] {
  const l = r.latencyMs;
  return l === null ? ['-', '-', '-', '-'] : [ms(l.p50), ms(l.p99), ms(l.p999), ms(l.max)];
}

/** The summary table of one run (one row per workload), with what shaped it. */
export function formatReport(report: BenchReport): string {
  const head = ['workload', 'partitions', 'replication', 'acks', 'record bytes', 'records', 'records/s', 'MiB/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'];
  const rows = report.results.map((r) => r.error !== null
    ? [r.workload, r.partitions, r.replication, r.acks, r.recordBytes, r.records, 'FAILED', '-', '-', '-', '-', '-']
    : [r.workload, r.partitions, r.replication, r.acks, r.recordBytes, r.records, count(r.recordsPerSecond), fixed(r.mibPerSecond, 1), ...latencyCells(r)]);
  const failures = report.results.filter((r) => r.error !== null).map((r) => `FAILED ${r.workload}: ${r.error ?? ''}\n`).join('');
  const m = report.machine;
  const load = `load average ${report.loadAverage.start.join(' ')} at the start, ${report.loadAverage.end.join(' ')} at the end`;
  return `${report.system} on ${report.target}\ndurability: ${report.durability}\nmachine: ${m.cpus} cpus (${m.cpuModel}), ${m.memoryGiB} GiB, node ${m.node}; ${load}\n${table(head, rows)}${failures}`;
}

/** One compared number of a workload. */
interface Metric {
  readonly name: string;
  readonly value: (r: BenchResult) => number | undefined;
  readonly digits: (n: number) => string;
}

const RATE_METRICS: readonly Metric[] = [
  { name: 'records/s', value: (r) => r.recordsPerSecond, digits: count },
  { name: 'MiB/s', value: (r) => r.mibPerSecond, digits: (n) => fixed(n, 1) },
];
const ACK_METRICS: readonly Metric[] = [
  { name: 'ack p50 ms', value: (r) => r.latencyMs?.p50, digits: ms },
  { name: 'ack p99 ms', value: (r) => r.latencyMs?.p99, digits: ms },
  { name: 'ack p99.9 ms', value: (r) => r.latencyMs?.p999, digits: ms },
  { name: 'ack max ms', value: (r) => r.latencyMs?.max, digits: ms },
];
const ROUND_TRIP_METRICS: readonly Metric[] = [
  { name: 'rtt p50 ms', value: (r) => r.latencyMs?.p50, digits: ms },
  { name: 'rtt p99 ms', value: (r) => r.latencyMs?.p99, digits: ms },
  { name: 'rtt p99.9 ms', value: (r) => r.latencyMs?.p999, digits: ms },
];
const END_TO_END_METRICS: readonly Metric[] = [
  { name: 'e2e p50 ms', value: (r) => r.latencyMs?.p50, digits: ms },
  { name: 'e2e p99 ms', value: (r) => r.latencyMs?.p99, digits: ms },
];

function metricsFor(kind: BenchResult['kind']): readonly Metric[] {
  switch (kind) {
    case 'throughput':
    case 'catch-up':
      return RATE_METRICS;
    case 'ack-latency':
      return ACK_METRICS;
    case 'end-to-end-latency':
      return END_TO_END_METRICS;
    case 'round-trip':
      return ROUND_TRIP_METRICS;
  }
}

/** "runnel, fsync always" */
export function reportLabel(report: BenchReport): string {
  return `${report.system}, fsync ${report.fsync}`;
}

/**
 * Side by side: one row per workload and metric, a column per report, and after each report but
 * the first its ratio to the first (the baseline). Workloads are matched by name.
 */
export function formatComparison(reports: readonly BenchReport[]): string {
  const [baseline, ...others] = reports;
  if (baseline === undefined) return 'nothing to compare\n';
  const head = ['workload', 'metric', reportLabel(baseline), ...others.flatMap((o) => [reportLabel(o), `ratio ${o.system}/${baseline.system}`])];
  const names: string[] = [];
  for (const r of reports.flatMap((x) => x.results)) if (!names.includes(r.workload)) names.push(r.workload);
  const rows: string[][] = [];
  for (const name of names) {
    const first = reports.flatMap((x) => x.results).find((r) => r.workload === name);
    if (first === undefined) continue;
    for (const metric of metricsFor(first.kind)) {
      const base = baseline.results.find((r) => r.workload === name);
      const baseValue = base === undefined || base.error !== null ? undefined : metric.value(base);
      const row = [name, metric.name, baseValue === undefined ? '-' : metric.digits(baseValue)];
      for (const o of others) {
        const r = o.results.find((x) => x.workload === name);
        const v = r === undefined || r.error !== null ? undefined : metric.value(r);
        row.push(v === undefined ? '-' : metric.digits(v));
        row.push(v === undefined || baseValue === undefined || baseValue === 0 ? '-' : `${fixed(v / baseValue, 2)}x`);
      }
      rows.push(row);
    }
  }
  const settings = reports.map((r) => `${reportLabel(r)}: ${r.durability}; load average ${r.loadAverage.start[0] ?? '?'} -> ${r.loadAverage.end[0] ?? '?'}\n`).join('');
  const sample = reports.flatMap((r) => r.results)[0];
  const shape = sample === undefined ? '' : `replication ${sample.replication}, acks ${sample.acks} (see --json for each workload's settings)\n`;
  return `${table(head, rows)}rates: higher is better; latencies: lower is better\n${shape}${settings}`;
}
