import { performance } from 'node:perf_hooks';
import { RunnelError } from '@runnel/protocol';
import type { Logger } from 'pino';
import {
  CONTROLLED_SHUTDOWN_WAIT_MS, PREFERRED_LEADER_MOVE_INTERVAL_MS_MIN, PREFERRED_LEADER_MOVES_PER_CHECK_MAX,
} from './constants.js';
import type { ElectionDriver } from './election-driver.js';
import { partitionKey } from './election-driver.js';
import type { LeaderStatusTable } from './leader-status.js';
import type { MetadataController } from './metadata-controller.js';
import type { MetadataState } from './metadata-state.js';

export interface LeadershipMovesOptions {
  readonly controller: MetadataController;
  readonly driver: ElectionDriver;
  readonly status: LeaderStatusTable;
  readonly log: Logger;
  /** 0 disables preferred-leader rebalancing. */
  readonly preferredLeaderCheckIntervalMs: number;
}

/**
 * Leadership moves of partitions whose leader is fine, both through the election (a PrepareEpoch
 * round at e+1, so they are as safe as a failover):
 * - controlled shutdown: a broker about to stop asks for its leaderships to move to the other
 *   replicas (only where those alone are a majority, so nothing committed is left behind);
 * - preferred-leader rebalancing: every check, partitions not led by their first replica move back
 *   to it once it is live and in sync (as its leader reports), each at most once per
 *   PREFERRED_LEADER_MOVE_INTERVAL_MS_MIN.
 */
export class LeadershipMoves {
  readonly #o: LeadershipMovesOptions;
  /** Brokers in controlled shutdown, by id -> incarnation (a new incarnation is not shutting down). */
  readonly #shutting = new Map<number, string>();
  readonly #lastMoveMs = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LeadershipMovesOptions) {
    this.#o = options;
  }

  start(): void {
    const every = this.#o.preferredLeaderCheckIntervalMs;
    if (every > 0) this.#timer = setInterval(() => this.preferredLeaderCheck(), every);
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Moves what can move away from `brokerId`, waits up to CONTROLLED_SHUTDOWN_WAIT_MS for it, and
   * answers how many of its leaderships could still move (the broker calls again until 0). A
   * partition whose other replicas are not a live majority (e.g. one replica) cannot move and is
   * not counted: it goes offline when the broker stops, as it would on a crash.
   */
  async controlledShutdown(brokerId: number, incarnation: string): Promise<number> {
    const broker = this.#o.controller.state.brokers.get(brokerId);
    if (broker === undefined || broker.incarnation !== incarnation || !broker.alive) {
      throw new RunnelError('UNKNOWN_BROKER', `broker ${brokerId} (incarnation ${JSON.stringify(incarnation)}) is not registered; nothing to move`);
    }
    this.#shutting.set(brokerId, incarnation);
    const deadline = performance.now() + CONTROLLED_SHUTDOWN_WAIT_MS;
    for (;;) {
      const movable = this.#movableFrom(this.#o.controller.state, brokerId);
      // A partition whose election is already in progress refuses the transfer; it is asked again after the next change.
      for (const m of movable) this.#o.driver.transfer(m.topicId, m.partition, { exclude: brokerId });
      const left = deadline - performance.now();
      if (movable.length === 0 || left <= 0) {
        this.#o.log.info({ brokerId, remaining: movable.length }, 'controlled shutdown');
        return movable.length;
      }
      await this.#o.driver.nextChange(left);
    }
  }

  /** One pass of preferred-leader rebalancing. */
  preferredLeaderCheck(): void {
    const state = this.#o.controller.state;
    const live = this.#o.driver.live;
    const now = performance.now();
    let moves = 0;
    for (const t of state.topics.values()) {
      for (const p of t.partitions) {
        const preferred = p.replicas[0];
        if (preferred === undefined || p.leader < 0 || p.leader === preferred || !live.has(preferred) || this.#isShutting(state, preferred)) continue;
        if (!(this.#o.status.isr(t.topicId, p)?.includes(preferred) ?? false)) continue;
        const key = partitionKey(t.topicId, p.partition);
        if (now - (this.#lastMoveMs.get(key) ?? -Infinity) < PREFERRED_LEADER_MOVE_INTERVAL_MS_MIN) continue;
        if (moves >= PREFERRED_LEADER_MOVES_PER_CHECK_MAX) return;
        if (this.#o.driver.transfer(t.topicId, p.partition, { prefer: preferred })) {
          this.#lastMoveMs.set(key, now);
          moves++;
          this.#o.log.info({ topic: t.name, partition: p.partition, from: p.leader, to: preferred }, 'moving leadership to preferred replica');
        }
      }
    }
    for (const key of this.#lastMoveMs.keys()) if (now - (this.#lastMoveMs.get(key) ?? 0) >= PREFERRED_LEADER_MOVE_INTERVAL_MS_MIN) this.#lastMoveMs.delete(key);
  }

  #isShutting(state: MetadataState, brokerId: number): boolean {
    const inc = this.#shutting.get(brokerId);
    if (inc === undefined) return false;
    const b = state.brokers.get(brokerId);
    if (b !== undefined && b.alive && b.incarnation === inc) return true;
    this.#shutting.delete(brokerId);
    return false;
  }

  /** Partitions led by `brokerId` whose other replicas are a live majority of the replica set. */
  #movableFrom(state: MetadataState, brokerId: number): Array<{ topicId: string; partition: number }> {
    const live = this.#o.driver.live;
    const out: Array<{ topicId: string; partition: number }> = [];
    for (const t of state.topics.values()) {
      for (const p of t.partitions) {
        if (p.leader !== brokerId) continue;
        const others = p.replicas.filter((id) => id !== brokerId && live.has(id)).length;
        if (others >= Math.floor(p.replicas.length / 2) + 1) out.push({ topicId: t.topicId, partition: p.partition });
      }
    }
    return out;
  }
}
