import { BROKERS_DEFAULT, BROKERS_MAX, READY_TIMEOUT_MS_DEFAULT } from './constants.js';
import type { ExitInfo, NodeHandle } from './managed-node.js';

export type FsyncPolicy = 'always' | 'never' | `interval:${number}`;
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface ClusterOptions {
  /** Brokers to start, ids 1..brokers. Default 3. */
  readonly brokers?: number;
  /** Folder for every process's data; a new temporary folder when absent. */
  readonly dataDir?: string;
  /** Coordinator on basePort, broker i on basePort + i; 0 (the default) lets each process pick a free port. */
  readonly basePort?: number;
  /** Coordinator: a broker silent this long is declared dead. */
  readonly sessionTimeoutMs?: number;
  /** Coordinator: how often brokers heartbeat; default min(500, sessionTimeoutMs / 3). */
  readonly heartbeatIntervalMs?: number;
  /** Broker fsync policy. */
  readonly fsync?: FsyncPolicy;
  /** pino level of every process. Default 'info'. */
  readonly logLevel?: LogLevel;
  /** Where <coordinator|broker-ID>.log go; default <dataDir>/logs. */
  readonly logDir?: string;
  /** How long each process may take to become ready. Default 30000. */
  readonly readyTimeoutMs?: number;
  /** Called when a process exits without having been asked to (stop, kill, stopAll). */
  readonly onUnexpectedExit?: (node: NodeHandle, exit: ExitInfo) => void;
  /** Environment of the processes; default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Route every link (broker<->broker, broker<->coordinator, client->any) through its own
   * fault-injecting TCP proxy, so `cluster.network` can cut, drop, delay or slow any of them.
   * Clients must use `cluster.clientOptions()`. Default false.
   */
  readonly networkFaults?: boolean;
  /** Seed of the proxies' jitter. Default 1. */
  readonly seed?: number;
  /** Brokers keep undo records of unsynced writes so `cluster.powerLoss(node)` can discard them. Default false. */
  readonly powerLoss?: boolean;
  /** A deliberate broker bug for negative controls (see docs/processes.md `--test-fault`). */
  readonly testFault?: 'ack-before-quorum';
}

export interface ResolvedClusterOptions {
  readonly brokers: number;
  readonly basePort: number;
  readonly sessionTimeoutMs: number | undefined;
  readonly heartbeatIntervalMs: number | undefined;
  readonly fsync: FsyncPolicy | undefined;
  readonly logLevel: LogLevel;
  readonly readyTimeoutMs: number;
  readonly networkFaults: boolean;
  readonly seed: number;
  readonly powerLoss: boolean;
  readonly testFault: 'ack-before-quorum' | undefined;
}

const LOG_LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const HEARTBEAT_INTERVAL_MS_DEFAULT = 500;

function positiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value <= 0)) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
}

/** True for 'always', 'never' and 'interval:<positive integer>'. */
export function isFsyncPolicy(value: string): value is FsyncPolicy {
  return value === 'always' || value === 'never' || /^interval:[1-9][0-9]*$/.test(value);
}

/** Validates options once and fills in defaults; throws RangeError naming the bad option. */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  const brokers = options.brokers ?? BROKERS_DEFAULT;
  if (!Number.isInteger(brokers) || brokers < 1 || brokers > BROKERS_MAX) throw new RangeError(`brokers must be an integer from 1 to ${BROKERS_MAX}, got ${String(brokers)}`);
  const basePort = options.basePort ?? 0;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + brokers > 65_535) throw new RangeError(`basePort must be 0 or a port leaving room for ${brokers} brokers above it, got ${String(basePort)}`);
  positiveInteger('sessionTimeoutMs', options.sessionTimeoutMs);
  positiveInteger('heartbeatIntervalMs', options.heartbeatIntervalMs);
  positiveInteger('readyTimeoutMs', options.readyTimeoutMs);
  let heartbeatIntervalMs = options.heartbeatIntervalMs;
  if (heartbeatIntervalMs === undefined && options.sessionTimeoutMs !== undefined && HEARTBEAT_INTERVAL_MS_DEFAULT * 2 >= options.sessionTimeoutMs) {
    heartbeatIntervalMs = Math.max(1, Math.floor(options.sessionTimeoutMs / 3));
  }
  if (heartbeatIntervalMs !== undefined && heartbeatIntervalMs * 2 >= (options.sessionTimeoutMs ?? 3_000)) {
    throw new RangeError(`heartbeatIntervalMs (${heartbeatIntervalMs}) must be less than half of sessionTimeoutMs (${options.sessionTimeoutMs ?? 3_000})`);
  }
  if (options.fsync !== undefined && !isFsyncPolicy(options.fsync)) throw new RangeError(`fsync must be always, never or interval:MS, got ${String(options.fsync)}`);
  const logLevel = options.logLevel ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new RangeError(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${String(logLevel)}`);
  return {
    brokers,
    basePort,
    sessionTimeoutMs: options.sessionTimeoutMs,
    heartbeatIntervalMs,
    fsync: options.fsync,
    logLevel,
    readyTimeoutMs: options.readyTimeoutMs ?? READY_TIMEOUT_MS_DEFAULT,
    networkFaults: options.networkFaults ?? false,
    seed: options.seed ?? 1,
    powerLoss: options.powerLoss ?? false,
    testFault: options.testFault,
  };
}
