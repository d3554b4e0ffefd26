import { pino, type Logger } from 'pino';
import { PRODUCE_BATCH_BYTES_MAX, RunnelError } from '@runnel/protocol';
import {
  ACKS_DEFAULT, BACKOFF_MS_MAX_DEFAULT, BATCH_BYTES_MAX_DEFAULT, BOOTSTRAP_DEFAULT, BUFFER_BYTES_MAX_DEFAULT,
  CREDIT_BYTES_DEFAULT, CREDIT_BYTES_MAX, CREDIT_RECORDS_DEFAULT, CREDIT_RECORDS_MAX, INITIAL_BACKOFF_MS_DEFAULT,
  IN_FLIGHT_REQUESTS_MAX_DEFAULT, IN_FLIGHT_REQUESTS_MAX_LIMIT, LINGER_MS_DEFAULT, LINGER_MS_MAX,
  REQUEST_TIMEOUT_MS_DEFAULT, RETRIES_MAX_DEFAULT, RETRIES_MAX_LIMIT, GROUP_AUTO_COMMIT_INTERVAL_MS_DEFAULT, GROUP_SESSION_TIMEOUT_MS_DEFAULT,
} from './constants.js';

export interface RetryOptions {
  /** Retries after the first attempt (so at most retriesMax + 1 attempts). Default 8. */
  retriesMax?: number;
  /** Backoff before the first retry; doubles per retry, full jitter. Default 50. */
  initialBackoffMs?: number;
  /** Cap of one backoff. Default 2000. */
  backoffMsMax?: number;
}

export interface ClientOptions {
  /** The coordinator's host:port. Default '127.0.0.1:7400'. */
  bootstrap?: string;
  /** Parent logger; the client logs through children of it. Default: silent. */
  logger?: Logger;
  /** Deadline of every unary call, ms. Default 30000. */
  requestTimeoutMs?: number;
  retry?: RetryOptions;
  /**
   * Addresses to dial instead of those the cluster advertises, `{ "host:port": "host:port" }`
   * (NAT, port forwards, the chaos testkit's fault proxies). Default: RUNNEL_DIAL_MAP, else none.
   */
  addressMap?: Record<string, string>;
}

export interface ResolvedRetryOptions {
  readonly retriesMax: number;
  readonly initialBackoffMs: number;
  readonly backoffMsMax: number;
}

export interface ResolvedClientOptions {
  readonly bootstrap: string;
  readonly logger: Logger;
  readonly requestTimeoutMs: number;
  readonly retry: ResolvedRetryOptions;
  readonly addressMap: Readonly<Record<string, string>>;
}

export type Acks = 'none' | 'leader' | 'quorum' | 'all';

export interface ProducerOptions {
  /** Default 'quorum'. */
  acks?: Acks;
  /** How long a batch stays open for more records, ms. Default 2. */
  lingerMs?: number;
  /** A batch is closed once its records reach this many (estimated encoded) bytes. Default 256 KiB. */
  batchBytesMax?: number;
  /** Produce requests outstanding per broker stream (also capped by the broker's max_in_flight). Default 32. */
  inFlightRequestsMax?: number;
  /** Bytes of records accepted but not yet acknowledged; send() waits while full. Default 32 MiB. */
  bufferBytesMax?: number;
  /** How long a produce request may stay unanswered, ms (also sent as the broker's ack timeout). Default: the client's. */
  requestTimeoutMs?: number;
}

export interface ResolvedProducerOptions {
  readonly acks: Acks;
  readonly lingerMs: number;
  readonly batchBytesMax: number;
  readonly inFlightRequestsMax: number;
  readonly bufferBytesMax: number;
  readonly requestTimeoutMs: number;
}

export type StartFrom = 'earliest' | 'latest' | { offset: number } | { timestampMs: number };

export interface ConsumerOptions {
  topic: string;
  /** Partitions to read; default every partition of the topic. */
  partitions?: number[];
  /** Where to start each partition. Default 'latest'. */
  from?: StartFrom;
  /**
   * Credit window per partition, in bytes of encoded batches: granted-but-not-yet-pushed plus
   * pushed-but-not-yet-consumed never exceeds it (plus at most one batch, which the broker never
   * splits). Default 1 MiB.
   */
  creditBytes?: number;
  /** The same window in records. Default 10000. */
  creditRecords?: number;
}

