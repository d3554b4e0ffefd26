import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { startCluster } from '@runnel/testkit';
import type { Cluster, FsyncPolicy } from '@runnel/testkit';
import type { BenchProgress } from '../bench/bench-progress.js';
import { SILENT_PROGRESS, stderrProgress } from '../bench/bench-progress.js';
import { formatComparison, formatReport } from '../bench/bench-report.js';
import type { BenchReport } from '../bench/bench-result.js';
import type { BenchSystem, SystemName } from '../bench/bench-system.js';
import { BENCH_BROKERS, CLUSTER_READY_MS_MAX, RECORDS_MAX } from '../bench/constants.js';
import { JetStreamSystem } from '../bench/jetstream-system.js';
import { loadAverage, machineInfo } from '../bench/machine-info.js';
import { RunnelSystem } from '../bench/runnel-system.js';
import { runWorkloads } from '../bench/run-workloads.js';
import { WORKLOAD_KINDS, defaultWorkloads, withRecords } from '../bench/workload.js';
import type { Workload, WorkloadKind } from '../bench/workload.js';
import { loadWorkloadFile } from '../bench/workload-file.js';
import { openClient } from '../client-factory.js';
import { EXIT_FAILURE, EXIT_OK } from '../constants.js';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { jsonDocument } from '../format.js';
import { integerIn, parseAddress, parseFsync } from '../options.js';
import { processOutput } from '../output.js';

/** The fsync policy of the cluster the bench starts when none is asked for (the brokers' default). */
const FSYNC_DEFAULT: FsyncPolicy = 'always';
/** How JetStream syncs when its servers run with defaults (`sync_interval`: 2 minutes). */
const JETSTREAM_SYNC_DEFAULT = 'every 2 min (server default)';

/** A type (not an interface) so it passes as the runner's Record of options. */
export type BenchOptions = {
  readonly workload?: string;
  readonly records?: number;
  readonly only?: readonly WorkloadKind[];
  readonly bootstrap?: string;
  readonly fsync?: FsyncPolicy;
  readonly system: SystemName;
  readonly nats?: readonly string[];
  readonly natsSync?: string;
  readonly json?: boolean;
  readonly progress: boolean;
  readonly compare?: readonly string[];
};

function parseKinds(value: string): WorkloadKind[] {
  const kinds = value.split(',').map((k) => k.trim()).filter((k) => k !== '');
  const out: WorkloadKind[] = [];
  for (const k of kinds) {
    const found = WORKLOAD_KINDS.find((x) => x === k);
    if (found === undefined) throw new InvalidArgumentError(`unknown workload kind "${k}"; expected ${WORKLOAD_KINDS.join(', ')}.`);
    out.push(found);
  }
  if (out.length === 0) throw new InvalidArgumentError('name at least one workload kind.');
  return out;
}

function parseServers(value: string): string[] {
  const servers = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new InvalidArgumentError('give at least one server, e.g. nats://127.0.0.1:4222.');
  return servers;
}

/** Flag combinations commander cannot express. */
export function checkBenchOptions(opts: BenchOptions): void {
  if (opts.compare !== undefined) {
    const other = opts.workload ?? opts.records ?? opts.only ?? opts.bootstrap ?? opts.fsync ?? opts.nats;
    if (other !== undefined || opts.system !== 'runnel') throw new UsageError('--compare prints earlier --json results side by side; it runs nothing, so it takes no other option but --json');
    return;
  }
  if (opts.system === 'jetstream') {
    if (opts.nats === undefined) throw new UsageError('--system jetstream needs --nats nats://host:port[,…] (a running JetStream cluster)');
    if (opts.bootstrap !== undefined || opts.fsync !== undefined) throw new UsageError('--bootstrap and --fsync are for Runnel; JetStream takes --nats (and --nats-sync to label its sync policy)');
    return;
  }
  if (opts.nats !== undefined || opts.natsSync !== undefined) throw new UsageError('--nats and --nats-sync go with --system jetstream');
  if (opts.bootstrap !== undefined && opts.fsync !== undefined) {
    throw new UsageError('--fsync sets the brokers of the cluster the bench starts; with --bootstrap the existing brokers keep their own policy');
  }
}

