import { describe, expect, it } from 'vitest';
import { RecordAccumulator, type ClosedBatch, type TimerScheduler } from '../src/record-accumulator.js';

class ManualTimers implements TimerScheduler {
  private nextId = 1;
  readonly pending = new Map<number, { fn: () => void; ms: number }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { fn, ms });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  fireAll(): void {
    const list = [...this.pending.values()];
    this.pending.clear();
    for (const t of list) t.fn();
  }
}

function setup(limits = { lingerMs: 5, batchBytesMax: 100, batchRecordsMax: 1000 }) {
  const timers = new ManualTimers();
  const closed: Array<ClosedBatch<string>> = [];
  const acc = new RecordAccumulator<string>(limits, (b) => closed.push(b), timers);
  const add = (partition: number, bytes: number, owner = 'send', index = 0) =>
    acc.append('t', partition, { value: Buffer.alloc(1) }, bytes, owner, index);
  return { timers, closed, acc, add };
}

describe('record accumulator', () => {
  it('closes a batch when linger expires, with one timer per open batch', () => {
    const { timers, closed, add } = setup();
    add(0, 10, 'a', 0);
    add(0, 10, 'a', 1);
    add(1, 10, 'b', 0);
    expect(closed).toHaveLength(0);
    expect(timers.pending.size).toBe(2);
    expect([...timers.pending.values()].every((t) => t.ms === 5)).toBe(true);
    timers.fireAll();
    expect(closed.map((b) => [b.partition, b.records.length, b.sizeBytes])).toEqual([[0, 2, 20], [1, 1, 10]]);
    expect(closed[0]?.owners).toEqual(['a', 'a']);
    expect(closed[0]?.ownerIndexes).toEqual([0, 1]);
  });

  it('closes a batch before it would exceed batchBytesMax and when it reaches it', () => {
    const { timers, closed, add } = setup();
    add(0, 60);
    add(0, 60); // would be 120 > 100: first batch closes, second opens
    expect(closed.map((b) => b.sizeBytes)).toEqual([60]);
    add(0, 40); // reaches 100: closes at once
    expect(closed.map((b) => b.sizeBytes)).toEqual([60, 100]);
    expect(timers.pending.size).toBe(0);
  });

  it('sends a record larger than batchBytesMax alone', () => {
    const { closed, add } = setup();
    add(0, 10);
    add(0, 500);
    expect(closed.map((b) => b.sizeBytes)).toEqual([10, 500]);
  });

  it('caps records per batch and flushes everything on demand', () => {
    const { closed, add, acc, timers } = setup({ lingerMs: 1000, batchBytesMax: 1_000_000, batchRecordsMax: 3 });
    for (let i = 0; i < 7; i++) add(0, 1, 's', i);
    expect(closed.map((b) => b.records.length)).toEqual([3, 3]);
    expect(acc.openBatches).toBe(1);
    acc.flushAll();
    expect(closed.map((b) => b.records.length)).toEqual([3, 3, 1]);
    expect(closed[2]?.ownerIndexes).toEqual([6]);
    expect(acc.openBatches).toBe(0);
    expect(timers.pending.size).toBe(0);
  });
});