/**
 * A consumer in a group: the group's coordinator shares the partitions of `topics` among its
 * members (cooperative: on a rebalance only the partitions that move are stopped). Each partition
 * resumes from the group's committed offset, or from `from` when none was committed.
 */
export interface GroupConsumerOptions {
  group: string;
  /** Topics to consume (at least one); `topic` is shorthand for one. */
  topics?: string[];
  topic?: string;
  /**
   * Reset policy: where a partition without a committed offset starts, and where a member goes on
   * when its offset is out of range (retention deleted it while the member was slow, or a committed
   * offset beyond the log end). Default 'latest'. A jump forward is reported (onRecordsLost).
   */
  from?: 'earliest' | 'latest';
  /**
   * Called when the reset policy skipped records: the member asked for an offset retention had
   * deleted, and resumed further on. Default: a warn log line only.
   */
  onRecordsLost?: (lost: RecordsLost) => void;
  /**
   * Default true: the positions of records whose loop body finished (the iterator was asked for
   * the next record) are committed every autoCommitIntervalMs, when a partition is revoked and on
   * close: at-least-once. false: call commit() yourself.
   */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** The coordinator removes a member silent this long (1000-300000). Default 10000. */
  sessionTimeoutMs?: number;
  /** Shown by `runnel group describe`. Default hostname/pid. */
  clientId?: string;
  creditBytes?: number;
  creditRecords?: number;
}

/** Records a group member never read because its reset policy jumped over them. */
export interface RecordsLost {
  readonly topic: string;
  readonly partition: number;
  /** The offset it asked for (the next one it had not received). */
  readonly requestedOffset: number;
  /** Where the reset policy resumed. */
  readonly resumedOffset: number;
  /** resumedOffset - requestedOffset: offsets skipped (control batches among them count too). */
  readonly records: number;
  readonly reset: 'earliest' | 'latest';
}

export interface ResolvedGroupConsumerOptions {
  readonly group: string;
  readonly topics: readonly string[];
  readonly from: 'earliest' | 'latest';
  readonly onRecordsLost: ((lost: RecordsLost) => void) | undefined;
  readonly autoCommit: boolean;
  readonly autoCommitIntervalMs: number;
  readonly sessionTimeoutMs: number;
  readonly clientId: string;
  readonly creditBytes: number;
  readonly creditRecords: number;
}

export interface ResolvedConsumerOptions {
  readonly topic: string;
  readonly partitions: readonly number[] | undefined;
  readonly from: StartFrom;
  readonly creditBytes: number;
  readonly creditRecords: number;
}

function invalid(message: string): RunnelError {
  return new RunnelError('INVALID_REQUEST', message);
}

function intIn(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < min || v > max) throw invalid(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  return v;
}

const KNOWN_CLIENT_KEYS = new Set(['bootstrap', 'logger', 'requestTimeoutMs', 'retry', 'addressMap']);
const KNOWN_RETRY_KEYS = new Set(['retriesMax', 'initialBackoffMs', 'backoffMsMax']);
const KNOWN_PRODUCER_KEYS = new Set(['acks', 'lingerMs', 'batchBytesMax', 'inFlightRequestsMax', 'bufferBytesMax', 'requestTimeoutMs']);
const KNOWN_CONSUMER_KEYS = new Set(['topic', 'partitions', 'from', 'creditBytes', 'creditRecords']);

