// `npm start` driven the way scripts and supervisors drive it: SIGTERM or SIGINT sent to npm's PID,
// or Ctrl-C to its process group, stops the CLI and all four servers cleanly and frees their ports;
// kill -9 of the CLI leaves no server behind (each stops itself when its IPC channel to the CLI
// closes), and kill -9 of npm none either (the CLI sees its parent change and stops the cluster); a
// start with nothing changed skips install and proto generation and serves within seconds. Linux
// only (/proc).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkHealth, readLogTail, waitFor } from '@runnel/testkit';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SERVERS = 4; // coordinator + 3 brokers, npm start's default
/** First start may rebuild what other work changed; later ones are the fast path. */
const START_MS_MAX = 60_000;
/** Brokers' controlled shutdown is bounded at 8 s; the CLI stops them in parallel. */
const STOP_MS_MAX = 20_000;
/**
 * With nothing changed: setup (about 1 s idle) and npm start to a running cluster (3–6 s, most of it
 * loading five Node processes). What proves the skip is the log (no install, no proto generation);
 * the times are printed, and bounded only loosely: the full suite runs beside this on 2 cores (20 s
 * seen there). Before, setup alone took 11–60 s.
 */
const SETUP_MS_MAX = 15_000;
const RESTART_MS_MAX = 45_000;

/** Every PID this file started or found under npm, killed by PID in afterAll if still alive. */
const started = new Set<number>();
const dataDirs: string[] = [];

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') out.push(Number(c));
    } catch {
      // the task ended meanwhile
    }
  }
  return out;
}

function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** The script a node process runs (its argv[1]); '' for anything else (npm's `sh -c …` included). */
function nodeScript(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return /(^|\/)node$/.test(argv[0] ?? '') ? (argv[1] ?? '') : '';
  } catch {
    return '';
  }
}

/** Alive and not a zombie (a reparented zombie may never be reaped in a container). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with base..base+SERVERS-1 all free (cluster up takes fixed consecutive ports). */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: SERVERS }, (_, i) => base + i);
    if ((await Promise.all(ports.map(portFree))).every(Boolean)) return base;
  }
  throw new Error('no free port range found');
}

interface NpmStart {
  readonly npm: ChildProcess;
  readonly npmPid: number;
  readonly dataDir: string;
  readonly basePort: number;
  /** ms from spawn to the CLI's "press Ctrl-C" line. */
  readonly startMs: number;
  readonly cliPid: number;
  readonly serverPids: readonly number[];
  /** Every process under npm once the cluster was up (the CLI, the servers, any shell between). */
  readonly tree: readonly number[];
  readonly output: () => { stdout: string; stderr: string };
}

/** `npm start` on free ports; `processGroup`: npm leads its own process group, as in a terminal. */
async function npmStart(opts: { dataDir?: string; processGroup?: boolean } = {}): Promise<NpmStart> {
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'runnel-start-'));
  if (opts.dataDir === undefined) dataDirs.push(dir);
  const basePort = await freeBasePort();
  const t0 = Date.now();
  const npm = spawn('npm', ['start', '--', '--data-dir', dir, '--base-port', String(basePort), '--log-level', 'info'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.processGroup ?? false });
  if (npm.pid === undefined) throw new Error('npm did not start');
  const npmPid = npm.pid;
  started.add(npmPid);
  let stdout = '';
  let stderr = '';
  npm.stdout?.on('data', (b: Buffer) => { stdout += b.toString(); });
  npm.stderr?.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-20_000); });
  // Record the tree as it grows, so afterAll can reach every process even if npm dies first.
  const watch = setInterval(() => { for (const p of descendantsOf(npmPid)) started.add(p); }, 100);
  try {
    await waitFor(() => stdout.includes('press Ctrl-C') || npm.exitCode !== null, { timeoutMs: START_MS_MAX, description: 'npm start to print "press Ctrl-C"' });
  } finally {
    clearInterval(watch);
  }
  const startMs = Date.now() - t0;
  expect(npm.exitCode, stderr).toBeNull();
  const tree = descendantsOf(npmPid);
  for (const p of tree) started.add(p);
  const cliPid = tree.find((p) => nodeScript(p).endsWith('cli/dist/main.js'));
  const serverPids = tree.filter((p) => /(coordinator|broker)\/dist\/main\.js$/.test(nodeScript(p)));
  expect(cliPid, `process tree under npm: ${tree.map((p) => `${p} ${cmdline(p)}`).join('\n')}`).toBeDefined();
  expect(serverPids).toHaveLength(SERVERS);
  for (let i = 0; i < SERVERS; i++) {
    await waitFor(async () => (await checkHealth(`127.0.0.1:${basePort + i}`)) === 'SERVING', { timeoutMs: 10_000, description: `port ${basePort + i} healthy` });
  }
  return { npm, npmPid, dataDir: dir, basePort, startMs, cliPid: cliPid ?? -1, serverPids, tree, output: () => ({ stdout, stderr }) };
}

