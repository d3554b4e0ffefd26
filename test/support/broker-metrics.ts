// Prometheus metrics of testkit brokers. The testkit gives every process the same environment and no
// --metrics-port, so this gives each broker its own port through a --require preload that reads the
// broker's own `--id` and sets RUNNEL_METRICS_PORT from a JSON map (the coordinator has no --id and
// is left alone).
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PRELOAD = `const i = process.argv.indexOf('--id');
const ports = JSON.parse(process.env.RUNNEL_TEST_METRICS_PORTS || '{}');
const id = i >= 0 ? process.argv[i + 1] : undefined;
if (id !== undefined && ports[id] !== undefined) process.env.RUNNEL_METRICS_PORT = String(ports[id]);
`;

/** Free loopback ports, all held open together so none is handed out twice, then released. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** An environment giving brokers 1..brokers a metrics port each, and those ports by broker id. */
export async function brokerMetricsEnv(base: NodeJS.ProcessEnv, brokers: number): Promise<{ env: NodeJS.ProcessEnv; ports: Map<number, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'runnel-metrics-preload-'));
  const preload = join(dir, 'metrics-port.cjs');
  writeFileSync(preload, PRELOAD);
  const list = await freePorts(brokers);
  const ports = new Map(list.map((p, i) => [i + 1, p]));
  const env = {
    ...base,
    NODE_OPTIONS: `${base.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
    RUNNEL_TEST_METRICS_PORTS: JSON.stringify(Object.fromEntries(ports)),
  };
  return { env, ports };
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Prometheus text format -> samples (enough of it for these metrics: no escapes in label values). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`GET /metrics on ${port}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function sum(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

/**
 * Resident set size of a process, in bytes (Linux /proc): all of it (VmRSS, as
 * process_resident_memory_bytes reports it) and its anonymous part (RssAnon: heap and buffers, not
 * the mapped files the page cache backs), or undefined when it cannot be read.
 */
/** VmRSS of a running process in bytes; throws when it cannot be read. */
export async function residentBytes(pid: number): Promise<number> {
  const r = await rssBytes(pid);
  if (r === undefined) throw new Error(`no VmRSS for pid ${pid}`);
  return r.rss;
}

export async function rssBytes(pid: number): Promise<{ rss: number; anon: number } | undefined> {
  const { readFile } = await import('node:fs/promises');
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    const anon = /RssAnon:\s+(\d+) kB/.exec(status);
    return rss === null ? undefined : { rss: Number(rss[1]) * 1024, anon: Number(anon?.[1] ?? rss[1]) * 1024 };
  } catch {
    return undefined;
  }
}
