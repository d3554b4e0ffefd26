// Negative controls: with one safety rule disabled, the simulator must find a broken invariant
// within a bounded number of seeds. This proves the invariant checks can fail (TigerBeetle VOPR).
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAULTS, LEADER_CHURN_FAULTS, OWN_HW_RETENTION_FAULTS, RETENTION_FAULTS, runSimulation, type FaultProfile, type Mutation, type Violation } from '../src/index.js';

const CONTROLS: ReadonlyArray<{ mutation: Mutation; rule: string; faults: FaultProfile; steps: number; seedsMax: number }> = [
  { mutation: 'no-epoch-start-rule', rule: 'commit needs a batch of the leader epoch (Raft figure 8)', faults: LEADER_CHURN_FAULTS, steps: 1000, seedsMax: 1500 },
  { mutation: 'no-promise', rule: 'a replica that promised e rejects epochs below e', faults: DEFAULT_FAULTS, steps: 300, seedsMax: 400 },
  { mutation: 'ack-before-quorum', rule: 'QUORUM acks wait for the HW', faults: DEFAULT_FAULTS, steps: 300, seedsMax: 100 },
  { mutation: 'no-divergence-check', rule: 'the leader answers Diverging to a fetch that is not a prefix of its log', faults: DEFAULT_FAULTS, steps: 300, seedsMax: 100 },
  { mutation: 'unclean-election', rule: 'only a majority of promises elects', faults: DEFAULT_FAULTS, steps: 300, seedsMax: 400 },
  { mutation: 'empty-log-diverges', rule: 'a log retention emptied is not diverging (issue 11: the follower crash loop)', faults: RETENTION_FAULTS, steps: 600, seedsMax: 300 },
  { mutation: 'forget-log-start-epoch', rule: 'a replica promises with the epoch before its log start', faults: OWN_HW_RETENTION_FAULTS, steps: 600, seedsMax: 1000 },
];

const LOSS: ReadonlySet<Violation['kind']> = new Set([
  'lost-committed',
  'acked-lost',
  'committed-changed',
  'committed-truncated',
  'consumer-saw-change',
  'consumer-beyond-hw',
  'assertion',
]);

describe('negative controls: each disabled rule is caught by the simulator', () => {
  for (const c of CONTROLS) {
    it(`without "${c.rule}" (${c.mutation}) a violation is found within ${c.seedsMax} seeds`, () => {
      let found: Violation | undefined;
      for (let seed = 1; seed <= c.seedsMax && found === undefined; seed++) {
        found = runSimulation({ seed, steps: c.steps, faults: c.faults, mutation: c.mutation }).violations[0];
      }
      console.log(`${c.mutation}: ${found === undefined ? 'NOT FOUND' : `seed ${found.seed} step ${found.step} ${found.kind}: ${found.message}`}`);
      expect(found).toBeDefined();
      expect(LOSS.has(found!.kind)).toBe(true);
    });
  }

  it('the same seeds are clean with every rule in place', () => {
    for (const c of CONTROLS) {
      for (let seed = 1; seed <= 50; seed++) {
        expect(runSimulation({ seed, steps: c.steps, faults: c.faults }).violations).toEqual([]);
      }
    }
  });
});