/** The bench's workloads: the file's or the standard suite, filtered by kind, records overridden. */
async function selectWorkloads(opts: BenchOptions, ctx: CommandContext): Promise<Workload[]> {
  let workloads = opts.workload === undefined ? defaultWorkloads() : await loadWorkloadFile(resolve(ctx.cwd, opts.workload));
  if (opts.only !== undefined) {
    const only = opts.only;
    workloads = workloads.filter((w) => only.includes(w.kind));
    if (workloads.length === 0) throw new UsageError(`--only ${only.join(',')}: no workload of that kind to run`);
  }
  return opts.records === undefined ? workloads : withRecords(workloads, opts.records);
}

function progressFor(opts: BenchOptions, ctx: CommandContext): BenchProgress {
  if (!opts.progress) return SILENT_PROGRESS;
  // Context carries no terminal facts: a bar only when writing to this process's own stderr TTY.
  const tty = ctx.output === processOutput && process.stderr.isTTY;
  return stderrProgress(ctx.output, { isTTY: tty, columns: tty ? process.stderr.columns : 80 });
}

function isReport(value: unknown): value is BenchReport {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Partial<BenchReport>;
  return (r.system === 'runnel' || r.system === 'jetstream') && Array.isArray(r.results) && typeof r.fsync === 'string'
    && typeof r.durability === 'string' && typeof r.loadAverage === 'object' && r.loadAverage !== null;
}

