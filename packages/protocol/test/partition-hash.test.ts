import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '@runnel/protocol';

// Kafka's own murmur2 vectors (clients/src/test/.../UtilsTest), plus partitions documented in
// docs/partitioning.md for other-language clients.
const VECTORS: Array<[string, number, number, number]> = [
  ['21', -973932308, 0, 0],
  ['foobar', -790332482, 0, 6],
  ['abc', 479470107, 0, 3],
  ['a-little-bit-long-string', -985981536, 2, 8],
  ['a-little-bit-longer-string', -1486304829, 2, 11],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, 2, 5],
];

describe('key hash', () => {
  it.each(VECTORS)('murmur2(%s) matches Kafka and the documented partitions', (key, hash, of3, of12) => {
    const bytes = Buffer.from(key, 'utf8');
    expect(murmur2(bytes)).toBe(hash);
    expect(partitionForKey(bytes, 3)).toBe(of3);
    expect(partitionForKey(bytes, 12)).toBe(of12);
  });

  it('spreads keys over partitions and stays in range', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 8000; i++) {
      const p = partitionForKey(Buffer.from(`key-${i}`), 8);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(8);
      counts[p]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('handles the empty key', () => {
    expect(partitionForKey(Buffer.alloc(0), 5)).toBe(partitionForKey(new Uint8Array(0), 5));
  });
});
