import { setTimeout as delay } from 'node:timers/promises';
import { fromServiceError, type RunnelError } from '@runnel/protocol';
import { ClientClosedError, RetriesExhaustedError } from './client-errors.js';
import type { ResolvedRetryOptions } from './options.js';

/**
 * Backoff before retry number `retry` (0 = the first retry): exponential with full jitter
 * (AWS architecture blog, "Exponential Backoff And Jitter"): uniform in [0, min(max, initial * 2^retry)].
 */
export function backoffMs(retry: number, options: { initialBackoffMs: number; backoffMsMax: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.backoffMsMax, options.initialBackoffMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * (ceiling + 1));
}

/** Resolves after `ms`, or rejects with ClientClosedError once `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal, what = 'client'): Promise<void> {
  if (signal.aborted) throw new ClientClosedError(what);
  try {
    await delay(ms, undefined, { signal });
  } catch {
    throw new ClientClosedError(what);
  }
}

export interface RetryContext {
  readonly options: ResolvedRetryOptions;
  readonly signal: AbortSignal;
  /** Called before each retry with the error that failed the attempt (for example: refresh metadata). */
  readonly beforeRetry?: (err: RunnelError) => Promise<void>;
  readonly random?: () => number;
  readonly what?: string;
}

/**
 * Runs `attempt` until it succeeds, a non-retriable error occurs (rethrown as is), or retriesMax
 * retries have failed (RetriesExhaustedError carrying the last error). Errors are normalised with
 * fromServiceError. Retrying an operation whose outcome was unknown (timeout, lost connection) can
 * apply it twice.
 */
export async function withRetry<T>(ctx: RetryContext, attempt: (attemptNumber: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    if (ctx.signal.aborted) throw new ClientClosedError(ctx.what ?? 'client');
    try {
      return await attempt(n);
    } catch (thrown) {
      const err = fromServiceError(thrown);
      if (ctx.signal.aborted) throw new ClientClosedError(ctx.what ?? 'client');
      if (err instanceof ClientClosedError) throw err;
      if (!err.retriable) throw err;
      if (n >= ctx.options.retriesMax) throw new RetriesExhaustedError(err, n + 1);
      const wait = sleep(backoffMs(n, ctx.options, ctx.random), ctx.signal, ctx.what);
      const prepare = ctx.beforeRetry?.(err).catch(() => undefined);
      await Promise.all([wait, prepare]);
    }
  }
}