function rejectUnknownKeys(what: string, value: object, known: ReadonlySet<string>): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw invalid(`unknown ${what} option "${key}"`);
  }
}

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  rejectUnknownKeys('retry', options, KNOWN_RETRY_KEYS);
  const initialBackoffMs = intIn('retry.initialBackoffMs', options.initialBackoffMs, INITIAL_BACKOFF_MS_DEFAULT, 1, 60_000);
  const backoffMsMax = intIn('retry.backoffMsMax', options.backoffMsMax, Math.max(BACKOFF_MS_MAX_DEFAULT, initialBackoffMs), 1, 600_000);
  if (backoffMsMax < initialBackoffMs) throw invalid('retry.backoffMsMax must be at least retry.initialBackoffMs');
  return Object.freeze({
    retriesMax: intIn('retry.retriesMax', options.retriesMax, RETRIES_MAX_DEFAULT, 0, RETRIES_MAX_LIMIT),
    initialBackoffMs,
    backoffMsMax,
  });
}

/** Validates once, fills defaults, freezes. */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  rejectUnknownKeys('client', options, KNOWN_CLIENT_KEYS);
  const bootstrap = options.bootstrap ?? BOOTSTRAP_DEFAULT;
  if (!/^.+:\d{1,5}$/.test(bootstrap)) throw invalid(`bootstrap must be host:port, got "${bootstrap}"`);
  return Object.freeze({
    bootstrap,
    logger: options.logger ?? pino({ level: 'silent' }),
    requestTimeoutMs: intIn('requestTimeoutMs', options.requestTimeoutMs, REQUEST_TIMEOUT_MS_DEFAULT, 1, 600_000),
    retry: resolveRetryOptions(options.retry),
    addressMap: Object.freeze(resolveAddressMap(options.addressMap)),
  });
}

function resolveAddressMap(map: Record<string, string> | undefined): Record<string, string> {
  if (map === undefined) return {};
  if (map === null || typeof map !== 'object') throw invalid('addressMap must be an object { "host:port": "host:port" }');
  for (const [from, to] of Object.entries(map)) {
    if (!/^.+:\d{1,5}$/.test(from) || typeof to !== 'string' || !/^.+:\d{1,5}$/.test(to)) throw invalid(`addressMap: "${from}" -> ${JSON.stringify(to)} is not host:port -> host:port`);
  }
  return { ...map };
}

const ACKS_VALUES: readonly Acks[] = ['none', 'leader', 'quorum', 'all'];

export function resolveProducerOptions(options: ProducerOptions, client: ResolvedClientOptions): ResolvedProducerOptions {
  rejectUnknownKeys('producer', options, KNOWN_PRODUCER_KEYS);
  const acks = options.acks ?? ACKS_DEFAULT;
  if (!ACKS_VALUES.includes(acks)) throw invalid(`acks must be one of ${ACKS_VALUES.join(', ')}, got "${String(acks)}"`);
  const batchBytesMax = intIn('batchBytesMax', options.batchBytesMax, BATCH_BYTES_MAX_DEFAULT, 1, PRODUCE_BATCH_BYTES_MAX);
  const bufferBytesMax = intIn('bufferBytesMax', options.bufferBytesMax, Math.max(BUFFER_BYTES_MAX_DEFAULT, batchBytesMax), 1, 2 ** 40);
  if (bufferBytesMax < batchBytesMax) throw invalid('bufferBytesMax must be at least batchBytesMax');
  return Object.freeze({
    acks,
    lingerMs: intIn('lingerMs', options.lingerMs, LINGER_MS_DEFAULT, 0, LINGER_MS_MAX),
    batchBytesMax,
    inFlightRequestsMax: intIn('inFlightRequestsMax', options.inFlightRequestsMax, IN_FLIGHT_REQUESTS_MAX_DEFAULT, 1, IN_FLIGHT_REQUESTS_MAX_LIMIT),
    bufferBytesMax,
    requestTimeoutMs: intIn('requestTimeoutMs', options.requestTimeoutMs, client.requestTimeoutMs, 1, 600_000),
  });
}

const KNOWN_GROUP_CONSUMER_KEYS = new Set([
  'group', 'topics', 'topic', 'from', 'autoCommit', 'autoCommitIntervalMs', 'sessionTimeoutMs', 'clientId', 'creditBytes', 'creditRecords', 'onRecordsLost',
]);
const GROUP_NAME = /^[A-Za-z0-9._-]{1,200}$/;

