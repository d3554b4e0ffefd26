/**
 * Negative controls: each disables exactly one safety rule so the simulator can prove its invariant
 * checks fail when a rule is missing. Never set outside tests and `scripts/simulate.mjs`.
 *
 * - `no-epoch-start-rule`: a leader counts batches of earlier epochs towards its HW (Raft figure 8).
 * - `no-promise`: a replica answers PrepareEpoch but keeps accepting the old epoch until told the new leader.
 * - `ack-before-quorum`: QUORUM produces are acknowledged on the leader's local durable append.
 * - `no-divergence-check`: the leader accepts any (fetchOffset, lastFetchedEpoch) as a prefix of its log.
 * - `unclean-election`: the coordinator elects from fewer than a majority of promises after a timeout.
 */
export type Mutation =
  | 'no-epoch-start-rule'
  | 'no-promise'
  | 'ack-before-quorum'
  | 'no-divergence-check'
  | 'unclean-election';

export const MUTATIONS: readonly Mutation[] = [
  'no-epoch-start-rule',
  'no-promise',
  'ack-before-quorum',
  'no-divergence-check',
  'unclean-election',
];
