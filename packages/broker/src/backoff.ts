/** Exponential backoff with jitter between `minMs` and `maxMs`; `reset` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next delay: min * 2^attempt capped at max, times a jitter factor in [0.5, 1). */
  nextDelayMs(): number {
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.max(1, Math.round(base * (0.5 + this.random() / 2)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
