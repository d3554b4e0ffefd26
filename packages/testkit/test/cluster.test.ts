import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth, startCluster, waitFor } from '../src/index.js';
import type { Cluster, ExitInfo, NodeHandle } from '../src/index.js';

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const SESSION_TIMEOUT_MS = 1_500;

describe('startCluster (real processes on 127.0.0.1)', () => {
  let cluster: Cluster;
  const unexpected: { node: NodeHandle; exit: ExitInfo }[] = [];

  beforeAll(async () => {
    cluster = await startCluster({
      brokers: 3,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      logLevel: 'warn',
      onUnexpectedExit: (node, exit) => unexpected.push({ node, exit }),
    });
  });

  afterAll(async () => {
    await cluster?.stopAll({ removeData: true });
  });

  it('starts a coordinator and brokers on distinct free ports, each with its log file', async () => {
    const nodes = [cluster.coordinator, ...cluster.brokers];
    expect(cluster.brokers.map((b) => b.id)).toEqual([1, 2, 3]);
    expect(new Set(nodes.map((n) => n.address)).size).toBe(4);
    expect(cluster.bootstrap).toBe(cluster.coordinator.address);
    expect(cluster.node('coordinator')).toBe(cluster.coordinator);
    expect(cluster.node(2)).toBe(cluster.brokers[1]);
    expect(cluster.node('broker-3')).toBe(cluster.brokers[2]);
    for (const n of nodes) {
      expect(n.running).toBe(true);
      expect(alive(n.pid)).toBe(true);
      expect(existsSync(n.logFile)).toBe(true);
      expect(n.dataDir.startsWith(cluster.dataDir)).toBe(true);
    }
    await cluster.waitForHealthy(15_000);
  });

  it('kill: SIGKILL by pid, resolves once it has exited; restart: same id and port, new pid', async () => {
    const broker = cluster.node(2);
    const { pid, address } = broker;
    await cluster.kill(broker);
    expect(broker.running).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(await checkHealth(address, { timeoutMs: 500 })).toBe('UNREACHABLE');

    await cluster.restart(broker);
    expect(broker.running).toBe(true);
    expect(broker.address).toBe(address);
    expect(broker.pid).not.toBe(pid);
    await cluster.waitForHealthy(15_000);
  });

  it('stop: SIGTERM, resolves on a clean exit; restart brings it back', async () => {
    const broker = cluster.node(3);
    const { pid } = broker;
    await cluster.stop(broker);
    expect(broker.running).toBe(false);
    expect(alive(pid)).toBe(false);
    await cluster.restart(3);
    expect(broker.running).toBe(true);
    await cluster.waitForHealthy(15_000);
  });

  it('pause and resume: SIGSTOP then SIGCONT', async () => {
    const broker = cluster.node(1);
    cluster.pause(broker);
    expect(broker.paused).toBe(true);
    expect(await checkHealth(broker.address, { timeoutMs: 300 })).toBe('UNREACHABLE');
    cluster.resume(broker);
    expect(broker.paused).toBe(false);
    await waitFor(async () => (await checkHealth(broker.address)) === 'SERVING', { timeoutMs: 10_000 });
  });

  it('reports a process that dies without being asked to', async () => {
    expect(unexpected).toEqual([]);
    const broker = cluster.node(1);
    process.kill(broker.pid ?? -1, 'SIGKILL');
    const seen = await waitFor(() => unexpected.find((u) => u.node === broker), { timeoutMs: 5_000 });
    expect(seen.exit).toEqual({ code: null, signal: 'SIGKILL', expected: false });
    expect(broker.running).toBe(false);
    await cluster.restart(broker);
    await cluster.waitForHealthy(15_000);
  });
});

describe('startCluster failures and stopAll', () => {
  it('rejects with the log tail when a process cannot start, leaving nothing running', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      await expect(startCluster({ brokers: 1, basePort: port, readyTimeoutMs: 15_000 })).rejects.toThrow(/coordinator .*(exited before it was ready|not ready)[\s\S]*coordinator\.log/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('stopAll stops every process by pid and removes a temporary data folder', async () => {
    const cluster = await startCluster({ brokers: 1, logLevel: 'warn' });
    const pids = [cluster.coordinator.pid, ...cluster.brokers.map((b) => b.pid)];
    expect(pids.every(alive)).toBe(true);
    await cluster.stopAll({ removeData: true });
    expect(pids.some(alive)).toBe(false);
    expect(cluster.coordinator.running).toBe(false);
    expect(existsSync(cluster.dataDir)).toBe(false);
  });

  it('validates options before starting anything', async () => {
    await expect(startCluster({ brokers: 0 })).rejects.toThrow(/brokers must be/);
    await expect(startCluster({ sessionTimeoutMs: 1000, heartbeatIntervalMs: 600 })).rejects.toThrow(/less than half/);
    await expect(startCluster({ fsync: 'sometimes' as 'always' })).rejects.toThrow(/fsync/);
  });
});
