import { describe, expect, it } from 'vitest';
import { EpochCache, MemoryLogStorage } from '../src/index.js';
import { batch } from './harness.js';

describe('MemoryLogStorage (in-memory twin of the partition log)', () => {
  it('appends take effect at once; a crash loses what is not yet durable', () => {
    const log = new MemoryLogStorage();
    log.append(batch(0, 1, 2));
    log.append(batch(2, 1, 1));
    log.append(batch(3, 2, 1));
    expect(log.logEndOffset).toBe(4);
    expect(log.completeOps(2)).toEqual([
      { kind: 'append', endOffset: 2 },
      { kind: 'append', endOffset: 3 },
    ]);
    expect(log.durableEndOffset).toBe(3);
    log.crash();
    expect(log.logEndOffset).toBe(3);
    expect(log.lastEpoch).toBe(1);
    expect(log.recovered(4)).toEqual({
      logEndOffset: 3, epochEntries: [{ epoch: 1, startOffset: 0 }], highWatermark: 0, promisedEpoch: 4, logStart: { offset: 0, epochBefore: -1 },
    });
  });

  it('a truncation not yet durable is undone by a crash', () => {
    const log = new MemoryLogStorage({ batches: [batch(0, 1), batch(1, 2), batch(2, 2)] });
    log.truncateTo(1);
    expect(log.logEndOffset).toBe(1);
    log.crash();
    expect(log.logEndOffset).toBe(3);
    expect(log.epochEntries()).toEqual([
      { epoch: 1, startOffset: 0 },
      { epoch: 2, startOffset: 1 },
    ]);
  });

  it('reads whole batches from the one holding the offset, within the byte budget (at least one), below the end offset', () => {
    const log = new MemoryLogStorage({ batches: [batch(0, 1, 2, 100), batch(2, 1, 2, 100), batch(4, 1, 2, 100)] });
    expect(log.read(3, 150, 100).map((b) => b.baseOffset)).toEqual([2]);
    expect(log.read(3, 250, 100).map((b) => b.baseOffset)).toEqual([2, 4]);
    expect(log.read(0, 1000, 4).map((b) => b.baseOffset)).toEqual([0, 2]);
    expect(log.read(6, 1000, 100)).toEqual([]);
  });

  it('the HW checkpoint is durable with the next completed write and never beyond the durable log', () => {
    const log = new MemoryLogStorage();
    log.append(batch(0, 1));
    log.completeOps(1);
    log.setHighWatermark(1);
    log.append(batch(1, 1));
    log.crash();
    expect(log.highWatermark).toBe(0);
    log.append(batch(1, 1));
    log.setHighWatermark(1);
    log.completeOps(0);
    log.crash();
    expect(log.highWatermark).toBe(1);
  });

  it('retention deletes durable whole batches below the HW; an emptied log restores with its start and the epoch before it', () => {
    const log = new MemoryLogStorage();
    log.append(batch(0, 1, 2));
    log.append(batch(2, 3, 1));
    log.setHighWatermark(3);
    log.completeOps(2);
    expect(log.applyRetention(2)).toBe(2);
    expect(log.logStart).toEqual({ offset: 2, epochBefore: 1 });
    expect(log.applyRetention(3)).toBe(1);
    expect(log.logEndOffset).toBe(3);
    expect(log.recovered(3)).toEqual({ logEndOffset: 3, epochEntries: [], highWatermark: 3, promisedEpoch: 3, logStart: { offset: 3, epochBefore: 3 } });
    log.crash();
    expect(log.logEndOffset).toBe(3);
  });
});

describe('EpochCache (KIP-101 leader-epoch checkpoint)', () => {
  it('endOffsetForEpoch answers the largest epoch <= the asked one and where it ends', () => {
    const c = new EpochCache([
      { epoch: 1, startOffset: 0 },
      { epoch: 3, startOffset: 5 },
      { epoch: 6, startOffset: 9 },
    ]);
    expect(c.endOffsetForEpoch(0, 12)).toEqual({ epoch: -1, endOffset: -1 });
    expect(c.endOffsetForEpoch(1, 12)).toEqual({ epoch: 1, endOffset: 5 });
    expect(c.endOffsetForEpoch(4, 12)).toEqual({ epoch: 3, endOffset: 9 });
    expect(c.endOffsetForEpoch(9, 12)).toEqual({ epoch: 6, endOffset: 12 });
    expect(c.epochBefore(0)).toBe(-1);
    expect(c.epochBefore(5)).toBe(1);
    expect(c.epochBefore(6)).toBe(3);
    c.truncateTo(9);
    expect(c.lastEpoch).toBe(3);
  });

  it('with a log start, the epoch before it answers for the deleted prefix (Raft snapshot last term)', () => {
    const empty = new EpochCache([], { offset: 3, epochBefore: 2 });
    expect(empty.lastEpoch).toBe(2);
    expect(empty.epochBefore(3)).toBe(2);
    expect(empty.endOffsetForEpoch(2, 3)).toEqual({ epoch: 2, endOffset: 3 });
    expect(empty.endOffsetForEpoch(1, 3)).toEqual({ epoch: -1, endOffset: -1 });
    empty.append(4, 3);
    expect(empty.endOffsetForEpoch(3, 4)).toEqual({ epoch: 2, endOffset: 3 });
    expect(empty.epochBefore(3)).toBe(2);
    expect(() => empty.truncateTo(2)).toThrow(/below the log start/);
  });

  it('an epoch going backwards is a programmer error', () => {
    const c = new EpochCache([{ epoch: 3, startOffset: 0 }]);
    expect(() => c.append(2, 4)).toThrow(/backwards/);
  });
});
