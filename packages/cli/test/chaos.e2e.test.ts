// `runnel chaos` as users run it (built): a short run with kill faults exits 0 with a clean
// report and writes the HTML page; bad flags are usage errors (exit 2).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, runCli } from './run-cli.js';

describe('runnel chaos', () => {
  it('runs a short kill -9 chaos run: no anomaly, JSON result, HTML report', async () => {
    assertBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'runnel-chaos-cli-'));
    try {
      const report = join(dir, 'report.html');
      const r = await runCli(['chaos', '--duration', '4s', '--faults', 'kill', '--seed', '5', '--json', '--report', report], { timeoutMs: 120_000 });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { valid: boolean; anomalies: unknown[]; stats: { produceOk: number }; faults: Array<{ description: string }> };
      expect(doc.valid).toBe(true);
      expect(doc.anomalies).toEqual([]);
      expect(doc.stats.produceOk).toBeGreaterThan(20);
      expect(doc.faults.length).toBeGreaterThan(0);
      const html = readFileSync(report, 'utf8');
      expect(html).toContain('<svg');
      expect(html).toContain(doc.faults[0]!.description);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);

  it('refuses unknown faults and bad durations', async () => {
    const bad = await runCli(['chaos', '--faults', 'meteor']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown fault "meteor"');
    const short = await runCli(['chaos', '--duration', '10ms']);
    expect(short.code).toBe(2);
  });
});
