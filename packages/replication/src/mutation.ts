/**
 * Negative controls: each disables exactly one safety rule so the simulator can prove its invariant
 * checks fail when a rule is missing. Never set outside tests and `scripts/simulate.mjs`.
 *
 * - `no-epoch-start-rule`: a leader counts batches of earlier epochs towards its HW (Raft figure 8).
 * - `no-promise`: a replica answers PrepareEpoch but keeps accepting the old epoch until told the new leader.
 * - `ack-before-quorum`: QUORUM produces are acknowledged on the leader's local durable append.
 * - `no-divergence-check`: the leader accepts any (fetchOffset, lastFetchedEpoch) as a prefix of its log.
 * - `unclean-election`: the coordinator elects from fewer than a majority of promises after a timeout.
 * - `forget-log-start-epoch`: a restarted replica forgets the epoch before its log start, so a log
 *   retention emptied promises as if it held nothing (it can lose an election it must win).
 * - `empty-log-diverges`: as before issue 11: the epoch before the log start is forgotten, a fetch
 *   with no epoch is diverging, and a follower with no common epoch truncates to 0 (below its HW).
 */
export type Mutation =
  | 'no-epoch-start-rule'
  | 'no-promise'
  | 'ack-before-quorum'
  | 'no-divergence-check'
  | 'unclean-election'
  | 'forget-log-start-epoch'
  | 'empty-log-diverges';

export const MUTATIONS: readonly Mutation[] = [
  'no-epoch-start-rule',
  'no-promise',
  'ack-before-quorum',
  'no-divergence-check',
  'unclean-election',
  'forget-log-start-epoch',
  'empty-log-diverges',
];
