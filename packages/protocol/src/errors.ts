import * as grpc from '@grpc/grpc-js';
import { capText } from './user-text.js';

const S = grpc.status;

/**
 * The one error table. Every error a Runnel process returns has a code from here; the gRPC status
 * and the retriable flag follow from the code. Clients match on `code`, never on message text.
 * Every code is documented in docs/errors.md (a test checks that).
 */
export const ERRORS = {
  INVALID_REQUEST: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'The request is malformed or a field has an invalid value.' },
  INVALID_TOPIC_NAME: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'Topic names are 1-200 characters of [A-Za-z0-9._-], not "." or "..", and "__" is reserved.' },
  INVALID_PARTITIONS: { status: S.INVALID_ARGUMENT, retriable: false, summary: "Partition count must be an integer from 1 to 10000, and fit the cluster's partition limits (see Limits)." },
  INVALID_REPLICATION_FACTOR: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'Replication factor must be from 1 to 5.' },
  INVALID_CONFIG: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'A topic config value is out of range.' },
  INVALID_POSITION: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'A start position is missing or malformed.' },
  EMPTY_BATCH: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'A produce request must carry at least one record.' },
  RECORD_TOO_LARGE: { status: S.INVALID_ARGUMENT, retriable: false, summary: "A record is larger than the topic's max_message_bytes." },
  BATCH_TOO_LARGE: { status: S.RESOURCE_EXHAUSTED, retriable: false, summary: 'A produce request is larger than the broker accepts in one batch.' },
  TOO_MANY_RECORDS: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'A produce request carries more records than the broker accepts in one batch (see limits in docs/errors.md); split it.' },
  TOPIC_ALREADY_EXISTS: { status: S.ALREADY_EXISTS, retriable: false, summary: 'A topic with that name exists.' },
  UNKNOWN_TOPIC: { status: S.NOT_FOUND, retriable: false, summary: 'No topic has that name.' },
  UNKNOWN_PARTITION: { status: S.NOT_FOUND, retriable: false, summary: 'The topic has no partition with that number.' },
  OFFSET_OUT_OF_RANGE: { status: S.OUT_OF_RANGE, retriable: false, summary: 'The offset is below the log start offset or beyond the log end offset; the message gives the valid range.' },
  OFFSET_NOT_AVAILABLE: { status: S.UNAVAILABLE, retriable: true, summary: 'The offset is within the log but not yet committed on this leader (for example just after a leader change); retry shortly.' },
  NOT_ENOUGH_BROKERS: { status: S.FAILED_PRECONDITION, retriable: true, summary: 'Fewer live brokers than the replication factor asks for.' },
  NOT_LEADER: { status: S.UNAVAILABLE, retriable: true, summary: 'This broker does not lead the partition; trailers name the leader when known. A produce refused so was not written.' },
  LEADERSHIP_LOST: { status: S.UNAVAILABLE, retriable: true, summary: 'The write was appended, then this broker lost the leadership before the ack level was reached: it may still commit (outcome unknown); trailers name the new leader when known.' },
  PARTITION_OFFLINE: { status: S.UNAVAILABLE, retriable: true, summary: 'No live replica can lead the partition right now.' },
  NOT_ENOUGH_REPLICAS: { status: S.UNAVAILABLE, retriable: true, summary: 'The ack level needs more live replicas than there are.' },
  TIMEOUT: { status: S.DEADLINE_EXCEEDED, retriable: true, summary: 'The ack level was not reached in time; the write may still commit.' },
  SHUTTING_DOWN: { status: S.UNAVAILABLE, retriable: true, summary: 'The process is shutting down.' },
  TOO_MANY_REQUESTS: { status: S.RESOURCE_EXHAUSTED, retriable: true, summary: 'A bounded queue is full; back off and retry.' },
  TOO_MANY_STREAMS: { status: S.RESOURCE_EXHAUSTED, retriable: true, summary: 'The process already has as many streams of this kind open as its limit allows (the message names the limit and its flag); close some or retry later.' },
  STALE_EPOCH: { status: S.FAILED_PRECONDITION, retriable: true, summary: 'The request carries a leader epoch older than the one in force.' },
  WRONG_CLUSTER: { status: S.FAILED_PRECONDITION, retriable: true, summary: 'The peer belongs to another cluster (its address is now served by another cluster); refresh metadata and retry.' },
  UNKNOWN_BROKER: { status: S.FAILED_PRECONDITION, retriable: true, summary: 'The broker is not registered (or registered again since); register first.' },
  UNREACHABLE: { status: S.UNAVAILABLE, retriable: true, summary: 'The process could not be reached (connection refused or lost).' },
  COORDINATOR_UNAVAILABLE: { status: S.UNAVAILABLE, retriable: true, summary: 'The coordinator cannot be reached.' },
  INVALID_GROUP_NAME: { status: S.INVALID_ARGUMENT, retriable: false, summary: 'Group names are 1-200 characters of [A-Za-z0-9._-].' },
  UNKNOWN_GROUP: { status: S.NOT_FOUND, retriable: false, summary: 'The group has no members and no committed offsets.' },
  UNKNOWN_MEMBER: { status: S.FAILED_PRECONDITION, retriable: false, summary: 'The member is not in the group (it left, timed out, or the coordinator moved); join again.' },
  PARTITION_NOT_ASSIGNED: { status: S.FAILED_PRECONDITION, retriable: false, summary: 'A member committed an offset for a partition it does not own.' },
  GROUP_NOT_EMPTY: { status: S.FAILED_PRECONDITION, retriable: false, summary: 'The operation needs a group without live members (stop its consumers first).' },
  NOT_COORDINATOR: { status: S.UNAVAILABLE, retriable: true, summary: 'This broker does not coordinate the group; trailers name the broker that does, when known.' },
  STORAGE_ERROR: { status: S.INTERNAL, retriable: false, summary: 'The broker failed to read or write its disk.' },
  INTERNAL: { status: S.INTERNAL, retriable: false, summary: 'An unexpected error; see the process log.' },
} as const satisfies Record<string, { status: grpc.status; retriable: boolean; summary: string }>;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERRORS, value);
}

