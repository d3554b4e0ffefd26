import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AppendRecordsInput, FsyncPolicy } from '../src/index.js';
import { Store } from '../src/index.js';

export const silentLogger = pino({ level: 'silent' });

/** A temp dir per test, removed by cleanup(). */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'runnel-storage-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function openStore(dir: string, fsync: FsyncPolicy = { kind: 'always' }, extra: { pendingBytesMax?: number } = {}): Promise<Store> {
  return Store.open(dir, { fsync, logger: silentLogger, ...extra });
}

/** An append input whose recordSet bytes are arbitrary (storage never decodes them). */
export function records(text: string, overrides: Partial<AppendRecordsInput> = {}): AppendRecordsInput {
  return { recordSet: Buffer.from(text), recordCount: 1, maxTimestampMs: 1000, leaderEpoch: 0, ...overrides };
}

export const P0 = { topicId: 'topic-id-0', partition: 0 } as const;
