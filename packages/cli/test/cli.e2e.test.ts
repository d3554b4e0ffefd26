import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, waitFor } from '@runnel/testkit';
import type { Cluster } from '@runnel/testkit';
import { CLI_MAIN, assertBuilt, freePortRange, pidAlive, runCli } from './run-cli.js';

const SESSION_TIMEOUT_MS = 1_500;

// Each runCli is a fresh node process (about 1 s to load the CLI on an idle 2-core machine, several
// on a loaded one); the group test runs 12 of them, so these tests get twice the default timeout.
describe('runnel (built) against a 3-broker cluster', { timeout: 120_000 }, () => {
  let cluster: Cluster;
  let bootstrap: string[];

  beforeAll(async () => {
    assertBuilt();
    cluster = await startCluster({ brokers: 3, sessionTimeoutMs: SESSION_TIMEOUT_MS, logLevel: 'warn' });
    bootstrap = ['--bootstrap', cluster.bootstrap];
  });

  afterAll(async () => {
    await cluster?.stopAll({ removeData: true });
  });

  it('topic create, list and describe --json', async () => {
    const created = await runCli(['topic', 'create', 'orders', '--partitions', '3', '--replication', '1', ...bootstrap]);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toContain('created topic orders: 3 partitions, replication 1');

    const listed = await runCli(['topic', 'list', '--json', ...bootstrap]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'orders', partitions: 3, replicationFactor: 1 })]);

    const described = await runCli(['topic', 'describe', 'orders', '--json', ...bootstrap]);
    expect(described.code).toBe(0);
    const doc = JSON.parse(described.stdout) as { name: string; topicId: string; replicationFactor: number; config: object; partitions: Record<string, unknown>[] };
    expect(Object.keys(doc)).toEqual(['name', 'topicId', 'replicationFactor', 'config', 'partitions']);
    expect(doc.partitions.map((p) => p['partition'])).toEqual([0, 1, 2]);
    for (const p of doc.partitions) {
      for (const key of ['partition', 'leader', 'replicas', 'inSyncReplicas', 'epoch', 'state', 'logStartOffset', 'highWatermark', 'logEndOffset']) expect(p).toHaveProperty(key);
      expect(p['highWatermark']).toBe(0);
      expect(p['state']).toBe('online');
    }

    expect(doc.config).toMatchObject({ uncleanLeaderElection: false });

    await runCli(['topic', 'create', 'lossy', '--partitions', '1', '--replication', '1', '--unclean-leader-election', ...bootstrap]);
    const lossy = JSON.parse((await runCli(['topic', 'describe', 'lossy', '--json', ...bootstrap])).stdout) as { config: object };
    expect(lossy.config).toMatchObject({ uncleanLeaderElection: true });
    expect((await runCli(['topic', 'describe', 'lossy', ...bootstrap])).stdout).toContain('unclean leader election YES (lossy)');

    const again = await runCli(['topic', 'create', 'orders', '--partitions', '3', ...bootstrap]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: TOPIC_ALREADY_EXISTS: /);
  });

  it('produce --json streams stdin lines; consume --from earliest --count returns them in order', async () => {
    await runCli(['topic', 'create', 'lines', '--partitions', '2', '--replication', '1', ...bootstrap]);
    const values = Array.from({ length: 500 }, (_, i) => `line-${i}`);
    const produced = await runCli(['produce', '--topic', 'lines', '--partition', '1', '--json', ...bootstrap], { input: `${values.join('\n')}\n` });
    expect(produced.code).toBe(0);
    const acks = produced.stdout.trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number });
    expect(acks).toEqual(values.map((_, i) => ({ partition: 1, offset: i })));

    const consumed = await runCli(['consume', '--topic', 'lines', '--from', 'earliest', '--count', '500', ...bootstrap]);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout).toBe(`${values.join('\n')}\n`);

    const json = await runCli(['consume', '--topic', 'lines', '--partition', '1', '--from', '498', '--count', '2', '--json', ...bootstrap]);
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l) as object)).toEqual([
      { partition: 1, offset: 498, key: null, value: 'line-498', timestampMs: expect.any(Number) },
      { partition: 1, offset: 499, key: null, value: 'line-499', timestampMs: expect.any(Number) },
    ]);

    const idle = await runCli(['consume', '--topic', 'lines', '--from', 'latest', '--timeout-ms', '300', ...bootstrap]);
    expect(idle).toMatchObject({ code: 0, stdout: '' });

    const describe = JSON.parse((await runCli(['topic', 'describe', 'lines', '--json', ...bootstrap])).stdout) as { partitions: { highWatermark: number }[] };
    expect(describe.partitions.map((p) => p.highWatermark)).toEqual([0, 500]);
  });

  it('produce without --partition keeps per-partition order; synthetic load prints throughput', async () => {
    await runCli(['topic', 'create', 'spread', '--partitions', '3', '--replication', '1', ...bootstrap]);
    const values = Array.from({ length: 300 }, (_, i) => `v${i}`);
    const produced = await runCli(['produce', '--topic', 'spread', '--json', ...bootstrap], { input: values.join('\n') });
    expect(produced.code).toBe(0);
    const acks = produced.stdout.trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number });
    expect(acks).toHaveLength(300);
    const consumed = await runCli(['consume', '--topic', 'spread', '--from', 'earliest', '--count', '300', '--json', ...bootstrap]);
    const records = consumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { partition: number; offset: number; value: string });
    const where = new Map(records.map((r) => [`${r.partition}/${r.offset}`, r.value]));
    acks.forEach((a, i) => expect(where.get(`${a.partition}/${a.offset}`)).toBe(values[i]));

    const synthetic = await runCli(['produce', '--topic', 'spread', '--count', '2000', '--size', '100', '--acks', 'leader', ...bootstrap]);
    expect(synthetic.code).toBe(0);
    expect(synthetic.stdout).toMatch(/^2000 records acknowledged, in [\d.]+ s, \d+ records\/s, [\d.]+ MB\/s, acks=leader, ack latency p50 [\d.]+ ms, p99 [\d.]+ ms\n$/);

    const unacked = await runCli(['produce', '--topic', 'spread', '--count', '200', '--size', '10', '--acks', 'none', ...bootstrap]);
    expect(unacked.code).toBe(0);
    expect(unacked.stdout).toMatch(/^200 records sent \(not acknowledged: --acks none\), in [\d.]+ s, .*acks=none, send latency p50 /);
    const lines = await runCli(['produce', '--topic', 'spread', '--acks', 'none', ...bootstrap], { input: 'x\ny\n' });
    expect(lines.code).toBe(0);
    expect(lines.stderr).toMatch(/^2 records sent \(not acknowledged: --acks none\)/);
  });

  it('errors: unknown topic exits 1 with error: CODE: message; a malformed --from exits 2', async () => {
    const produced = await runCli(['produce', '--topic', 'nope', ...bootstrap], { input: 'a\nb\n' });
    expect(produced.code).toBe(1);
    expect(produced.stderr).toMatch(/^error: UNKNOWN_TOPIC: /);
    const described = await runCli(['topic', 'describe', 'nope', ...bootstrap]);
    expect(described.code).toBe(1);
    expect(described.stderr).toMatch(/^error: UNKNOWN_TOPIC: /);
    const badFrom = await runCli(['consume', '--topic', 'lines', '--from', 'yesterday', ...bootstrap]);
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toContain('"yesterday" is not a position');
    const badFlag = await runCli(['topic', 'create', 'x', '--partitions', 'many', ...bootstrap]);
    expect(badFlag.code).toBe(2);
  });

  it('consume --group shares and commits; group list, describe (lag) and reset-offsets', async () => {
    await runCli(['topic', 'create', 'work', '--partitions', '2', ...bootstrap]);
    const values = Array.from({ length: 100 }, (_, i) => `w${i}`);
    await runCli(['produce', '--topic', 'work', '--partition', '0', ...bootstrap], { input: `${values.slice(0, 50).join('\n')}\n` });
    await runCli(['produce', '--topic', 'work', '--partition', '1', ...bootstrap], { input: `${values.slice(50).join('\n')}\n` });

    const first = await runCli(['consume', '--topic', 'work', '--group', 'g1', '--from', 'earliest', '--count', '60', ...bootstrap]);
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(['consume', '--topic', 'work', '--group', 'g1', '--from', 'earliest', '--count', '40', ...bootstrap]);
    expect(second.code, second.stderr).toBe(0);
    // The second member resumed from the first's commits: together, every record exactly once.
    expect([...first.stdout.trim().split('\n'), ...second.stdout.trim().split('\n')].sort()).toEqual([...values].sort());

    const listed = await runCli(['group', 'list', '--json', ...bootstrap]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ group: 'g1', state: 'Empty', members: 0 })]);
    const described = await runCli(['group', 'describe', 'g1', '--json', ...bootstrap]);
    const doc = JSON.parse(described.stdout) as { partitions: Array<{ partition: number; committedOffset: number; highWatermark: number; lag: number }> };
    expect(doc.partitions.map((p) => p.lag)).toEqual([0, 0]);
    expect(doc.partitions.reduce((n, p) => n + p.committedOffset, 0)).toBe(100);
    expect((await runCli(['group', 'describe', 'g1', ...bootstrap])).stdout).toMatch(/group g1: Empty, generation \d+, 0 member\(s\)/);

    const reset = await runCli(['group', 'reset-offsets', 'g1', '--to', 'earliest', ...bootstrap]);
    expect(reset.code, reset.stderr).toBe(0);
    const again = JSON.parse((await runCli(['group', 'describe', 'g1', '--json', ...bootstrap])).stdout) as typeof doc;
    expect(again.partitions.map((p) => p.committedOffset)).toEqual([0, 0]);
    expect(again.partitions.reduce((n, p) => n + p.lag, 0)).toBe(100);

    const unknown = await runCli(['group', 'describe', 'nobody', ...bootstrap]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^error: UNKNOWN_GROUP: /);
    const badFrom = await runCli(['consume', '--topic', 'work', '--group', 'g1', '--from', '5', ...bootstrap]);
    expect(badFrom.code).toBe(2);
  });

  it('cluster status: 0 when healthy, 1 once a killed broker is past its session timeout, 0 after restart', async () => {
    const healthy = await runCli(['cluster', 'status', ...bootstrap]);
    expect(healthy.code).toBe(0);
    expect(healthy.stdout).toContain('cluster is healthy');

    await cluster.kill(3);
    const statusJson = async (): Promise<{ code: number | null; doc: { healthy: boolean; brokers: { id: number; alive: boolean; health: string }[] } }> => {
      const r = await runCli(['cluster', 'status', '--json', ...bootstrap]);
      return { code: r.code, doc: JSON.parse(r.stdout) as never };
    };
    const dead = await waitFor(async () => {
      const s = await statusJson();
      return s.doc.brokers.find((b) => b.id === 3)?.alive === false ? s : undefined;
    }, { timeoutMs: SESSION_TIMEOUT_MS * 6, intervalMs: 200, description: 'broker 3 declared dead' });
    expect(dead.code).toBe(1);
    expect(dead.doc.healthy).toBe(false);
    expect(dead.doc.brokers.find((b) => b.id === 3)?.health).toBe('UNREACHABLE');

    await cluster.restart(3);
    await cluster.waitForHealthy(15_000);
    expect((await runCli(['cluster', 'status', ...bootstrap])).code).toBe(0);
  });
});