/** Trailer names carried on every error status. */
export const ERROR_METADATA = {
  code: 'runnel-error-code',
  retriable: 'runnel-retriable',
  leaderId: 'runnel-leader-id',
  leaderAddress: 'runnel-leader-address',
  /** TOO_MANY_REQUESTS: wait this many ms before retrying (the bound that refused it needs time to drain). */
  retryAfterMs: 'runnel-retry-after-ms',
} as const;

export interface RunnelErrorOptions {
  cause?: unknown;
  /** NOT_LEADER: the current leader, if known. */
  leaderId?: number;
  leaderAddress?: string;
  /** Overrides the table's retriable flag (for example an ack timeout on a definitely-failed write). */
  retriable?: boolean;
  /** TOO_MANY_REQUESTS: how long the caller should wait before retrying. */
  retryAfterMs?: number;
}

/** Base class of every Runnel operating error (not of assertions, which crash). */
export class RunnelError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly grpcStatus: grpc.status;
  readonly leaderId: number | undefined;
  readonly leaderAddress: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: RunnelErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunnelError';
    this.code = code;
    this.retriable = options.retriable ?? ERRORS[code].retriable;
    this.grpcStatus = ERRORS[code].status;
    this.leaderId = options.leaderId;
    this.leaderAddress = options.leaderAddress;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The partition has another leader. */
export class NotLeaderError extends RunnelError {
  readonly topic: string;
  readonly partition: number;
  constructor(topic: string, partition: number, leaderId: number | undefined, leaderAddress: string | undefined) {
    const where = leaderId === undefined || leaderId < 0 ? 'no leader is known right now' : `the leader is broker ${leaderId} at ${leaderAddress ?? '?'}`;
    const opts: RunnelErrorOptions = {};
    if (leaderId !== undefined && leaderId >= 0) opts.leaderId = leaderId;
    if (leaderAddress) opts.leaderAddress = leaderAddress;
    super('NOT_LEADER', `this broker does not lead ${topic}/${partition}: ${where}`, opts);
    this.name = 'NotLeaderError';
    this.topic = topic;
    this.partition = partition;
  }
}

