import { assert } from './assert.js';
import { SESSION_TIMEOUT_TICKS } from './constants.js';

/**
 * The coordinator's failure detector, pure: brokers heartbeat with their incarnation (a number that
 * changes on every process start, e.g. a registration counter); a broker not heard from for
 * `sessionTimeoutTicks` is dead, and a heartbeat with a new incarnation ends the old session at once
 * (a restarted broker lost its unsynced state: leaderships it held must be re-elected).
 */
export class FailureDetector {
  readonly #sessionTimeoutTicks: number;
  readonly #sessions = new Map<number, { incarnation: number; lastHeardTick: number }>();
  #now = 0;

  constructor(sessionTimeoutTicks: number = SESSION_TIMEOUT_TICKS) {
    assert(sessionTimeoutTicks >= 1, 'session timeout must be >= 1 tick');
    this.#sessionTimeoutTicks = sessionTimeoutTicks;
  }

  tick(): void {
    this.#now++;
  }

  /**
   * Records a heartbeat. Returns true when it ends a session this detector knew (the broker
   * restarted: new incarnation); the caller must then treat the old session's leaderships as void.
   */
  heartbeat(brokerId: number, incarnation: number): boolean {
    const s = this.#sessions.get(brokerId);
    if (s !== undefined && incarnation < s.incarnation) return false; // a late heartbeat of an old process
    this.#sessions.set(brokerId, { incarnation, lastHeardTick: this.#now });
    return s !== undefined && s.incarnation !== incarnation;
  }

  isLive(brokerId: number): boolean {
    const s = this.#sessions.get(brokerId);
    return s !== undefined && this.#now - s.lastHeardTick < this.#sessionTimeoutTicks;
  }

  /** Brokers whose session is live now. */
  live(): Set<number> {
    const out = new Set<number>();
    for (const id of this.#sessions.keys()) if (this.isLive(id)) out.add(id);
    return out;
  }
}
