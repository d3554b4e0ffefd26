import { performance } from 'node:perf_hooks';
import { METADATA_PUSH_DUTY_CYCLE_MAX } from './constants.js';
import type { MetadataState } from './metadata-state.js';

/**
 * Paces the metadata push to the watchers (brokers). A change is pushed at once when the last push
 * is long enough ago; otherwise only the newest state is pushed once the pause is over (states in
 * between are skipped: each push is a whole snapshot). The pause after a push is proportional to
 * what the push cost, so pushing takes at most METADATA_PUSH_DUTY_CYCLE_MAX of the event loop: a
 * small cluster's push costs well under a millisecond and is never held back; a 10,000-partition
 * one (~30 ms) is pushed at most every ~100 ms while a burst of elections changes it every few ms.
 */
export class MetadataPush {
  readonly #push: (state: MetadataState) => void;
  readonly #now: () => number;
  #pending: MetadataState | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextAtMs = 0;
  #closed = false;

  constructor(push: (state: MetadataState) => void, now: () => number = () => performance.now()) {
    this.#push = push;
    this.#now = now;
  }

  /** The state changed: push it now, or as the newest state once the pause is over. */
  changed(state: MetadataState): void {
    if (this.#closed) return;
    this.#pending = state;
    if (this.#timer !== undefined) return;
    const waitMs = this.#nextAtMs - this.#now();
    if (waitMs <= 0) {
      this.#flush();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, waitMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }

  #flush(): void {
    const state = this.#pending;
    this.#pending = undefined;
    if (state === undefined || this.#closed) return;
    const start = this.#now();
    this.#push(state);
    const end = this.#now();
    this.#nextAtMs = end + (end - start) * (1 / METADATA_PUSH_DUTY_CYCLE_MAX - 1);
  }
}
