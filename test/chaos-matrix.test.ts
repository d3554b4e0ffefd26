// The CI chaos matrix: scripted fault scenarios against a real 3-broker cluster with every link
// behind a fault proxy, QUORUM producers and subscribers recording a history, then the checker
// (lost or divergent writes, skipped or phantom reads, stale reads, replica divergence on disk).
// Negative controls prove the matrix can see loss: fsync=never with a power loss, and a broker
// built to acknowledge before the quorum (--test-fault ack-before-quorum).
import { describe, expect, it } from 'vitest';
import { SCENARIOS, formatAnomalies, runChaos, type ChaosResult } from '@runnel/testkit';

const SCENARIO_MS = 20_000;

function explain(r: ChaosResult): string {
  return `seed ${r.seed}, data kept in ${r.dataDir}\n${formatAnomalies(r.check, 10)}`;
}

async function run(name: string, seed: number, extra: Parameters<typeof runChaos>[0] extends infer O ? Partial<O> : never = {}): Promise<ChaosResult> {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  return runChaos({ durationMs: SCENARIO_MS, scenario, seed, logLevel: 'warn', producers: 3, ...extra });
}

describe('chaos matrix: nothing acknowledged is lost', () => {
  it.each([
    ['leader-kill-repeat', 1],
    ['leader-kill-repeat', 2],
    ['follower-kill', 1],
    ['leader-pause', 1],
    ['leader-cut-from-followers', 1],
    ['leader-cut-from-coordinator', 1],
    ['leader-cut-from-coordinator', 2],
    ['bridge', 1],
    ['slow-links-leader-change', 1],
    ['coordinator-kill-during-failover', 1],
    ['whole-cluster-restart', 1],
    ['power-loss-while-paused', 1],
    ['whole-cluster-power-loss', 1],
  ])('%s (seed %i)', async (name, seed) => {
    const r = await run(name, seed);
    expect(r.check.anomalies, explain(r)).toEqual([]);
    expect(r.faults.length).toBeGreaterThan(0);
    expect(r.check.stats.produceOk).toBeGreaterThan(50);
    console.log(`chaos ${name} seed ${seed}: ${r.check.stats.produceOk} acked, ${r.check.stats.produceInfo} unknown, availability during faults ${(r.summary.availabilityDuringFaults * 100).toFixed(1)}%`);
  }, 120_000);
});

describe('chaos matrix: consumer groups', () => {
  it('group members through repeated leader kills: no partition processed by two members at once, commits never go back', async () => {
    const r = await run('leader-kill-repeat', 3, { groupMembers: 2 });
    expect(r.check.anomalies, explain(r)).toEqual([]);
    const holds = r.history.filter((e) => e.f === 'acquire').length;
    const commits = r.history.filter((e) => e.f === 'commit' && e.type === 'ok').length;
    expect(holds).toBeGreaterThan(50);
    expect(commits).toBeGreaterThan(0);
    console.log(`chaos group: ${holds} records processed by members, ${commits} partition commits acknowledged`);
  }, 120_000);
});

describe('chaos matrix: negative controls see loss', () => {
  it('fsync=never and a power loss of every broker: acknowledged writes are reported lost', async () => {
    const r = await run('whole-cluster-power-loss', 1, { fsync: 'never' });
    expect(r.check.valid).toBe(false);
    expect(r.check.anomalies.map((a) => a.kind)).toContain('lost-write');
  }, 120_000);

  it('a broker that acknowledges before the quorum loses writes when its leader dies under lagging followers', async () => {
    const r = await run('slow-links-leader-change', 1, { testFault: 'ack-before-quorum' });
    expect(r.check.valid).toBe(false);
    expect(r.check.anomalies.map((a) => a.kind)).toContain('lost-write');
  }, 120_000);
});
