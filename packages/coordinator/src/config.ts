import { z } from 'zod';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_HOST, DEFAULT_LOG_LEVEL, DEFAULT_METRICS_PORT, DEFAULT_PORT, DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  HEARTBEAT_INTERVAL_MS_MIN, SESSION_TIMEOUT_MS_MAX, SESSION_TIMEOUT_MS_MIN,
} from './constants.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The coordinator's validated, frozen configuration (docs/processes.md). */
export interface CoordinatorConfig {
  /** Folder of its LevelDB (metadata). */
  readonly dataDir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** A broker silent this long is declared dead. */
  readonly sessionTimeoutMs: number;
  /** How often brokers must heartbeat; < sessionTimeoutMs / 2. */
  readonly heartbeatIntervalMs: number;
  /** How often to look for partitions to move back to their preferred (first) replica; 0 disables. */
  readonly preferredLeaderCheckIntervalMs: number;
  readonly logLevel: LogLevel;
  /** Prometheus metrics HTTP port (`GET /metrics`, `GET /healthz`); 0 = no metrics endpoint. */
  readonly metricsPort: number;
  /** Interface the metrics endpoint listens on; undefined = `host`. */
  readonly metricsHost: string | undefined;
}

/** A bad flag or variable; `flag` names it (e.g. `--data-dir`). main prints it and exits 2. */
export class ConfigError extends Error {
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(`${flag}: ${message}`);
    this.name = 'ConfigError';
    this.flag = flag;
  }
}

/** Config keys (camelCase) and their flags. */
export const CONFIG_FLAGS = {
  dataDir: '--data-dir',
  host: '--host',
  port: '--port',
  sessionTimeoutMs: '--session-timeout-ms',
  heartbeatIntervalMs: '--heartbeat-interval-ms',
  preferredLeaderCheckIntervalMs: '--preferred-leader-check-interval-ms',
  logLevel: '--log-level',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
} as const satisfies Record<keyof CoordinatorConfig, string>;

function integer(min: number, max: number): z.ZodType<number> {
  return z
    .union([z.number(), z.string().trim().regex(/^-?\d+$/, 'must be a whole number')])
    .transform((v) => Number(v))
    .pipe(z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** The schema: strict (unknown keys rejected), defaults filled in, cross-field rules checked. */
export const coordinatorConfigSchema = z
  .strictObject({
    dataDir: z.string().trim().min(1, 'must not be empty'),
    host: z.string().trim().min(1, 'must not be empty').default(DEFAULT_HOST),
    port: integer(0, 65535).default(DEFAULT_PORT),
    sessionTimeoutMs: integer(SESSION_TIMEOUT_MS_MIN, SESSION_TIMEOUT_MS_MAX).default(DEFAULT_SESSION_TIMEOUT_MS),
    heartbeatIntervalMs: integer(HEARTBEAT_INTERVAL_MS_MIN, SESSION_TIMEOUT_MS_MAX).default(DEFAULT_HEARTBEAT_INTERVAL_MS),
    preferredLeaderCheckIntervalMs: integer(0, SESSION_TIMEOUT_MS_MAX).default(DEFAULT_PREFERRED_LEADER_CHECK_INTERVAL_MS),
    logLevel: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default(DEFAULT_LOG_LEVEL),
    metricsPort: integer(0, 65535).default(DEFAULT_METRICS_PORT),
    metricsHost: z.string().trim().min(1, 'must not be empty').optional(),
  })
  .superRefine((c, ctx) => {
    if (!(c.heartbeatIntervalMs < c.sessionTimeoutMs / 2)) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatIntervalMs'],
        message: `must be less than half of --session-timeout-ms (${c.heartbeatIntervalMs} >= ${c.sessionTimeoutMs} / 2)`,
      });
    }
    if (c.metricsPort !== 0 && c.metricsPort === c.port && (c.metricsHost ?? c.host) === c.host) {
      ctx.addIssue({ code: 'custom', path: ['metricsPort'], message: `must differ from --port (both are ${c.port})` });
    }
  });

export type CoordinatorConfigInput = z.input<typeof coordinatorConfigSchema>;

function flagOf(key: unknown): string {
  if (typeof key === 'string' && Object.hasOwn(CONFIG_FLAGS, key)) return CONFIG_FLAGS[key as keyof typeof CONFIG_FLAGS];
  if (typeof key === 'string') return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return 'config';
}

/**
 * Validates raw options (strings from flags / environment, or numbers from code) once, fills in the
 * defaults and returns a frozen config. Unknown keys and bad values throw a ConfigError naming the flag.
 */
export function parseCoordinatorConfig(raw: Readonly<Record<string, unknown>>): CoordinatorConfig {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  const result = coordinatorConfigSchema.safeParse(defined);
  if (!result.success) {
    const issue = result.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      throw new ConfigError(issue.keys.map(flagOf).join(', '), 'unknown option');
    }
    const message = issue === undefined ? 'invalid' : issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    throw new ConfigError(flagOf(issue?.path[0]), message);
  }
  const v = result.data;
  return Object.freeze({
    dataDir: v.dataDir,
    host: v.host,
    port: v.port,
    sessionTimeoutMs: v.sessionTimeoutMs,
    heartbeatIntervalMs: v.heartbeatIntervalMs,
    preferredLeaderCheckIntervalMs: v.preferredLeaderCheckIntervalMs,
    logLevel: v.logLevel,
    metricsPort: v.metricsPort,
    metricsHost: v.metricsHost,
  });
}