/** A gRPC status object ready to pass to a callback or `call.emit('error', …)`. */
export function toGrpcStatus(err: RunnelError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_METADATA.code, err.code);
  metadata.set(ERROR_METADATA.retriable, String(err.retriable));
  if (err.leaderId !== undefined) metadata.set(ERROR_METADATA.leaderId, String(err.leaderId));
  if (err.leaderAddress !== undefined) metadata.set(ERROR_METADATA.leaderAddress, err.leaderAddress);
  if (err.retryAfterMs !== undefined) metadata.set(ERROR_METADATA.retryAfterMs, String(err.retryAfterMs));
  return { code: err.grpcStatus, details: capText(err.message), metadata };
}

/**
 * Normalises anything thrown inside a handler: RunnelErrors pass through, everything else becomes
 * INTERNAL (the caller logs the original).
 */
export function normaliseError(err: unknown): RunnelError {
  if (err instanceof RunnelError) return err;
  return new RunnelError('INTERNAL', 'internal error; see the broker log', { cause: err });
}

/** The in-stream `Error` message for the same error. */
export function toErrorMessage(err: RunnelError): {
  code: string; message: string; retriable: boolean; leaderId: number; leaderAddress: string; grpcStatus: number;
} {
  return {
    code: err.code,
    message: capText(err.message),
    retriable: err.retriable,
    leaderId: err.leaderId ?? -1,
    leaderAddress: err.leaderAddress ?? '',
    grpcStatus: err.grpcStatus,
  };
}

/** Rebuilds a RunnelError from an in-stream `Error` message. */
export function fromErrorMessage(msg: { code: string; message: string; retriable: boolean; leaderId: number; leaderAddress: string }): RunnelError {
  const code: ErrorCode = isErrorCode(msg.code) ? msg.code : 'INTERNAL';
  const opts: RunnelErrorOptions = { retriable: msg.retriable };
  if (msg.leaderId >= 0) opts.leaderId = msg.leaderId;
  if (msg.leaderAddress) opts.leaderAddress = msg.leaderAddress;
  return new RunnelError(code, msg.message, opts);
}

function firstString(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Client side: turns a failed call's ServiceError into a RunnelError. Errors without Runnel
 * trailers (connection refused, deadline, cancelled) map to a code by gRPC status; UNAVAILABLE and
 * DEADLINE_EXCEEDED from the transport are retriable.
 */
export function fromServiceError(err: unknown): RunnelError {
  if (err instanceof RunnelError) return err;
  const se = err as Partial<grpc.ServiceError> | undefined;
  const md = se?.metadata;
  const codeText = firstString(md, ERROR_METADATA.code);
  const message = se?.details || (err instanceof Error ? err.message : String(err));
  if (codeText !== undefined && isErrorCode(codeText)) {
    const opts: RunnelErrorOptions = { cause: err, retriable: firstString(md, ERROR_METADATA.retriable) === 'true' };
    const leaderId = firstString(md, ERROR_METADATA.leaderId);
    const leaderAddress = firstString(md, ERROR_METADATA.leaderAddress);
    if (leaderId !== undefined) opts.leaderId = Number(leaderId);
    if (leaderAddress !== undefined) opts.leaderAddress = leaderAddress;
    const retryAfterMs = Number(firstString(md, ERROR_METADATA.retryAfterMs));
    if (Number.isFinite(retryAfterMs) && retryAfterMs >= 0) opts.retryAfterMs = retryAfterMs;
    return new RunnelError(codeText, message, opts);
  }
  switch (se?.code) {
    case S.UNAVAILABLE:
      return new RunnelError('UNREACHABLE', `unavailable: ${message}`, { cause: err, retriable: true });
    case S.DEADLINE_EXCEEDED:
      return new RunnelError('TIMEOUT', `deadline exceeded: ${message}`, { cause: err, retriable: true });
    case S.INVALID_ARGUMENT:
      return new RunnelError('INVALID_REQUEST', message, { cause: err });
    case S.RESOURCE_EXHAUSTED:
      return new RunnelError('TOO_MANY_REQUESTS', message, { cause: err, retriable: true });
    default:
      return new RunnelError('INTERNAL', message, { cause: err });
  }
}
