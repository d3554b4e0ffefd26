import { RunnelError } from '@runnel/protocol';
import { PARTITION_WAITERS_MAX } from './constants.js';

/** Someone reading committed data: told when the HW moves and when the partition stops being led here. */
export interface HighWatermarkListener {
  onAdvance(highWatermark: number): void;
  onEnd(error: RunnelError): void;
}

/** The readers (subscriptions, long-polling fetches) of one led partition, bounded by PARTITION_WAITERS_MAX. */
export class HighWatermarkListeners {
  readonly #listeners = new Set<HighWatermarkListener>();

  /** Registers a reader (TOO_MANY_REQUESTS when full); returns the unregister function. */
  add(listener: HighWatermarkListener, what: string): () => void {
    if (this.#listeners.size >= PARTITION_WAITERS_MAX) {
      throw new RunnelError('TOO_MANY_REQUESTS', `${what} has ${this.#listeners.size} readers waiting; back off and retry`);
    }
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  advance(highWatermark: number): void {
    for (const l of this.#listeners) l.onAdvance(highWatermark);
  }

  /** Ends (and forgets) every reader with `error`. */
  endAll(error: RunnelError): void {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const l of listeners) l.onEnd(error);
  }
}
