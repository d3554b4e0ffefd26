import { describe, expect, it } from 'vitest';
import { EpochCache } from '../src/epoch-cache.js';

describe('epoch cache: endOffsetFor (KIP-101)', () => {
  const cache = new EpochCache([
    { epoch: 1, startOffset: 0 },
    { epoch: 3, startOffset: 10 },
    { epoch: 4, startOffset: 25 },
  ]);
  const leo = 40;

  it('the latest epoch ends at the LEO', () => {
    expect(cache.endOffsetFor(4, leo)).toEqual({ epoch: 4, endOffset: 40 });
  });
  it('an older epoch ends where the next one starts', () => {
    expect(cache.endOffsetFor(1, leo)).toEqual({ epoch: 1, endOffset: 10 });
    expect(cache.endOffsetFor(3, leo)).toEqual({ epoch: 3, endOffset: 25 });
  });
  it('an unknown epoch between known ones answers with the largest epoch below it', () => {
    expect(cache.endOffsetFor(2, leo)).toEqual({ epoch: 1, endOffset: 10 });
  });
  it('an epoch beyond the latest answers with the latest and the LEO', () => {
    expect(cache.endOffsetFor(9, leo)).toEqual({ epoch: 4, endOffset: 40 });
  });
  it('an epoch below every known one, or an empty cache, answers -1/-1', () => {
    expect(cache.endOffsetFor(0, leo)).toEqual({ epoch: -1, endOffset: -1 });
    expect(new EpochCache().endOffsetFor(3, 0)).toEqual({ epoch: -1, endOffset: -1 });
  });
  it('truncateBefore keeps the epoch of the oldest retained offset', () => {
    const c = new EpochCache(cache.all());
    const { removed, rewritten } = c.truncateBefore(12);
    expect(removed).toEqual([{ epoch: 1, startOffset: 0 }]);
    expect(rewritten).toEqual({ epoch: 3, startOffset: 12 });
    expect(c.all()).toEqual([{ epoch: 3, startOffset: 12 }, { epoch: 4, startOffset: 25 }]);
  });
});
