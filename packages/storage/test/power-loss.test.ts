// The test-only power-loss simulation: after `recover`, a store holds exactly what its fsyncs
// guaranteed — every write since the last fsync is gone, every fsynced one is there.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../src/index.js';
import type { FsyncPolicy } from '../src/index.js';
import { P0, records, silentLogger, tempDir } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await cleanup();
});

const open = (fsync: FsyncPolicy, powerLoss: 'track' | 'recover' | undefined): Promise<Store> =>
  Store.open(dir, { fsync, logger: silentLogger, ...(powerLoss === undefined ? {} : { powerLoss }) });

const WRITER = fileURLToPath(new URL('./fixtures/power-loss-writer.mjs', import.meta.url));

/** Runs the writer child (built store), then kills it -9 once it has written everything. */
function writeAndKill(first: number, syncedMeta: boolean, second: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(first), syncedMeta ? '1' : '0', String(second)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`writer did not finish: ${stderr}`));
    }, 15_000);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('done')) child.kill('SIGKILL');
    });
    child.on('exit', () => {
      clearTimeout(deadline);
      resolve();
    });
  });
}

async function logEnd(store: Store): Promise<number> {
  return (await store.partition(P0)).logEndOffset;
}

describe('power-loss simulation', () => {
  it('fsync=never: a power loss discards every append; a plain restart (kill -9) keeps them', async () => {
    await writeAndKill(20, false, 0);
    let store = await open({ kind: 'never' }, 'track');
    expect(await logEnd(store)).toBe(20); // no power loss declared: the OS had it all
    await store.close();

    store = await open({ kind: 'never' }, 'recover');
    expect(await logEnd(store)).toBe(0);
    await store.close();
  });

  it('a clean close fsyncs: a power loss after it loses nothing', async () => {
    let store = await open({ kind: 'never' }, 'track');
    const log = await store.partition(P0);
    for (let i = 0; i < 20; i++) await log.append(records(`r${i}`));
    await store.close();
    store = await open({ kind: 'never' }, 'recover');
    expect(await logEnd(store)).toBe(20);
    await store.close();
  });

  it('fsync=always: a power loss loses nothing that was acknowledged', async () => {
    let store = await open({ kind: 'always' }, 'track');
    const log = await store.partition(P0);
    for (let i = 0; i < 20; i++) await log.append(records(`r${i}`));
    await store.close();
    store = await open({ kind: 'always' }, 'recover');
    expect(await logEnd(store)).toBe(20);
    await store.close();
  });

  it('keeps what a later fsynced write made durable and drops what came after it', async () => {
    // The meta write is synchronous: it fsyncs the five appends before it too.
    await writeAndKill(5, true, 5);
    const store = await open({ kind: 'never' }, 'recover');
    expect(await logEnd(store)).toBe(5);
    expect((await store.meta.get('promise'))?.toString()).toBe('7');
    await store.close();
  });
});
