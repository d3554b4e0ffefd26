import { RunnelError } from '@runnel/protocol';
import type { EpochPromise, PrepareRejected } from '@runnel/replication';
import { PREPARE_EPOCH_WAITERS_MAX } from './constants.js';

type Answer = EpochPromise | PrepareRejected;
type Waiter = (answer: Answer | RunnelError) => void;

/**
 * PrepareEpoch calls waiting for their partition replica's answer (the EpochPromise the core emits
 * once the promise is durable, or a PrepareRejected), by epoch; each with its own deadline.
 * Bounded by PREPARE_EPOCH_WAITERS_MAX.
 */
export class PrepareWaiters {
  readonly #byEpoch = new Map<number, Waiter[]>();
  #count = 0;

  /** Registers a wait for `epoch`'s answer; TOO_MANY_REQUESTS when full, TIMEOUT after `timeoutMs`. */
  wait(epoch: number, timeoutMs: number, what: string): Promise<Answer> {
    if (this.#count >= PREPARE_EPOCH_WAITERS_MAX) {
      return Promise.reject(new RunnelError('TOO_MANY_REQUESTS', `${what}: ${this.#count} PrepareEpoch calls are waiting; back off and retry`));
    }
    return new Promise((resolve, reject) => {
      let done = false;
      const waiter: Waiter = (answer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (answer instanceof RunnelError) reject(answer);
        else resolve(answer);
      };
      const timer = setTimeout(() => {
        this.#remove(epoch, waiter);
        waiter(new RunnelError('TIMEOUT', `${what}: the promise of epoch ${epoch} was not durable within ${timeoutMs} ms`));
      }, timeoutMs);
      const list = this.#byEpoch.get(epoch) ?? [];
      list.push(waiter);
      this.#byEpoch.set(epoch, list);
      this.#count++;
    });
  }

  /** Answers every wait for `answer.epoch`. */
  answer(answer: Answer): void {
    const list = this.#byEpoch.get(answer.epoch);
    if (list === undefined) return;
    this.#byEpoch.delete(answer.epoch);
    this.#count -= list.length;
    for (const w of list) w(answer);
  }

  failAll(error: RunnelError): void {
    const all = [...this.#byEpoch.values()].flat();
    this.#byEpoch.clear();
    this.#count = 0;
    for (const w of all) w(error);
  }

  #remove(epoch: number, waiter: Waiter): void {
    const list = this.#byEpoch.get(epoch);
    const i = list?.indexOf(waiter) ?? -1;
    if (list === undefined || i < 0) return;
    list.splice(i, 1);
    this.#count--;
    if (list.length === 0) this.#byEpoch.delete(epoch);
  }
}
