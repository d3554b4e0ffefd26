/** The `topic` label value of traffic past the bound (and of names that are not topics). */
export const OTHER_TOPIC_LABEL = '_other';

/**
 * Keeps the `topic` label of the broker's counters a bounded set: a topic gets its own label value
 * while fewer than `max` are in use (else OTHER_TOPIC_LABEL), and only if `exists(topic)` (a client
 * cannot mint label values by naming topics that are not there). `prune()` forgets topics that no
 * longer exist so their series can be removed and their slots reused.
 */
export class TopicLabels {
  readonly #tracked = new Set<string>();

  constructor(
    private readonly max: number,
    private readonly exists: (topic: string) => boolean,
  ) {}

  /** The label value for `topic` (one Set lookup once it is tracked). */
  of(topic: string): string {
    if (this.#tracked.has(topic)) return topic;
    if (this.#tracked.size >= this.max || !this.exists(topic)) return OTHER_TOPIC_LABEL;
    this.#tracked.add(topic);
    return topic;
  }

  /** Forgets every tracked topic that no longer exists and returns them. */
  prune(): string[] {
    const gone: string[] = [];
    for (const topic of this.#tracked) {
      if (!this.exists(topic)) {
        this.#tracked.delete(topic);
        gone.push(topic);
      }
    }
    return gone;
  }

  get size(): number {
    return this.#tracked.size;
  }
}
