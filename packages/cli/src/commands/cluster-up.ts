import { join, resolve } from 'node:path';
import { startCluster } from '@runnel/testkit';
import type { Cluster, FsyncPolicy, LogLevel, NodeHandle } from '@runnel/testkit';
import { EXIT_OK } from '../constants.js';
import type { CommandContext } from '../context.js';
import { formatEndpoints } from '../format.js';

export interface ClusterUpOptions {
  readonly brokers: number;
  readonly dataDir: string;
  readonly basePort: number;
  readonly sessionTimeoutMs?: number;
  readonly fsync?: FsyncPolicy;
  readonly logLevel: LogLevel;
}

function nodeName(node: NodeHandle): string {
  return node.role === 'coordinator' ? 'coordinator' : `broker ${node.id}`;
}

/**
 * `runnel cluster up`: a coordinator and N brokers on fixed loopback ports (coordinator on
 * base-port, broker i on base-port + i), data under --data-dir, in the foreground until
 * SIGINT/SIGTERM; then every child is stopped (brokers first) and the command exits 0.
 * A second signal while stopping (at least REPEAT_SIGNAL_MS_MIN after the first) kills the children at once.
 */
export async function clusterUp(opts: ClusterUpOptions, ctx: CommandContext): Promise<number> {
  const dataDir = resolve(ctx.cwd, opts.dataDir);
  const logDir = join(dataDir, 'logs');
  let stopping = false;
  const cluster: Cluster = await startCluster({
    brokers: opts.brokers,
    dataDir,
    logDir,
    basePort: opts.basePort,
    logLevel: opts.logLevel,
    ...(opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: opts.sessionTimeoutMs }),
    ...(opts.fsync === undefined ? {} : { fsync: opts.fsync }),
    onUnexpectedExit: (node, exit) => {
      if (stopping) return;
      ctx.output.stderr(`runnel: ${nodeName(node)} (pid ${node.pid ?? '?'}) exited unexpectedly (code ${String(exit.code)}, signal ${String(exit.signal)}); the others keep running. See ${node.logFile}\n`);
    },
  });
  // Children do not hold the event loop open; this does, until a signal arrives.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    const nodes = [cluster.coordinator, ...cluster.brokers];
    ctx.output.stdout(`runnel cluster up: coordinator and ${cluster.brokers.length} brokers, data in ${dataDir}\n`);
    ctx.output.stdout(formatEndpoints(nodes.map((n) => ({ role: n.role, id: n.id, address: n.address, pid: n.pid, logFile: n.logFile }))));
    ctx.output.stdout(`bootstrap: ${cluster.bootstrap}\n`);
    // The replication factor a topic gets by default here, as the README's first session uses.
    ctx.output.stdout(`try: runnel topic create demo --partitions 3 --replication ${Math.min(3, cluster.brokers.length)}\n`);
    ctx.output.stdout('press Ctrl-C to stop\n');
    ctx.shutdown.onRepeat(() => {
      ctx.output.stderr('runnel: second signal, killing the cluster now\n');
      for (const n of [...cluster.brokers, cluster.coordinator]) if (n.running) void cluster.kill(n).catch(() => undefined);
    });
    const signal = await ctx.shutdown.received;
    stopping = true;
    ctx.output.stderr(`runnel: ${signal}, stopping the cluster (data kept in ${dataDir})\n`);
    await cluster.stopAll({ removeData: false });
    ctx.output.stderr('runnel: cluster stopped\n');
    return EXIT_OK;
  } finally {
    clearInterval(keepAlive);
    stopping = true;
    await cluster.stopAll({ removeData: false });
  }
}