/** scripts/setup.sh once, timed. */
async function setup(): Promise<{ code: number | null; ms: number; stderr: string }> {
  const t0 = Date.now();
  const child = spawn('bash', ['scripts/setup.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) started.add(child.pid);
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-20_000); });
  child.stderr.on('data', (b: Buffer) => { stderr = (stderr + b.toString()).slice(-20_000); });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, ms: Date.now() - t0, stderr };
}

/** Every process of the start has exited and every port is free, within STOP_MS_MAX. */
async function expectAllGone(s: NpmStart, why: string): Promise<void> {
  try {
    await allGone(s, why);
  } catch (err) {
    const tails = await Promise.all(['coordinator', 'broker-1', 'broker-2', 'broker-3'].map(async (n) => `--- ${n}.log\n${await readLogTail(join(s.dataDir, 'logs', `${n}.log`))}`));
    throw new Error(`${err instanceof Error ? err.message : String(err)}\nnpm stderr:\n${s.output().stderr}\n${tails.join('\n')}`);
  }
}

async function allGone(s: NpmStart, why: string): Promise<void> {
  await waitFor(async () => {
    const left = [s.npmPid, ...s.tree].filter(alive);
    if (left.length > 0) throw new Error(`still running: ${left.map((p) => `${p} ${cmdline(p)}`).join('; ')}`);
    for (let i = 0; i < SERVERS; i++) if (!(await portFree(s.basePort + i))) throw new Error(`port ${s.basePort + i} still taken`);
    return true;
  }, { timeoutMs: STOP_MS_MAX, intervalMs: 100, description: `every process and port of npm start to be gone after ${why}` });
}

/** Each server logged its clean stop (exitOnSignals logs "stopped" right before exit 0). */
function expectCleanStops(dataDir: string): void {
  for (const name of ['coordinator', 'broker-1', 'broker-2', 'broker-3']) {
    const log = readFileSync(join(dataDir, 'logs', `${name}.log`), 'utf8');
    expect(log, `${name} log`).toMatch(/"msg":"stopped"/);
  }
}

describe.skipIf(!existsSync('/proc/self/task'))('npm start and signals', { timeout: 90_000 }, () => {
  afterAll(() => {
    for (const pid of started) {
      if (alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
    }
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  it('with nothing changed npm start skips install and proto generation and serves within seconds; SIGTERM to the npm PID stops the CLI and every server cleanly and frees their ports', async () => {
    // Whatever state the tree is in, one setup brings its stamps and build up to date; after it,
    // nothing has changed.
    expect((await setup()).code).toBe(0);
    const again = await setup();
    expect(again.code, again.stderr).toBe(0);
    const s = await npmStart();
    process.stderr.write(`with nothing changed: scripts/setup.sh ${again.ms} ms; npm start to a running cluster ${s.startMs} ms\n`);
    process.kill(s.npmPid, 'SIGTERM');
    await expectAllGone(s, 'SIGTERM to npm');
    expect(s.output().stderr).toContain('runnel: cluster stopped');
    expectCleanStops(s.dataDir);
    for (const out of [again.stderr, s.output().stderr]) {
      expect(out).toContain('dependencies up to date');
      expect(out).not.toContain('installing dependencies');
      expect(out).not.toContain('generating proto types');
    }
    expect(again.ms).toBeLessThan(SETUP_MS_MAX);
    expect(s.startMs).toBeLessThan(RESTART_MS_MAX);
  });

  it('SIGINT to the npm PID stops the CLI and every server cleanly and frees their ports', async () => {
    const s = await npmStart();
    process.kill(s.npmPid, 'SIGINT');
    await expectAllGone(s, 'SIGINT to npm');
    expect(s.output().stderr).toContain('runnel: cluster stopped');
    expect(s.output().stderr).not.toContain('second signal');
    expectCleanStops(s.dataDir);
  });

  it('Ctrl-C (SIGINT to npm\'s whole process group, as a terminal sends it) stops everything cleanly, as one request', async () => {
    const s = await npmStart({ processGroup: true });
    // The CLI gets this SIGINT twice: from the "terminal" and forwarded by npm.
    process.kill(-s.npmPid, 'SIGINT');
    await expectAllGone(s, 'SIGINT to the process group');
    expect(s.output().stderr).toContain('runnel: cluster stopped');
    expect(s.output().stderr).not.toContain('second signal');
    expectCleanStops(s.dataDir);
  });

  it('after kill -9 of the CLI, every server stops by itself and frees its port', async () => {
    const s = await npmStart();
    process.kill(s.cliPid, 'SIGKILL');
    await expectAllGone(s, 'kill -9 of the CLI');
    expectCleanStops(s.dataDir);
  });

  it('after kill -9 of npm, the CLI stops the cluster by itself and every process exits', async () => {
    const s = await npmStart();
    process.kill(s.npmPid, 'SIGKILL');
    await expectAllGone(s, 'kill -9 of npm');
    expectCleanStops(s.dataDir);
  });
});
