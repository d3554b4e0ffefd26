/** How often the idle check looks at the count. */
const IDLE_CHECK_MS = 500;

/**
 * Counts records a consumer receives. `done` resolves when `target` have arrived and rejects
 * when none arrived for `idleMsMax` (a stuck consumer fails the workload instead of hanging it).
 * The per-record cost is one increment; the idle check runs on a timer that `done` clears.
 */
export class Arrivals {
  readonly done: Promise<void>;
  #count = 0;
  readonly #target: number;
  #resolve: () => void = () => undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(target: number, idleMsMax: number, what: string) {
    this.#target = target;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      if (target <= 0) {
        resolve();
        return;
      }
      let seen = 0;
      let idleMs = 0;
      this.#timer = setInterval(() => {
        if (this.#count !== seen) {
          seen = this.#count;
          idleMs = 0;
          return;
        }
        idleMs += IDLE_CHECK_MS;
        if (idleMs >= idleMsMax) {
          clearInterval(this.#timer);
          reject(new Error(`${what}: no record for ${idleMsMax} ms after ${this.#count} of ${this.#target}`));
        }
      }, IDLE_CHECK_MS);
    });
    this.done.then(() => clearInterval(this.#timer), () => clearInterval(this.#timer));
  }

  get count(): number {
    return this.#count;
  }

  /** One more record arrived. */
  add(): void {
    this.#count++;
    if (this.#count === this.#target) this.#resolve();
  }

  /** Stops the idle timer (the workload is being abandoned). */
  cancel(): void {
    clearInterval(this.#timer);
  }
}
