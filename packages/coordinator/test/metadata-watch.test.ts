import { EventEmitter } from 'node:events';
import type { ClusterMetadata } from '@runnel/protocol';
import { describe, expect, it } from 'vitest';
import { MetadataWatchers } from '../src/index.js';
import type { WatchStream } from '../src/index.js';

class FakeStream extends EventEmitter implements WatchStream {
  readonly written: ClusterMetadata[] = [];
  full = false;
  ended = false;
  write(m: ClusterMetadata): boolean {
    this.written.push(m);
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
}

const snap = (version: number): ClusterMetadata => ({ version, brokers: [], topics: [], clusterId: 'c' });

describe('MetadataWatchers', () => {
  it('sends the current snapshot at once, then every change', () => {
    const w = new MetadataWatchers();
    const s = new FakeStream();
    w.add(s, snap(1));
    w.publish(snap(2));
    w.publish(snap(3));
    expect(s.written.map((m) => m.version)).toEqual([1, 2, 3]);
  });

  it('a slow watcher gets only the newest snapshot when it drains', () => {
    const w = new MetadataWatchers();
    const slow = new FakeStream();
    const fast = new FakeStream();
    w.add(slow, snap(1));
    w.add(fast, snap(1));
    slow.full = true;
    w.publish(snap(2)); // written, then blocked
    for (let v = 3; v <= 1000; v++) w.publish(snap(v));
    expect(slow.written.map((m) => m.version)).toEqual([1, 2]);
    expect(fast.written).toHaveLength(1000);
    slow.full = false;
    slow.emit('drain');
    expect(slow.written.map((m) => m.version)).toEqual([1, 2, 1000]);
    slow.emit('drain');
    expect(slow.written).toHaveLength(3);
  });

  it('drops watchers on cancel and ends the rest on closeAll', () => {
    const w = new MetadataWatchers();
    const a = new FakeStream();
    const b = new FakeStream();
    w.add(a, snap(1));
    w.add(b, snap(1));
    a.emit('cancelled');
    expect(w.size).toBe(1);
    w.publish(snap(2));
    expect(a.written).toHaveLength(1);
    w.closeAll();
    expect(b.ended).toBe(true);
    expect(w.size).toBe(0);
  });
});
