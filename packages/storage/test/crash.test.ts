import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { messageType } from '@runnel/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBatchHeader } from '../src/index.js';
import { openStore, tempDir } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/crash-appender.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const TOPIC = 'crash-topic';
const killsTotal = 3;
const runDeadlineMs = 15_000;

let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(async () => {
  await cleanup();
});

/** Runs the child until it has acked `acksWanted` appends, then SIGKILLs it; returns its acks. */
function runAndKill(leaderEpoch: number, acksWanted: number): Promise<Array<{ base: number; count: number }>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [FIXTURE, dir, TOPIC, String(leaderEpoch)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: Array<{ base: number; count: number }> = [];
    let pending = '';
    let stderr = '';
    let killed = false;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`child acked only ${acks.length} appends in ${runDeadlineMs} ms; stderr: ${stderr}`));
    }, runDeadlineMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, base, count] = line.split(' ');
        if (kind === 'ack') acks.push({ base: Number(base), count: Number(count) });
      }
      if (!killed && acks.length >= acksWanted) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (signal === 'SIGKILL' && killed) resolve(acks);
      else reject(new Error(`child exited early (code ${code}, signal ${signal}); stderr: ${stderr}`));
    });
  });
}

describe('crash safety (fsync always, SIGKILL)', () => {
  it('every acknowledged append survives a kill with its exact bytes, and nothing corrupt is served', async () => {
    expect(existsSync(DIST), 'build the package first: npx tsc -b packages/storage').toBe(true);
    const RecordSet = messageType('RecordSet');
    const acked = new Map<number, number>();
    for (let run = 1; run <= killsTotal; run++) {
      const acks = await runAndKill(run, 200 + run * 50);
      for (const a of acks) acked.set(a.base, a.count);

      const store = await openStore(dir);
      try {
        const log = await store.partition({ topicId: TOPIC, partition: 0 });
        const leo = log.logEndOffset;
        const values = new Map<number, string>();
        let next = 0;
        while (next < leo) {
          const batches = await log.read(next, 1 << 20, leo); // read() asserts every CRC
          expect(batches.length).toBeGreaterThan(0);
          for (const b of batches) {
            const h = decodeBatchHeader(b);
            expect(h.baseOffset).toBe(next); // contiguous
            const rs = RecordSet.toObject(RecordSet.decode(b.subarray(h.recordSetStart, h.recordSetEnd)), { bytes: String }) as {
              records: Array<{ value: string }>;
            };
            expect(rs.records).toHaveLength(h.recordCount);
            rs.records.forEach((r, i) => values.set(h.baseOffset + i, Buffer.from(r.value, 'base64').toString()));
            next = h.baseOffset + h.recordCount;
          }
        }
        for (const [base, count] of acked) {
          for (let i = 0; i < count; i++) {
            const offset = base + i;
            expect(values.get(offset), `acknowledged offset ${offset} after run ${run}`).toBe(`${offset}:${'x'.repeat((base * 7 + i) % 300)}`);
          }
        }
        expect(log.lastEpoch).toBe(run);
      } finally {
        await store.close();
      }
    }
    expect(acked.size).toBeGreaterThanOrEqual(killsTotal * 200);
  });
});