describe('runnel cluster up', () => {
  it('prints its endpoints, and on SIGINT stops every child and exits 0', async () => {
    assertBuilt();
    const dataDir = mkdtempSync(join(tmpdir(), 'runnel-cli-up-'));
    const basePort = await freePortRange(3);
    const child = spawn(process.execPath, [CLI_MAIN, 'cluster', 'up', '--brokers', '2', '--base-port', String(basePort), '--data-dir', dataDir, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => stdout.includes('runnel topic create demo --partitions 3 --replication 2') || child.exitCode !== null, { timeoutMs: 30_000, description: 'the endpoint table and the hint (replication min(3, brokers))' });
      expect(child.exitCode, stderr).toBeNull();
      const rows = [...stdout.matchAll(/│ (coordinator|broker)\s+│ (\d+)\s+│ (127\.0\.0\.1:\d+)\s+│ (\d+)\s+│ (\S+)/g)];
      expect(rows.map((r) => [r[1], Number(r[2]), r[3]])).toEqual([
        ['coordinator', 0, `127.0.0.1:${basePort}`],
        ['broker', 1, `127.0.0.1:${basePort + 1}`],
        ['broker', 2, `127.0.0.1:${basePort + 2}`],
      ]);
      const pids = rows.map((r) => Number(r[4]));
      expect(pids.every(pidAlive)).toBe(true);
      for (const r of rows) expect(existsSync(r[5] ?? '')).toBe(true);
      if (existsSync('/proc')) {
        const cmdline = readFileSync(`/proc/${pids[2]}/cmdline`, 'utf8').split('\0');
        expect(cmdline[cmdline.indexOf('--id') + 1]).toBe('2');
      }
      // The status command sees the cluster cluster up started.
      expect((await runCli(['cluster', 'status', '--bootstrap', `127.0.0.1:${basePort}`])).code).toBe(0);

      process.kill(child.pid ?? -1, 'SIGINT');
      const code = await Promise.race([exited, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000))]);
      expect(code, stderr).toBe(0);
      expect(pids.filter(pidAlive)).toEqual([]);
      expect(stderr).toContain('cluster stopped');
      expect(existsSync(join(dataDir, 'broker-1'))).toBe(true); // data kept
    } finally {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
