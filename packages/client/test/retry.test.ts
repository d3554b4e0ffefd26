import { describe, expect, it } from 'vitest';
import { RunnelError } from '@runnel/protocol';
import { RetriesExhaustedError } from '../src/client-errors.js';
import { backoffMs, withRetry } from '../src/retry.js';

const opts = { initialBackoffMs: 50, backoffMsMax: 2000 };

describe('backoff', () => {
  it('is full jitter in [0, min(max, initial * 2^n)]', () => {
    expect(backoffMs(0, opts, () => 0)).toBe(0);
    expect(backoffMs(0, opts, () => 0.999999)).toBe(50);
    expect(backoffMs(1, opts, () => 0.999999)).toBe(100);
    expect(backoffMs(3, opts, () => 0.999999)).toBe(400);
    expect(backoffMs(6, opts, () => 0.999999)).toBe(2000);
    expect(backoffMs(1000, opts, () => 0.999999)).toBe(2000);
    for (let n = 0; n < 50; n++) {
      const b = backoffMs(n, opts);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThanOrEqual(Math.min(2000, 50 * 2 ** n));
    }
  });
});

describe('withRetry', () => {
  const signal = new AbortController().signal;
  const retry = { retriesMax: 3, initialBackoffMs: 1, backoffMsMax: 2 };

  it('retries retriable errors a bounded number of times, then gives a distinct error', async () => {
    let attempts = 0;
    const refreshes: string[] = [];
    const err = await withRetry({ options: retry, signal, beforeRetry: async (e) => { refreshes.push(e.code); } }, async () => {
      attempts++;
      throw new RunnelError('NOT_LEADER', 'moved');
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    const r = err as RetriesExhaustedError;
    expect(r.code).toBe('NOT_LEADER');
    expect(r.attempts).toBe(4);
    expect(r.retriable).toBe(false);
    expect((r.cause as RunnelError).code).toBe('NOT_LEADER');
    expect(attempts).toBe(4);
    expect(refreshes).toEqual(['NOT_LEADER', 'NOT_LEADER', 'NOT_LEADER']);
  });

  it('rethrows non-retriable errors at once and returns a later success', async () => {
    let attempts = 0;
    await expect(withRetry({ options: retry, signal }, async () => {
      attempts++;
      throw new RunnelError('UNKNOWN_TOPIC', 'nope');
    })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC' });
    expect(attempts).toBe(1);
    let n = 0;
    await expect(withRetry({ options: retry, signal }, async () => {
      if (n++ < 2) throw new RunnelError('UNREACHABLE', 'down', { retriable: true });
      return 'ok';
    })).resolves.toBe('ok');
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const p = withRetry({ options: { retriesMax: 100, initialBackoffMs: 10_000, backoffMsMax: 10_000 }, signal: ac.signal, random: () => 1 }, async () => {
      throw new RunnelError('UNREACHABLE', 'down', { retriable: true });
    });
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'SHUTTING_DOWN' });
  });
});
