// Tier 2 (STYLE.md): the deterministic cluster simulator, many seeds. Every failure prints its seed
// and the command that replays it.
import { describe, expect, it } from 'vitest';
import { LEADER_CHURN_FAULTS, LEADER_ISOLATION_FAULTS, NO_FAULTS, OWN_HW_RETENTION_FAULTS, RETENTION_FAULTS, runSimulation, type SimulationOptions, type SimulationResult } from '../src/index.js';

function replay(o: SimulationOptions): string {
  const parts = ['node scripts/simulate.mjs --seeds 1', `--start ${o.seed}`, `--steps ${o.steps}`, `--replicas ${o.replicas ?? 3}`];
  if (o.faults === LEADER_CHURN_FAULTS) parts.push('--faults churn');
  if (o.faults === LEADER_ISOLATION_FAULTS) parts.push('--faults isolation');
  if (o.faults === RETENTION_FAULTS) parts.push('--faults retention');
  if (o.faults === OWN_HW_RETENTION_FAULTS) parts.push('--faults retention-own-hw');
  if (o.mutation !== undefined) parts.push(`--mutation ${o.mutation}`);
  return `${parts.join(' ')} --trace`;
}

function sweep(base: Omit<SimulationOptions, 'seed'>, first: number, count: number) {
  const failures: string[] = [];
  const totals = { produced: 0, quorumAcked: 0, elections: 0, isolationReports: 0, committedOffsets: 0, crashes: 0, truncations: 0, emptiedLogs: 0, restarts: 0, resets: 0 };
  for (let seed = first; seed < first + count; seed++) {
    const r: SimulationResult = runSimulation({ ...base, seed });
    totals.produced += r.stats.produced;
    totals.quorumAcked += r.stats.acked.QUORUM + r.stats.acked.ALL;
    totals.elections += r.stats.elections;
    totals.isolationReports += r.stats.isolationReports;
    totals.committedOffsets += r.stats.committedOffsets;
    totals.crashes += r.stats.crashes;
    totals.truncations += r.stats.truncations;
    totals.emptiedLogs += r.stats.emptiedLogs;
    totals.restarts += r.stats.restarts;
    totals.resets += r.stats.resets;
    for (const v of r.violations) failures.push(`seed ${v.seed} step ${v.step} ${v.kind}: ${v.message}\n  replay: ${replay({ ...base, seed })}`);
  }
  if (failures.length > 0) console.error(failures.join('\n'));
  return { failures, totals };
}

describe('simulation: no invariant breaks under drops, delays, duplicates, reordering, cuts, bridges, crashes and coordinator restarts', () => {
  it('R=3: 2000 seeds x 300 steps', () => {
    const { failures, totals } = sweep({ steps: 300, replicas: 3 }, 1, 2000);
    expect(failures).toEqual([]);
    // The runs must actually exercise the protocol, not idle.
    expect(totals.quorumAcked).toBeGreaterThan(10_000);
    expect(totals.elections).toBeGreaterThan(4000);
    expect(totals.truncations).toBeGreaterThan(500);
  });

  it('R=5: 500 seeds x 300 steps', () => {
    const { failures, totals } = sweep({ steps: 300, replicas: 5 }, 100_001, 500);
    expect(failures).toEqual([]);
    expect(totals.quorumAcked).toBeGreaterThan(2000);
  });

  it('R=3 under leader churn: 200 seeds x 1000 steps', () => {
    const { failures, totals } = sweep({ steps: 1000, replicas: 3, faults: LEADER_CHURN_FAULTS }, 200_001, 200);
    expect(failures).toEqual([]);
    expect(totals.elections).toBeGreaterThan(2000);
  });

  it('R=3 with leaders cut from their followers only (isolated leaders are moved): 500 seeds x 600 steps', () => {
    const { failures, totals } = sweep({ steps: 600, replicas: 3, faults: LEADER_ISOLATION_FAULTS }, 500_001, 500);
    expect(failures).toEqual([]);
    expect(totals.isolationReports).toBeGreaterThan(40); // 83 with these seeds
    expect(totals.quorumAcked).toBeGreaterThan(2000);
  });

  // Issue 11: a log retention emptied (log start = LEO = HW > 0) is not diverging; restarted
  // replicas keep the epoch before their log start for the divergence check and their promises.
  it('R=3 with retention that empties whole logs, then restarts (every replica, and the whole cluster at once): 300 seeds x 600 steps', () => {
    const { failures, totals } = sweep({ steps: 600, replicas: 3, faults: RETENTION_FAULTS }, 600_001, 300);
    expect(failures).toEqual([]);
    expect(totals.emptiedLogs).toBeGreaterThan(200);
    expect(totals.restarts).toBeGreaterThan(2000);
    expect(totals.quorumAcked).toBeGreaterThan(2000);
  });

  it('R=3 with retention below each replica\'s own HW only (lagging followers start again at the leader\'s log start): 300 seeds x 600 steps', () => {
    const { failures, totals } = sweep({ steps: 600, replicas: 3, faults: OWN_HW_RETENTION_FAULTS }, 700_001, 300);
    expect(failures).toEqual([]);
    expect(totals.emptiedLogs).toBeGreaterThan(200);
    expect(totals.resets).toBeGreaterThan(200); // followers below a leader's log start started again there
  });

  it('R=1 and R=2 degenerate replica sets: 200 seeds each', () => {
    expect(sweep({ steps: 300, replicas: 1 }, 300_001, 200).failures).toEqual([]);
    expect(sweep({ steps: 300, replicas: 2 }, 400_001, 200).failures).toEqual([]);
  });

  it('without faults every produce is acknowledged (liveness) and nothing is truncated', () => {
    for (const replicas of [1, 3, 5]) {
      for (let seed = 1; seed <= 20; seed++) {
        // A load the smallest flow-control windows the simulator draws can carry.
        const r = runSimulation({ seed, steps: 400, replicas, faults: { ...NO_FAULTS, produceRate: 0.1 } });
        expect(r.violations).toEqual([]);
        expect(r.stats.failed).toEqual({ NOT_LEADER: 0, TIMEOUT: 0, NOT_ENOUGH_REPLICAS: 0 });
        expect(r.stats.truncations).toBe(0);
        expect(r.stats.elections).toBe(1);
        const acked = r.stats.acked.NONE + r.stats.acked.LEADER + r.stats.acked.QUORUM + r.stats.acked.ALL;
        expect(r.stats.produced - acked).toBeLessThanOrEqual(5); // the last few are still in flight
      }
    }
  });

  it('the same seed replays the same run', () => {
    const a = runSimulation({ seed: 42, steps: 300, trace: true });
    const b = runSimulation({ seed: 42, steps: 300, trace: true });
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
  });
});
