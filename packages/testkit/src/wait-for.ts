import { POLL_INTERVAL_MS_DEFAULT } from './constants.js';

export interface WaitForOptions {
  /** Give up (reject) after this long. */
  readonly timeoutMs: number;
  /** Pause between two evaluations of the condition. Default 50 ms. */
  readonly intervalMs?: number;
  /** Named in the timeout error. */
  readonly description?: string;
}

/**
 * Polls `condition` until it returns a truthy value (which is returned) or the deadline passes
 * (rejects, naming the last error the condition threw, if any). A condition that throws counts as
 * "not yet". Deadline-bounded polling of an observable condition, not sleep-as-synchronisation.
 */
export async function waitFor<T>(
  condition: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitForOptions,
): Promise<T> {
  const intervalMs = options.intervalMs ?? POLL_INTERVAL_MS_DEFAULT;
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value !== false && value !== null && value !== undefined && (value as unknown) !== 0 && (value as unknown) !== '') return value;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = options.description ?? 'condition';
      const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${why}`, lastError === undefined ? undefined : { cause: lastError });
    }
    await new Promise<void>((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}
