import { describe, expect, it } from 'vitest';
import { parsePosition } from '../src/parse-position.js';

describe('parsePosition', () => {
  it('accepts earliest and latest in any case', () => {
    expect(parsePosition('earliest')).toBe('earliest');
    expect(parsePosition('LATEST')).toBe('latest');
    expect(parsePosition(' earliest ')).toBe('earliest');
  });

  it('reads a non-negative integer as an offset', () => {
    expect(parsePosition('0')).toEqual({ offset: 0 });
    expect(parsePosition('12345')).toEqual({ offset: 12345 });
  });

  it('reads ISO-8601 times as timestamps', () => {
    expect(parsePosition('2024-05-01T12:00:00Z')).toEqual({ timestampMs: Date.UTC(2024, 4, 1, 12) });
    expect(parsePosition('2024-05-01T12:00:00.250+02:00')).toEqual({ timestampMs: Date.UTC(2024, 4, 1, 10, 0, 0, 250) });
    expect(parsePosition('2024-05-01')).toEqual({ timestampMs: Date.UTC(2024, 4, 1) });
  });

  it.each(['', 'soon', '-1', '1.5', '12abc', '2024-13-45T99:99:99Z', '2024/05/01', '99999999999999999999', 'now'])('rejects %j with a message naming what is accepted', (text) => {
    expect(() => parsePosition(text)).toThrow(/is not a position/);
  });
});