export function resolveGroupConsumerOptions(options: GroupConsumerOptions, defaultClientId: string): ResolvedGroupConsumerOptions {
  rejectUnknownKeys('consumer', options, KNOWN_GROUP_CONSUMER_KEYS);
  if (typeof options.group !== 'string' || !GROUP_NAME.test(options.group)) {
    throw new RunnelError('INVALID_GROUP_NAME', `group name ${JSON.stringify(options.group)} must be 1-200 characters of A-Z a-z 0-9 . _ -`);
  }
  const topics = [...new Set([...(options.topics ?? []), ...(options.topic !== undefined ? [options.topic] : [])])];
  if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === '')) throw invalid('a group consumer needs `topics` (or `topic`)');
  const from = options.from ?? 'latest';
  if (from !== 'earliest' && from !== 'latest') throw new RunnelError('INVALID_POSITION', `a group consumer's from (reset policy) must be 'earliest' or 'latest', got ${JSON.stringify(from)}`);
  if (options.autoCommit !== undefined && typeof options.autoCommit !== 'boolean') throw invalid('autoCommit must be true or false');
  if (options.onRecordsLost !== undefined && typeof options.onRecordsLost !== 'function') throw invalid('onRecordsLost must be a function');
  return Object.freeze({
    group: options.group,
    topics: Object.freeze(topics),
    from,
    onRecordsLost: options.onRecordsLost,
    autoCommit: options.autoCommit ?? true,
    autoCommitIntervalMs: intIn('autoCommitIntervalMs', options.autoCommitIntervalMs, GROUP_AUTO_COMMIT_INTERVAL_MS_DEFAULT, 10, 600_000),
    sessionTimeoutMs: intIn('sessionTimeoutMs', options.sessionTimeoutMs, GROUP_SESSION_TIMEOUT_MS_DEFAULT, 1_000, 300_000),
    clientId: (options.clientId ?? defaultClientId).slice(0, 200),
    creditBytes: intIn('creditBytes', options.creditBytes, CREDIT_BYTES_DEFAULT, 1, CREDIT_BYTES_MAX),
    creditRecords: intIn('creditRecords', options.creditRecords, CREDIT_RECORDS_DEFAULT, 1, CREDIT_RECORDS_MAX),
  });
}

function validateStartFrom(from: StartFrom): StartFrom {
  if (from === 'earliest' || from === 'latest') return from;
  if (typeof from === 'object' && from !== null) {
    if ('offset' in from && Number.isSafeInteger(from.offset) && from.offset >= 0) return Object.freeze({ offset: from.offset });
    if ('timestampMs' in from && Number.isSafeInteger(from.timestampMs) && from.timestampMs >= 0) {
      return Object.freeze({ timestampMs: from.timestampMs });
    }
  }
  throw new RunnelError('INVALID_POSITION', `from must be 'earliest', 'latest', { offset } or { timestampMs }, got ${JSON.stringify(from)}`);
}

export function resolveConsumerOptions(options: ConsumerOptions): ResolvedConsumerOptions {
  rejectUnknownKeys('consumer', options, KNOWN_CONSUMER_KEYS);
  if (typeof options.topic !== 'string' || options.topic.length === 0) throw invalid('consumer topic is required');
  let partitions: readonly number[] | undefined;
  if (options.partitions !== undefined) {
    if (options.partitions.length === 0) throw invalid('consumer partitions must not be empty (omit it for all)');
    for (const p of options.partitions) {
      if (!Number.isInteger(p) || p < 0) throw new RunnelError('UNKNOWN_PARTITION', `partition ${String(p)} is not a partition number`);
    }
    partitions = Object.freeze([...new Set(options.partitions)]);
  }
  return Object.freeze({
    topic: options.topic,
    partitions,
    from: validateStartFrom(options.from ?? 'latest'),
    creditBytes: intIn('creditBytes', options.creditBytes, CREDIT_BYTES_DEFAULT, 1, CREDIT_BYTES_MAX),
    creditRecords: intIn('creditRecords', options.creditRecords, CREDIT_RECORDS_DEFAULT, 1, CREDIT_RECORDS_MAX),
  });
}
