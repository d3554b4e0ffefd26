import { z } from 'zod';
import { parseFsyncPolicy } from '@runnel/storage';
import type { FsyncPolicy } from '@runnel/storage';
import {
  BROKER_ID_MAX, DEFAULT_COORDINATOR, DEFAULT_FSYNC, DEFAULT_HOST, DEFAULT_LOG_LEVEL, DEFAULT_METRICS_PORT, DEFAULT_PORT,
  DEFAULT_PRODUCE_STREAMS_MAX, DEFAULT_RETENTION_CHECK_INTERVAL_MS, DEFAULT_SUBSCRIPTIONS_MAX, STREAMS_MAX_LIMIT,
} from './constants.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The broker's validated, frozen configuration (docs/processes.md). */
export interface BrokerConfig {
  readonly id: number;
  readonly dataDir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** host:port registered with the coordinator; undefined = host:bound port. */
  readonly advertisedAddress: string | undefined;
  /** host:port of the coordinator. */
  readonly coordinator: string;
  readonly fsync: FsyncPolicy;
  readonly rack: string | undefined;
  readonly retentionCheckIntervalMs: number;
  readonly logLevel: LogLevel;
  /** Prometheus metrics HTTP port (`GET /metrics`, `GET /healthz`); 0 = no metrics endpoint. */
  readonly metricsPort: number;
  /** Interface the metrics endpoint listens on; undefined = `host`. */
  readonly metricsHost: string | undefined;
  /** Subscribe calls open at once on this broker (all connections); the next: TOO_MANY_STREAMS. */
  readonly subscriptionsMax: number;
  /** ProduceStream calls open at once on this broker (all connections); the next: TOO_MANY_STREAMS. */
  readonly produceStreamsMax: number;
  /**
   * TEST ONLY (chaos tests): 'track' keeps undo records of writes not yet fsynced; 'recover'
   * first discards them, as a power loss would (see storage power-loss-journal.ts). Default 'off'.
   */
  readonly testPowerLoss: 'off' | 'track' | 'recover';
  /** TEST ONLY: a deliberate bug for negative controls. 'ack-before-quorum' answers QUORUM/ALL produces after the leader's own append. */
  readonly testFault: 'none' | 'ack-before-quorum';
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
  id: '--id',
  dataDir: '--data-dir',
  host: '--host',
  port: '--port',
  advertisedAddress: '--advertised-address',
  coordinator: '--coordinator',
  fsync: '--fsync',
  rack: '--rack',
  retentionCheckIntervalMs: '--retention-check-interval-ms',
  logLevel: '--log-level',
  metricsPort: '--metrics-port',
  metricsHost: '--metrics-host',
  subscriptionsMax: '--subscriptions-max',
  produceStreamsMax: '--produce-streams-max',
  testPowerLoss: '--test-power-loss',
  testFault: '--test-fault',
} as const;

const HOST_PORT = /^[^\s:]+:(\d{1,5})$|^\[[0-9A-Fa-f:.]+\]:(\d{1,5})$/;

function integer(min: number, max: number): z.ZodType<number> {
  return z
    .union([z.number(), z.string().trim().regex(/^-?\d+$/, 'must be a whole number')])
    .transform((v) => Number(v))
    .pipe(z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

const hostPort = z
  .string()
  .trim()
  .refine((v) => {
    const m = HOST_PORT.exec(v);
    const port = Number(m?.[1] ?? m?.[2]);
    return m !== null && port >= 1 && port <= 65535;
  }, 'must be HOST:PORT with a port from 1 to 65535');

const schema = z.strictObject({
  id: integer(1, BROKER_ID_MAX),
  dataDir: z.string().trim().min(1, 'must not be empty'),
  host: z.string().trim().min(1, 'must not be empty').default(DEFAULT_HOST),
  port: integer(0, 65535).default(DEFAULT_PORT),
  advertisedAddress: hostPort.optional(),
  coordinator: hostPort.default(DEFAULT_COORDINATOR),
  fsync: z
    .string()
    .default(DEFAULT_FSYNC)
    .transform((v, ctx): FsyncPolicy => {
      try {
        return parseFsyncPolicy(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
        return z.NEVER;
      }
    }),
  rack: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
  retentionCheckIntervalMs: integer(10, 24 * 3600 * 1000).default(DEFAULT_RETENTION_CHECK_INTERVAL_MS),
  logLevel: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default(DEFAULT_LOG_LEVEL),
  testPowerLoss: z.enum(['off', 'track', 'recover'], { message: 'must be off, track or recover' }).default('off'),
  testFault: z.enum(['none', 'ack-before-quorum'], { message: 'must be none or ack-before-quorum' }).default('none'),
  metricsPort: integer(0, 65535).default(DEFAULT_METRICS_PORT),
  metricsHost: z.string().trim().min(1, 'must not be empty').optional(),
  subscriptionsMax: integer(1, STREAMS_MAX_LIMIT).default(DEFAULT_SUBSCRIPTIONS_MAX),
  produceStreamsMax: integer(1, STREAMS_MAX_LIMIT).default(DEFAULT_PRODUCE_STREAMS_MAX),
}).superRefine((c, ctx) => {
  if (c.metricsPort !== 0 && c.metricsPort === c.port && (c.metricsHost ?? c.host) === c.host) {
    ctx.addIssue({ code: 'custom', path: ['metricsPort'], message: `must differ from --port (both are ${c.port})` });
  }
});

/**
 * Validates raw options (strings from flags / environment, or numbers from code) once, fills in the
 * defaults and returns a frozen config. Unknown keys and bad values throw a ConfigError naming the flag.
 */
export function parseBrokerConfig(raw: Readonly<Record<string, unknown>>): BrokerConfig {
  const defined = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
  for (const key of ['id', 'dataDir'] as const) {
    if (defined[key] === undefined) throw new ConfigError(CONFIG_FLAGS[key], 'is required');
  }
  const result = schema.safeParse(defined);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.path[0];
    if (issue?.code === 'unrecognized_keys') {
      const names = issue.keys.map((k) => CONFIG_FLAGS[k as keyof typeof CONFIG_FLAGS] ?? `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      throw new ConfigError(names.join(', '), 'unknown option');
    }
    const flag = typeof key === 'string' && key in CONFIG_FLAGS ? CONFIG_FLAGS[key as keyof typeof CONFIG_FLAGS] : String(key ?? 'config');
    const message = issue === undefined ? 'invalid' : issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message;
    throw new ConfigError(flag, message);
  }
  const v = result.data;
  return Object.freeze({
    id: v.id,
    dataDir: v.dataDir,
    host: v.host,
    port: v.port,
    advertisedAddress: v.advertisedAddress,
    coordinator: v.coordinator,
    fsync: Object.freeze(v.fsync),
    rack: v.rack,
    retentionCheckIntervalMs: v.retentionCheckIntervalMs,
    logLevel: v.logLevel,
    metricsPort: v.metricsPort,
    metricsHost: v.metricsHost,
    subscriptionsMax: v.subscriptionsMax,
    produceStreamsMax: v.produceStreamsMax,
    testPowerLoss: v.testPowerLoss,
    testFault: v.testFault,
  });
}
