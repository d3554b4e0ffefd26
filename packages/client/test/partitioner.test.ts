import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, RunnelError } from '@runnel/protocol';
import { Partitioner } from '../src/partitioner.js';

describe('partition choice', () => {
  it('hashes keys with Kafka murmur2 (known vectors)', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('abc'))).toBe(479470107);
  });

  it('sends a keyed record to (murmur2 & 0x7fffffff) % n, the same partition every time', () => {
    const p = new Partitioner();
    for (const k of ['21', 'foobar', 'abc', 'user-42']) {
      const key = Buffer.from(k);
      const expected = (murmur2(key) & 0x7fffffff) % 7;
      expect(p.choose('t', 7, { key })).toBe(expected);
      expect(p.choose('t', 7, { key })).toBe(partitionForKey(key, 7));
    }
    expect(p.choose('t', 7, { key: Buffer.from('21') })).toBe(3); // (-973932308 & 0x7fffffff) % 7 = 1173551340 % 7
  });

  it('honours an explicit partition and rejects one the topic lacks', () => {
    const p = new Partitioner();
    expect(p.choose('t', 3, { partition: 2, key: Buffer.from('abc') })).toBe(2);
    expect(() => p.choose('t', 3, { partition: 3 })).toThrow(RunnelError);
    try {
      p.choose('t', 3, { partition: 5 });
    } catch (err) {
      expect((err as RunnelError).code).toBe('UNKNOWN_PARTITION');
    }
  });

  it('keeps keyless records on one partition until its batch closes, then moves round-robin', () => {
    const p = new Partitioner(() => 0);
    const first = p.choose('t', 3, {});
    expect(first).toBe(0);
    expect(p.choose('t', 3, {})).toBe(0);
    expect(p.choose('t', 3, { key: Buffer.alloc(0) })).toBe(0); // empty key = no key
    p.batchClosed('t', 1); // another partition's batch: no move
    expect(p.choose('t', 3, {})).toBe(0);
    p.batchClosed('t', 0);
    expect(p.choose('t', 3, {})).toBe(1);
    p.batchClosed('t', 1);
    expect(p.choose('t', 3, {})).toBe(2);
    p.batchClosed('t', 2);
    expect(p.choose('t', 3, {})).toBe(0);
    // Independent per topic.
    expect(p.choose('other', 2, {})).toBe(0);
  });
});
