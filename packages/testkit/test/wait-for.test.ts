import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/wait-for.js';

describe('waitFor', () => {
  it('returns the first truthy value of the condition', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { timeoutMs: 2_000, intervalMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it('treats a throwing condition as not yet, and names the last error on timeout', async () => {
    await expect(waitFor(() => { throw new Error('still starting'); }, { timeoutMs: 30, intervalMs: 5, description: 'the thing' }))
      .rejects.toThrow(/timed out after 30 ms waiting for the thing; last error: still starting/);
  });

  it('awaits async conditions', async () => {
    let n = 0;
    await expect(waitFor(async () => ++n > 1, { timeoutMs: 1_000, intervalMs: 1 })).resolves.toBe(true);
  });
});
