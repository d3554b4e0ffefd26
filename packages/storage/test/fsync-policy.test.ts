import { describe, expect, it } from 'vitest';
import { formatFsyncPolicy, parseFsyncPolicy } from '../src/index.js';

describe('fsync policy', () => {
  it('parses and formats the three kinds', () => {
    for (const text of ['always', 'never', 'interval:1', 'interval:250', 'interval:60000']) {
      expect(formatFsyncPolicy(parseFsyncPolicy(text))).toBe(text);
    }
    expect(parseFsyncPolicy('interval:250')).toEqual({ kind: 'interval', intervalMs: 250 });
  });

  it('rejects bad text with an INVALID_REQUEST error naming the input', () => {
    for (const text of ['', 'Always', 'sometimes', 'interval:', 'interval:0', 'interval:-5', 'interval:1.5', 'interval:abc', 'interval:60001', 'interval: 5']) {
      expect(() => parseFsyncPolicy(text)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', message: expect.stringContaining(`"${text}"`) }));
    }
  });
});
