import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatComparison } from '../src/bench/bench-report.js';
import type { BenchReport, BenchResult } from '../src/bench/bench-result.js';
import { LatencySamples } from '../src/bench/latency-samples.js';
import { readStamp, stampedValue } from '../src/bench/payload.js';
import { defaultWorkloads } from '../src/bench/workload.js';
import { WorkloadFileError, parseWorkloadFile } from '../src/bench/workload-file.js';
import { assertBuilt, pidAlive, runCli } from './run-cli.js';

const WORKLOADS_DIR = fileURLToPath(new URL('../../../bench/workloads/', import.meta.url));

function parseError(text: string): string {
  try {
    parseWorkloadFile(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(WorkloadFileError);
    return (err as Error).message;
  }
  throw new Error('expected a WorkloadFileError');
}

describe('workload files', () => {
  it('expand lists of partitions and record sizes, with defaults per kind and per file', () => {
    const workloads = parseWorkloadFile(`
defaults:
  replication: 2
workloads:
  - kind: throughput
    partitions: [1, 6]
    recordBytes: 100
    records: 1000
  - kind: end-to-end-latency
    name: e2e
    ratePerSecond: 500
`, 'test.yaml');
    expect(workloads.map((w) => w.name)).toEqual(['throughput-1p-100b', 'throughput-6p-100b', 'e2e-1p-1024b']);
    expect(workloads[0]).toMatchObject({ kind: 'throughput', partitions: 1, recordBytes: 100, records: 1000, warmupRecords: 100, replication: 2, acks: 'quorum', lingerMs: 2 });
    expect(workloads[2]).toMatchObject({ kind: 'end-to-end-latency', partitions: 1, recordBytes: 1024, ratePerSecond: 500, replication: 2, lingerMs: 0 });
  });

  it('bench/workloads/standard.yaml is the default suite, and every example file parses', () => {
    expect(parseWorkloadFile(readFileSync(join(WORKLOADS_DIR, 'standard.yaml'), 'utf8'), 'standard.yaml')).toEqual(defaultWorkloads());
    const files = readdirSync(WORKLOADS_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const f of files) expect(parseWorkloadFile(readFileSync(join(WORKLOADS_DIR, f), 'utf8'), f).length).toBeGreaterThan(0);
  });

  it('refuse bad YAML, unknown keys, wrong types and bad combinations with the path of the field', () => {
    expect(parseError('workloads: [kind: throughput')).toMatch(/^workload file test\.yaml: not valid YAML: /);
    expect(parseError('workloads:\n  - kind: throughput\n    partitons: 3\n')).toMatch(/workloads\[0\]: .*partitons/);
    expect(parseError('workloads:\n  - kind: speed\n')).toMatch(/workloads\[0\]\.kind: /);
    expect(parseError('workloads:\n  - kind: throughput\n    partitions: 0\n')).toMatch(/workloads\[0\]\.partitions: /);
    expect(parseError('workloads:\n  - kind: throughput\n    records: "many"\n')).toMatch(/workloads\[0\]\.records: /);
    expect(parseError('workloads:\n  - kind: throughput\n    acks: some\n')).toMatch(/workloads\[0\]\.acks: /);
    expect(parseError('defaults:\n  kind: throughput\nworkloads:\n  - kind: throughput\n')).toMatch(/defaults: .*kind/);
    expect(parseError('workloads: []\n')).toMatch(/workloads: /);
    expect(parseError('- kind: throughput\n')).toMatch(/\(top level\): /);
    expect(parseError('workloads:\n  - kind: end-to-end-latency\n    recordBytes: 8\n')).toMatch(/recordBytes: end-to-end-latency records carry a 12-byte send-time header/);
    expect(parseError('workloads:\n  - kind: ack-latency\n    acks: none\n')).toMatch(/acks: ack-latency measures acknowledgements/);
    expect(parseError('workloads:\n  - kind: catch-up\n  - kind: catch-up\n')).toMatch(/two workloads are named "catch-up-1p-1024b"/);
  });
});

describe('bench pieces', () => {
  it('latency percentiles are nearest-rank over every sample', () => {
    const samples = new LatencySamples(1000);
    for (let i = 1000; i >= 1; i--) samples.add(i);
    expect(samples.summary()).toEqual({ p50: 500, p99: 990, p999: 999, max: 1000, samples: 1000 });
    expect(new LatencySamples(10).summary()).toEqual({ p50: 0, p99: 0, p999: 0, max: 0, samples: 0 });
  });

  it('a stamped payload carries its send time and sequence', () => {
    const value = stampedValue(Buffer.alloc(64, 0x61), 4_000_000_123, 1_700_000_000_123.25);
    expect(value.length).toBe(64);
    expect(readStamp(value.subarray(0))).toEqual({ sentAtMs: 1_700_000_000_123.25, sequence: 4_000_000_123 });
    expect(value[63]).toBe(0x61);
  });

  it('the comparison puts the first report as baseline and divides by it', () => {
    const result = (system: 'runnel' | 'jetstream', rate: number): BenchResult => ({
      system, workload: 'throughput-1p-100b', kind: 'throughput', fsync: 'x', partitions: 1, replication: 3, acks: 'quorum', recordBytes: 100,
      records: 10, warmupRecords: 0, inFlightRecordsMax: 1, ratePerSecond: null, lingerMs: null, seconds: 1, recordsPerSecond: rate,
      mibPerSecond: rate / 10_000, latencyMs: null, error: null,
    });
    const report = (system: 'runnel' | 'jetstream', fsync: string, rate: number): BenchReport => ({
      system, target: 't', pids: null, fsync, durability: 'd', startedAt: '', results: [result(system, rate)],
      machine: { cpus: 2, cpuModel: 'cpu', memoryGiB: 1, node: 'v20', platform: 'linux' }, loadAverage: { start: [1, 1, 1], end: [2, 2, 2] },
    });
    const text = formatComparison([report('jetstream', 'every 2 min', 1000), report('runnel', 'always', 1500)]);
    expect(text).toContain('jetstream, fsync every 2 min');
    expect(text).toContain('ratio runnel/jetstream');
    expect(text).toMatch(/throughput-1p-100b\s*│ records\/s\s*│ 1,000\s*│ 1,500\s*│ 1\.50x/);
  });
});

describe('runnel bench (built) on its own cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one small workload of each kind, reports JSON with every field, and stops its cluster', async () => {
    assertBuilt();
    const file = join(dir, 'smoke.yaml');
    writeFileSync(file, `
defaults: { records: 200, warmupRecords: 20 }
workloads:
  - { kind: throughput, partitions: 2, recordBytes: 100 }
  - { kind: ack-latency, recordBytes: 1024 }
  - { kind: end-to-end-latency, recordBytes: 1024, ratePerSecond: 2000 }
  - { kind: catch-up, recordBytes: 1024 }
  - { kind: round-trip }
`);
    const run = await runCli(['bench', '--workload', file, '--fsync', 'never', '--json', '--no-progress'], { timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as BenchReport;
    expect(report).toMatchObject({ system: 'runnel', fsync: 'never', durability: 'fsync never on every broker' });
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.loadAverage.end).toHaveLength(3);
    expect(report.results.map((r) => r.workload)).toEqual(['throughput-2p-100b', 'ack-latency-1p-1024b', 'end-to-end-latency-1p-1024b', 'catch-up-1p-1024b', 'round-trip-1p']);
    for (const r of report.results) {
      expect(r).toMatchObject({ system: 'runnel', fsync: 'never', replication: 3, acks: 'quorum', records: 200, error: null });
      expect(r.recordsPerSecond).toBeGreaterThan(0);
      if (r.kind === 'round-trip') expect(r.mibPerSecond).toBe(0); // no records, only requests
      else expect(r.mibPerSecond).toBeGreaterThan(0);
      expect(r.seconds).toBeGreaterThan(0);
    }
    const [throughput, ack, e2e, , roundTrip] = report.results;
    expect(throughput).toMatchObject({ partitions: 2, recordBytes: 100, latencyMs: null });
    for (const r of [ack, e2e, roundTrip]) {
      expect(r?.latencyMs?.samples).toBe(200);
      expect(r?.latencyMs?.p50).toBeGreaterThan(0);
      expect(r?.latencyMs?.p99).toBeGreaterThanOrEqual(r?.latencyMs?.p50 ?? 0);
      expect(r?.latencyMs?.max).toBeGreaterThanOrEqual(r?.latencyMs?.p999 ?? 0);
    }
    expect(report.pids).toHaveLength(4);
    for (const pid of report.pids ?? []) expect(pidAlive(pid)).toBe(false);
  });

  it('refuses a bad workload file with a usage error', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'workloads:\n  - kind: throughput\n    partitions: -1\n');
    const run = await runCli(['bench', '--workload', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: workload file .*bad\.yaml: workloads\[0\]\.partitions: /);
  });
});
