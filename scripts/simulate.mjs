#!/usr/bin/env node
// Deterministic simulation of the replication protocol (packages/replication), seed by seed.
//
//   node scripts/simulate.mjs --seeds N [--start S] [--steps K] [--replicas R]
//                             [--faults default|churn|isolation|retention|retention-own-hw|none] [--mutation M] [--expect-violation] [--trace]
//
// Runs seeds S..S+N-1 (default S=1, K=300, R=3), prints a summary and every failing seed with the
// command that replays it. Exit code 1 when any seed breaks an invariant (with --expect-violation:
// when none does — for the negative controls, where --mutation disables one safety rule).
// Needs a build: npx tsc -b packages/replication
import { parseArgs } from 'node:util';
import { DEFAULT_FAULTS, LEADER_CHURN_FAULTS, LEADER_ISOLATION_FAULTS, MUTATIONS, NO_FAULTS, OWN_HW_RETENTION_FAULTS, RETENTION_FAULTS, runSimulation } from '../packages/replication/dist/index.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    start: { type: 'string', default: '1' },
    steps: { type: 'string', default: '300' },
    replicas: { type: 'string', default: '3' },
    faults: { type: 'string', default: 'default' },
    mutation: { type: 'string' },
    'expect-violation': { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (values.help) {
  console.log('usage: node scripts/simulate.mjs --seeds N [--start S] [--steps K] [--replicas R] [--faults default|churn|isolation|retention|retention-own-hw|none] [--mutation M] [--expect-violation] [--trace]');
  console.log(`mutations: ${MUTATIONS.join(', ')}`);
  process.exit(0);
}

const int = (name) => {
  const n = Number(values[name]);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
  return n;
};
const seeds = int('seeds');
const start = int('start');
const steps = int('steps');
const replicas = int('replicas');
const PROFILES = { default: DEFAULT_FAULTS, churn: LEADER_CHURN_FAULTS, isolation: LEADER_ISOLATION_FAULTS, retention: RETENTION_FAULTS, 'retention-own-hw': OWN_HW_RETENTION_FAULTS, none: NO_FAULTS };
const faults = PROFILES[values.faults];
if (faults === undefined) {
  console.error(`--faults must be one of ${Object.keys(PROFILES).join(', ')}`);
  process.exit(2);
}
const mutation = values.mutation;
if (mutation !== undefined && !MUTATIONS.includes(mutation)) {
  console.error(`--mutation must be one of ${MUTATIONS.join(', ')}`);
  process.exit(2);
}

const replay = (seed) =>
  `node scripts/simulate.mjs --seeds 1 --start ${seed} --steps ${steps} --replicas ${replicas} --faults ${values.faults}` +
  (mutation === undefined ? '' : ` --mutation ${mutation}`) +
  ' --trace';

const totals = { produced: 0, acked: { NONE: 0, LEADER: 0, QUORUM: 0, ALL: 0 }, failed: { NOT_LEADER: 0, TIMEOUT: 0, NOT_ENOUGH_REPLICAS: 0 }, elections: 0, isolationReports: 0, offline: 0, crashes: 0, restarts: 0, coordinatorCrashes: 0, partitions: 0, truncations: 0, retentions: 0, emptiedLogs: 0, committedOffsets: 0, consumedBatches: 0, messagesSent: 0, messagesDropped: 0 };
const failures = [];
const t0 = performance.now();
for (let seed = start; seed < start + seeds; seed++) {
  const r = runSimulation({ seed, steps, replicas, faults, trace: values.trace, ...(mutation === undefined ? {} : { mutation }) });
  if (values.trace) for (const line of r.trace) console.log(line);
  const s = r.stats;
  totals.produced += s.produced;
  for (const k of Object.keys(totals.acked)) totals.acked[k] += s.acked[k];
  for (const k of Object.keys(totals.failed)) totals.failed[k] += s.failed[k];
  for (const k of ['elections', 'isolationReports', 'offline', 'crashes', 'restarts', 'coordinatorCrashes', 'partitions', 'truncations', 'retentions', 'emptiedLogs', 'committedOffsets', 'consumedBatches', 'messagesSent', 'messagesDropped']) totals[k] += s[k];
  for (const v of r.violations) {
    failures.push(v);
    console.log(`FAIL seed ${v.seed} step ${v.step} ${v.kind}: ${v.message}\n  replay: ${replay(v.seed)}`);
  }
}
const ms = Math.round(performance.now() - t0);

console.log(
  `simulated ${seeds} seeds (${start}..${start + seeds - 1}) x ${steps} steps, R=${replicas}, faults=${values.faults}` +
    (mutation === undefined ? '' : `, mutation=${mutation}`) +
    ` in ${ms} ms`,
);
console.log(`  produced ${totals.produced}; acked ${JSON.stringify(totals.acked)}; failed ${JSON.stringify(totals.failed)}`);
console.log(
  `  elections ${totals.elections} (isolated-leader reports ${totals.isolationReports}), offline ${totals.offline}, replica crashes ${totals.crashes}, coordinator crashes ${totals.coordinatorCrashes}, ` +
    `cuts ${totals.partitions}, truncations ${totals.truncations}, retention passes ${totals.retentions} (emptied logs ${totals.emptiedLogs}), committed offsets ${totals.committedOffsets}, ` +
    `messages ${totals.messagesSent} (${totals.messagesDropped} dropped)`,
);
console.log(`  violations: ${failures.length}${failures.length > 0 ? ` (first: seed ${failures[0].seed})` : ''}`);

const bad = values['expect-violation'] ? failures.length === 0 : failures.length > 0;
if (values['expect-violation'] && failures.length === 0) console.log('  expected a violation (negative control) and found none');
process.exit(bad ? 1 : 0);
