import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { ReadyMessage } from '@runnel/protocol';
import { service as healthService } from 'grpc-health-check';
import { afterEach, describe, expect, it } from 'vitest';
import { call, coordinatorClient, tempDir } from './helpers.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const READY_DEADLINE_MS = 15_000;
const EXIT_DEADLINE_MS = 12_000;

const children: ChildProcess[] = [];
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) process.kill(c.pid, 'SIGKILL');
  }
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx tsc -b packages/coordinator)`);
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, RUNNEL_LOG_LEVEL: 'warn' } });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

describe('runnel-coordinator process', () => {
  it('announces ready over IPC, serves health and the API, and exits 0 on SIGTERM', async () => {
    const tmp = await tempDir();
    cleanups.push(() => tmp.remove());
    const { child, exited, stderr } = run(['--data-dir', tmp.dir, '--port', '0']);
    const ready = await within(
      new Promise<ReadyMessage>((resolve, reject) => {
        child.on('message', (m) => {
          if ((m as ReadyMessage).type === 'ready') resolve(m as ReadyMessage);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code} before ready: ${stderr()}`)));
      }),
      READY_DEADLINE_MS,
      'the ready message',
    );
    expect(ready).toMatchObject({ type: 'ready', role: 'coordinator', id: 0, pid: child.pid });
    expect(ready.address).toMatch(/^127\.0\.0\.1:\d+$/);

    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(ready.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string | number }) => void): void;
    };
    cleanups.push(() => health.close());
    for (const svc of ['', 'runnel.v1.Coordinator']) {
      const res = await call<{ service: string }, { status: string | number }>(health.check.bind(health), { service: svc });
      expect(['SERVING', 1]).toContain(res.status);
    }
    const client = coordinatorClient(ready.address);
    cleanups.push(() => client.close());
    const m = await call(client.describeCluster.bind(client), {});
    expect(m.clusterId).toMatch(/^[0-9a-f-]{36}$/);

    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    expect(await within(exited, EXIT_DEADLINE_MS, 'exit after SIGTERM')).toBe(0);
  });

  it('exits 2 naming the flag on a bad or unknown flag', async () => {
    const bad = run(['--data-dir', '/tmp/x', '--port', '70000']);
    expect(await within(bad.exited, EXIT_DEADLINE_MS, 'exit')).toBe(2);
    expect(bad.stderr()).toContain('--port');
    const unknown = run(['--data-dir', '/tmp/x', '--brokers', '3']);
    expect(await within(unknown.exited, EXIT_DEADLINE_MS, 'exit')).toBe(2);
    expect(unknown.stderr()).toContain('--brokers');
    const combo = run(['--data-dir', '/tmp/x', '--session-timeout-ms', '1000', '--heartbeat-interval-ms', '600']);
    expect(await within(combo.exited, EXIT_DEADLINE_MS, 'exit')).toBe(2);
    expect(combo.stderr()).toContain('--heartbeat-interval-ms');
  });
});
