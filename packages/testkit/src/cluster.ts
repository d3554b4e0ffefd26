import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveClusterOptions } from './cluster-options.js';
import type { ClusterOptions, ResolvedClusterOptions } from './cluster-options.js';
import { LOOPBACK_HOST } from './constants.js';
import { ClusterNetwork } from './cluster-network.js';
import { CoordinatorProbe } from './coordinator-probe.js';
import { checkHealth } from './health-check.js';
import { locateMain } from './locate.js';
import { ManagedNode } from './managed-node.js';
import type { NodeHandle } from './managed-node.js';
import { waitFor } from './wait-for.js';

/** A node by handle, broker id, 'coordinator', or 'broker-<id>'. */
export type NodeRef = NodeHandle | number | 'coordinator' | `broker-${number}`;

export interface StopAllOptions {
  /** Also delete the cluster's data folder (logs included). */
  readonly removeData?: boolean;
}

/** A running coordinator and brokers on loopback. */
export interface Cluster {
  readonly coordinator: NodeHandle;
  readonly brokers: readonly NodeHandle[];
  /** The coordinator's address, for RunnelClient({ bootstrap }). */
  readonly bootstrap: string;
  readonly dataDir: string;
  readonly logDir: string;
  node(ref: NodeRef): NodeHandle;
  /** SIGKILL; resolves once it has exited. */
  kill(ref: NodeRef): Promise<void>;
  /** SIGTERM; resolves once it has exited, rejects unless it exited with code 0. */
  stop(ref: NodeRef): Promise<void>;
  /** SIGSTOP. */
  pause(ref: NodeRef): void;
  /** SIGCONT. */
  resume(ref: NodeRef): void;
  /**
   * Starts the node again with the same id, data folder and port; resolves once it is ready.
   * A node still running is stopped (SIGTERM) first.
   */
  restart(ref: NodeRef): Promise<void>;
  /**
   * SIGTERM every running node (brokers first, then the coordinator), SIGKILL whatever is still
   * running after a bounded wait; optionally deletes the data folder.
   */
  stopAll(options?: StopAllOptions): Promise<void>;
  /**
   * Resolves once the coordinator and every running broker answer health checks with SERVING, the
   * coordinator reports every running broker alive, and every partition has a running leader.
   */
  waitForHealthy(timeoutMs: number): Promise<void>;
  /** The fault proxies of every link (only with `networkFaults: true`). */
  readonly network: ClusterNetwork | undefined;
  /** Options for a RunnelClient of this cluster: bootstrap, and with networkFaults the client's proxies. */
  clientOptions(): { bootstrap: string; addressMap: Record<string, string> };
  /**
   * Simulated power loss of a broker (needs `powerLoss: true`): SIGKILL, and its next start
   * discards every write it had not fsynced. Resolves once it has exited.
   */
  powerLoss(ref: NodeRef): Promise<void>;
  /** Deletes a stopped node's data folder (it lost its disk); it starts empty on restart. */
  wipe(ref: NodeRef): Promise<void>;
}

/**
 * Free loopback ports, held (listening) until `release()` so they are distinct and nothing else this
 * process binds meanwhile (the fault proxies) can take one.
 */
async function freePorts(n: number): Promise<{ ports: number[]; release(): Promise<void> }> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => resolvePort(server));
  })));
  return {
    ports: servers.map((srv) => (srv.address() as { port: number }).port),
    release: async () => {
      await Promise.all(servers.map((srv) => new Promise<void>((done) => srv.close(() => done()))));
    },
  };
}

/** Attempts of startCluster when a port it picked was taken before its process could bind it. */
const PORT_RACE_ATTEMPTS_MAX = 3;

class LocalCluster implements Cluster {
  readonly coordinator: ManagedNode;
  readonly brokers: readonly ManagedNode[];
  readonly dataDir: string;
  readonly logDir: string;
  readonly #options: ResolvedClusterOptions;
  readonly network: ClusterNetwork | undefined;
  /** Brokers whose next start discards unsynced writes (after powerLoss). */
  readonly #powerLost = new Set<number>();
  readonly #onProcessExit = (): void => {
    for (const node of this.#all()) if (node.running) node.killNow();
  };