async function compare(files: readonly string[], opts: BenchOptions, ctx: CommandContext): Promise<number> {
  const reports: BenchReport[] = [];
  for (const file of files) {
    let value: unknown;
    try {
      value = JSON.parse(await readFile(resolve(ctx.cwd, file), 'utf8'));
    } catch (err) {
      throw new UsageError(`--compare ${file}: not a readable JSON file (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!isReport(value)) throw new UsageError(`--compare ${file}: not the output of runnel bench --json`);
    reports.push(value);
  }
  ctx.output.stdout(opts.json === true ? jsonDocument({ reports }) : formatComparison(reports));
  return EXIT_OK;
}

interface Target {
  readonly system: BenchSystem;
  readonly fsync: string;
  readonly description: string;
  /** PIDs of the processes the bench started (and stops), or null. */
  readonly pids: readonly number[] | null;
  /** Closes the client and stops whatever the bench started (by the PIDs it holds). */
  close(): Promise<void>;
}

async function openTarget(opts: BenchOptions, ctx: CommandContext): Promise<Target> {
  if (opts.system === 'jetstream') {
    const fsync = opts.natsSync ?? JETSTREAM_SYNC_DEFAULT;
    const system = await JetStreamSystem.open(opts.nats ?? [], fsync);
    return { system, fsync, description: `JetStream at ${(opts.nats ?? []).join(',')}`, pids: null, close: () => system.close() };
  }
  if (opts.bootstrap !== undefined) {
    const system = new RunnelSystem(openClient(opts.bootstrap, ctx), 'unknown');
    return { system, fsync: 'unknown', description: `the cluster at ${opts.bootstrap}`, pids: null, close: () => system.close() };
  }
  const fsync = opts.fsync ?? FSYNC_DEFAULT;
  let stopping = false;
  const cluster: Cluster = await startCluster({
    brokers: BENCH_BROKERS,
    fsync,
    logLevel: 'warn',
    onUnexpectedExit: (node, exit) => {
      if (!stopping) ctx.output.stderr(`runnel bench: ${node.role} ${node.id} (pid ${node.pid ?? '?'}) exited unexpectedly (code ${String(exit.code)}, signal ${String(exit.signal)}); see ${node.logFile}\n`);
    },
  });
  const stop = async (): Promise<void> => {
    stopping = true;
    await cluster.stopAll({ removeData: true });
  };
  try {
    await cluster.waitForHealthy(CLUSTER_READY_MS_MAX);
  } catch (err) {
    await stop();
    throw err;
  }
  const system = new RunnelSystem(openClient(cluster.bootstrap, ctx), fsync);
  const pids = [cluster.coordinator, ...cluster.brokers].flatMap((n) => (n.pid === undefined ? [] : [n.pid]));
  return {
    system,
    fsync,
    description: `own cluster: coordinator + ${BENCH_BROKERS} brokers on 127.0.0.1 (pids ${pids.join(',')}), data in ${cluster.dataDir}`,
    pids,
    close: async () => {
      try {
        await system.close();
      } finally {
        await stop();
      }
    },
  };
}

/**
 * `runnel bench`: runs the standard workloads (or a workload file's) against a fresh 3-broker
 * cluster it starts and stops itself, an existing cluster (--bootstrap), or JetStream (--nats);
 * prints a summary table, or the report as JSON. SIGINT/SIGTERM stop the run and the cluster.
 */
export async function bench(opts: BenchOptions, ctx: CommandContext): Promise<number> {
  checkBenchOptions(opts);
  if (opts.compare !== undefined) return compare(opts.compare, opts, ctx);
  const workloads = await selectWorkloads(opts, ctx);
  const progress = progressFor(opts, ctx);
  const abort = new AbortController();
  ctx.shutdown.received.then((signal) => abort.abort(new Error(`interrupted by ${signal}`)), () => undefined);
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const target = await openTarget(opts, ctx);
  let report: BenchReport;
  try {
    ctx.output.stderr(`runnel bench: ${workloads.length} workload(s) against ${target.description}; ${target.system.durability}\n`);
    const results = await runWorkloads({ system: target.system, fsync: target.fsync, progress, signal: abort.signal }, workloads);
    report = {
      system: target.system.system,
      target: target.description,
      pids: target.pids,
      fsync: target.fsync,
      durability: target.system.durability,
      startedAt,
      machine: machineInfo(),
      loadAverage: { start: loadAtStart, end: loadAverage() },
      results,
    };
  } finally {
    progress.stop();
    await target.close();
  }
  ctx.output.stdout(opts.json === true ? jsonDocument(report) : formatReport(report));
  return report.results.some((r) => r.error !== null) ? EXIT_FAILURE : EXIT_OK;
}

/** The program's Runner (program.ts), restated here so the two modules do not import each other. */
type BenchRunner = (command: string, options: Readonly<Record<string, unknown>>, run: () => Promise<number>) => Promise<void>;

/** Adds `runnel bench` to the program. */
export function registerBench(program: Command, ctx: CommandContext, runner: BenchRunner): void {
  program
    .command('bench')
    .description('benchmark workloads (throughput, ack latency, end-to-end latency, catch-up read, request round trip) on a fresh local cluster, an existing one, or JetStream')
    .option('--workload <file.yaml>', 'workloads from a YAML file (default: the standard suite; examples in bench/workloads/)')
    .option('--records <n>', 'measured records of every workload (overrides the file or defaults)', integerIn(1, RECORDS_MAX))
    .option('--only <kinds>', `run only these kinds, comma-separated: ${WORKLOAD_KINDS.join(', ')}`, parseKinds)
    .option('--fsync <policy>', `fsync policy of the brokers the bench starts: always (default), never or interval:MS`, parseFsync)
    .option('--bootstrap <host:port>', 'measure an existing Runnel cluster instead of starting one', parseAddress)
    .addOption(new Option('--system <name>', 'system under test').choices(['runnel', 'jetstream']).default('runnel'))
    .option('--nats <urls>', 'JetStream servers, comma-separated (with --system jetstream)', parseServers)
    .option('--nats-sync <text>', `how the JetStream servers sync to disk, for the report only (default "${JETSTREAM_SYNC_DEFAULT}")`)
    .option('--json', 'print the report as JSON (progress still goes to stderr)')
    .option('--no-progress', 'no progress on stderr')
    .option('--compare <files...>', 'run nothing: print earlier --json reports side by side, the first as the baseline of the ratios')
    .action((opts: BenchOptions) => runner('bench', opts, () => bench(opts, ctx)));
}
