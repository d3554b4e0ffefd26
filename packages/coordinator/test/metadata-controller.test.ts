import { describe, expect, it } from 'vitest';
import { MetadataController } from '../src/metadata-controller.js';
import { emptyState, loadState, MemoryMetaKv } from '../src/index.js';
import type { MetadataState } from '../src/index.js';
import { silentLog } from './helpers.js';

class RecordingKv extends MemoryMetaKv {
  fail = false;
  readonly events: string[] = [];
  override async batch(ops: Parameters<MemoryMetaKv['batch']>[0]): Promise<void> {
    if (this.fail) throw new Error('disk full');
    await super.batch(ops);
    this.events.push('persisted');
  }
}

const register = { type: 'RegisterBroker', brokerId: 1, address: 'h:1', rack: '', incarnation: 'i' } as const;

describe('MetadataController', () => {
  it('persists a change before the listener hears of it', async () => {
    const kv = new RecordingKv();
    const seen: MetadataState[] = [];
    const c = new MetadataController(kv, emptyState('c'), silentLog, (s) => {
      kv.events.push(`told v${s.version}`);
      seen.push(s);
    });
    await c.transact((tx) => tx.apply(register));
    expect(kv.events).toEqual(['persisted', 'told v1']);
    expect((await loadState(kv)).state.brokers.get(1)?.alive).toBe(true);
    // A change that changes nothing writes nothing and tells no one.
    await c.transact((tx) => tx.apply(register));
    expect(kv.events).toHaveLength(2);
  });

  it('leaves the state alone when the write fails, or the change throws', async () => {
    const kv = new RecordingKv();
    let told = 0;
    const c = new MetadataController(kv, emptyState('c'), silentLog, () => told++);
    kv.fail = true;
    await expect(c.transact((tx) => tx.apply(register))).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(c.state.version).toBe(0);
    kv.fail = false;
    await expect(c.transact((tx) => {
      tx.apply(register);
      throw new Error('refused');
    })).rejects.toThrow('refused');
    expect(c.state.brokers.size).toBe(0);
    expect(told).toBe(0);
  });

  it('runs changes one at a time in call order', async () => {
    const c = new MetadataController(new MemoryMetaKv(), emptyState('c'), silentLog, () => undefined);
    const versions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.transact((tx) => tx.apply({ ...register, incarnation: `i${i}` }).version)),
    );
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