  constructor(options: ClusterOptions, resolved: ResolvedClusterOptions, dataDir: string, logDir: string, ports: readonly number[] | undefined, network: ClusterNetwork | undefined) {
    this.#options = resolved;
    this.dataDir = dataDir;
    this.logDir = logDir;
    this.network = network;
    const baseEnv = options.env ?? process.env;
    const envFor = (name: string): NodeJS.ProcessEnv => (network === undefined ? baseEnv : { ...baseEnv, RUNNEL_DIAL_MAP: JSON.stringify(network.dialMap(name)) });
    const portOf = (index: number): number => ports?.[index] ?? (resolved.basePort === 0 ? 0 : resolved.basePort + index);
    const env = envFor('coordinator');
    const common = ['--host', LOOPBACK_HOST, '--log-level', resolved.logLevel];
    this.coordinator = new ManagedNode({
      role: 'coordinator',
      id: 0,
      mainJs: locateMain('coordinator'),
      dataDir: join(dataDir, 'coordinator'),
      logFile: join(logDir, 'coordinator.log'),
      port: portOf(0),
      env,
      args: (port) => [
        '--data-dir', join(dataDir, 'coordinator'), ...common, '--port', String(port),
        ...(resolved.sessionTimeoutMs === undefined ? [] : ['--session-timeout-ms', String(resolved.sessionTimeoutMs)]),
        ...(resolved.heartbeatIntervalMs === undefined ? [] : ['--heartbeat-interval-ms', String(resolved.heartbeatIntervalMs)]),
      ],
    });
    const brokerMain = locateMain('broker');
    const brokers: ManagedNode[] = [];
    for (let id = 1; id <= resolved.brokers; id++) {
      const brokerDir = join(dataDir, `broker-${id}`);
      brokers.push(new ManagedNode({
        role: 'broker',
        id,
        mainJs: brokerMain,
        dataDir: brokerDir,
        logFile: join(logDir, `broker-${id}.log`),
        port: portOf(id),
        env: envFor(`broker-${id}`),
        args: (port) => [
          '--id', String(id), '--data-dir', brokerDir, ...common, '--port', String(port),
          '--coordinator', this.coordinator.address,
          ...(resolved.fsync === undefined ? [] : ['--fsync', resolved.fsync]),
          ...(resolved.powerLoss ? ['--test-power-loss', this.#powerLost.delete(id) ? 'recover' : 'track'] : []),
          ...(resolved.testFault === undefined ? [] : ['--test-fault', resolved.testFault]),
        ],
      }));
    }
    this.brokers = brokers;
    const onUnexpectedExit = options.onUnexpectedExit;
    if (onUnexpectedExit !== undefined) {
      for (const node of this.#all()) {
        node.onExit = (n, exit) => { if (!exit.expected) onUnexpectedExit(n, exit); };
      }
    }
    process.on('exit', this.#onProcessExit);
  }

  get bootstrap(): string {
    return this.coordinator.address;
  }

  clientOptions(): { bootstrap: string; addressMap: Record<string, string> } {
    return { bootstrap: this.coordinator.address, addressMap: this.network?.dialMap('client') ?? {} };
  }

  async powerLoss(ref: NodeRef): Promise<void> {
    const node = this.#resolve(ref);
    if (!this.#options.powerLoss) throw new Error('powerLoss needs a cluster started with powerLoss: true');
    if (node.role !== 'broker') throw new Error('only brokers simulate power loss');
    await node.kill();
    this.#powerLost.add(node.id);
  }

  async wipe(ref: NodeRef): Promise<void> {
    const node = this.#resolve(ref);
    if (node.running) throw new Error(`${node.name} is running: stop or kill it before wiping its disk`);
    await rm(node.dataDir, { recursive: true, force: true });
  }

  #all(): ManagedNode[] {
    return [this.coordinator, ...this.brokers];
  }

  #resolve(ref: NodeRef): ManagedNode {
    if (ref === 'coordinator') return this.coordinator;
    if (typeof ref === 'object') {
      const found = this.#all().find((n) => n === ref || (n.role === ref.role && n.id === ref.id));
      if (found === undefined) throw new Error(`${ref.role} ${ref.id} is not part of this cluster`);
      return found;
    }
    const id = typeof ref === 'number' ? ref : Number(ref.slice('broker-'.length));
    const found = this.brokers.find((b) => b.id === id);
    if (found === undefined) throw new Error(`no broker ${String(ref)} in this cluster (brokers 1..${this.brokers.length})`);
    return found;
  }

  async start(): Promise<void> {
    await this.coordinator.start(this.#options.readyTimeoutMs);
    const started = await Promise.allSettled(this.brokers.map((b) => b.start(this.#options.readyTimeoutMs)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  node(ref: NodeRef): NodeHandle {
    return this.#resolve(ref);
  }

  async kill(ref: NodeRef): Promise<void> {
    await this.#resolve(ref).kill();
  }

  async stop(ref: NodeRef): Promise<void> {
    await this.#resolve(ref).stop();
  }

  pause(ref: NodeRef): void {
    this.#resolve(ref).pause();
  }

  resume(ref: NodeRef): void {
    this.#resolve(ref).resume();
  }

  async restart(ref: NodeRef): Promise<void> {
    const node = this.#resolve(ref);
    if (node.running) await node.stop();
    await node.start(this.#options.readyTimeoutMs);
  }

  async stopAll(options: StopAllOptions = {}): Promise<void> {
    try {
      await Promise.all(this.brokers.map((b) => b.terminate()));
      await this.coordinator.terminate();
    } finally {
      process.off('exit', this.#onProcessExit);
      await this.network?.close();
    }
    if (options.removeData === true) await rm(this.dataDir, { recursive: true, force: true });
  }

  async waitForHealthy(timeoutMs: number): Promise<void> {
    const probe = new CoordinatorProbe(this.coordinator.address);
    try {
      await waitFor(async () => {
        const running = this.brokers.filter((b) => b.running && !b.paused);
        const statuses = await Promise.all([this.coordinator, ...running].map((n) => checkHealth(n.address)));
        const sick = statuses.findIndex((s) => s !== 'SERVING');
        if (sick >= 0) throw new Error(`${sick === 0 ? 'coordinator' : `broker ${running[sick - 1]?.id ?? '?'}`} health is ${statuses[sick] ?? '?'}`);
        const metadata = await probe.describeCluster();
        const runningIds = new Set(running.map((b) => b.id));
        for (const b of running) {
          if (!metadata.brokers.some((info) => info.id === b.id && info.alive)) throw new Error(`coordinator does not report broker ${b.id} alive`);
        }
        for (const t of metadata.topics) {
          for (const p of t.partitions) {
            if (p.state !== 'PARTITION_STATE_ONLINE' || !runningIds.has(p.leader)) throw new Error(`${t.name}/${p.partition} has no running leader (leader ${p.leader}, ${String(p.state)})`);
          }
        }
        return true;
      }, { timeoutMs, intervalMs: 100, description: 'a healthy cluster' });
    } finally {
      probe.close();
    }
  }
}

/**
 * Starts a coordinator and `brokers` brokers as child processes on 127.0.0.1 and resolves once
 * every one of them has reported ready. If any fails to start, whatever did start is stopped and
 * the error carries the failing process's log tail.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (err) {
      // With fault proxies the ports are picked here, released, then bound by the processes: another
      // process may take one in between. Only then is a retry (new ports, new folder) right.
      const raced = (options.networkFaults ?? false) && (options.basePort ?? 0) === 0 && /EADDRINUSE/.test(String(err));
      if (!raced || attempt >= PORT_RACE_ATTEMPTS_MAX) throw err;
    }
  }
}

async function startClusterOnce(options: ClusterOptions): Promise<Cluster> {
  const resolved = resolveClusterOptions(options);
  const temporary = options.dataDir === undefined;
  const dataDir = temporary ? await mkdtemp(join(tmpdir(), 'runnel-')) : resolve(options.dataDir);
  const logDir = options.logDir === undefined ? join(dataDir, 'logs') : resolve(options.logDir);
  let cluster: LocalCluster;
  let network: ClusterNetwork | undefined;
  try {
    let ports: number[] | undefined;
    if (resolved.networkFaults) {
      // Proxies need every real address before any process starts.
      const picked = resolved.basePort === 0 ? await freePorts(resolved.brokers + 1) : undefined;
      ports = picked?.ports ?? Array.from({ length: resolved.brokers + 1 }, (_, i) => resolved.basePort + i);
      const nodes = new Map<string, string>([['coordinator', `${LOOPBACK_HOST}:${ports[0] ?? 0}`]]);
      for (let id = 1; id <= resolved.brokers; id++) nodes.set(`broker-${id}`, `${LOOPBACK_HOST}:${ports[id] ?? 0}`);
      try {
        network = await ClusterNetwork.create(nodes, resolved.seed);
      } finally {
        await picked?.release();
      }
    }
    cluster = new LocalCluster(options, resolved, dataDir, logDir, ports, network);
  } catch (err) {
    await network?.close();
    if (temporary) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  try {
    await cluster.start();
  } catch (err) {
    // A temporary folder goes too (the error carries the failing process's log tail); a folder
    // the caller named is kept.
    await cluster.stopAll({ removeData: temporary });
    throw err;
  }
  return cluster;
}
