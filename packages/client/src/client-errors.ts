import { RunnelError } from '@runnel/protocol';

/**
 * The partition's leader moved: NOT_LEADER (refused before the append: not written) or
 * LEADERSHIP_LOST (appended, then the leadership moved: may still commit, so a retry may write it
 * twice until producers are idempotent). Both name the new leader when known; both are retried there.
 */
export function leaderMoved(err: RunnelError): boolean {
  return err.code === 'NOT_LEADER' || err.code === 'LEADERSHIP_LOST';
}

/**
 * Retries ran out. `code` is the code of the last error (so callers that match on code still
 * see, say, NOT_LEADER or UNREACHABLE); `cause` is that last error; `attempts` counts every
 * attempt made, the first included. Not retriable itself: the client already retried.
 */
export class RetriesExhaustedError extends RunnelError {
  readonly attempts: number;
  readonly retriesExhausted = true as const;
  constructor(last: RunnelError, attempts: number) {
    const opts: { cause: unknown; retriable: boolean; leaderId?: number; leaderAddress?: string } = { cause: last, retriable: false };
    if (last.leaderId !== undefined) opts.leaderId = last.leaderId;
    if (last.leaderAddress !== undefined) opts.leaderAddress = last.leaderAddress;
    super(last.code, `gave up after ${attempts} attempts: ${last.message}`, opts);
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
  }
}

/**
 * The client, producer or consumer was closed while the operation was pending or before it
 * started. Code SHUTTING_DOWN, not retriable (retrying on a closed object cannot succeed).
 */
export class ClientClosedError extends RunnelError {
  constructor(what: string) {
    super('SHUTTING_DOWN', `the ${what} is closed`, { retriable: false });
    this.name = 'ClientClosedError';
  }
}
