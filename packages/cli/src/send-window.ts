/**
 * Bounds the records sent but not yet acknowledged, and hands their outcomes back in send order.
 * `push` takes the promise of one send; `drainTo(limit…)` waits for the oldest until the window is
 * back under its bounds, calling `onSettled` for each in order.
 */
export type SendOutcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

interface Entry<T> {
  readonly outcome: Promise<SendOutcome<T>>;
  readonly bytes: number;
  readonly index: number;
}

export class SendWindow<T> {
  readonly #entries: Entry<T>[] = [];
  #head = 0;
  #bytes = 0;
  readonly #recordsMax: number;
  readonly #bytesMax: number;
  readonly #onSettled: (index: number, outcome: SendOutcome<T>) => void;

  constructor(recordsMax: number, bytesMax: number, onSettled: (index: number, outcome: SendOutcome<T>) => void) {
    this.#recordsMax = recordsMax;
    this.#bytesMax = bytesMax;
    this.#onSettled = onSettled;
  }

  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Adds one send; waits while the window is over its bounds. */
  async push(index: number, bytes: number, send: Promise<T>): Promise<void> {
    // Attach handlers at once so no rejection is ever unhandled.
    const outcome = send.then((value): SendOutcome<T> => ({ ok: true, value }), (error: unknown): SendOutcome<T> => ({ ok: false, error }));
    this.#entries.push({ outcome, bytes, index });
    this.#bytes += bytes;
    while (this.size > this.#recordsMax || (this.#bytes > this.#bytesMax && this.size > 1)) await this.#settleOldest();
  }

  /** Waits for every send still in the window. */
  async drain(): Promise<void> {
    while (this.size > 0) await this.#settleOldest();
  }

  async #settleOldest(): Promise<void> {
    const entry = this.#entries[this.#head];
    if (entry === undefined) return;
    const outcome = await entry.outcome;
    this.#head++;
    this.#bytes -= entry.bytes;
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
    this.#onSettled(entry.index, outcome);
  }
}
