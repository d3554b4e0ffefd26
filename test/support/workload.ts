// A producer workload for failure tests: workers send unique values with QUORUM acks and record what
// was acknowledged (value -> offset), what definitely failed, and when each ack arrived, so a test
// can measure failover and check every acknowledged value afterwards.
import type { Producer } from '@runnel/client';

export interface AckedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly atMs: number;
}

/** Pause of a worker after a failed send (failures that come back at once must not spin). */
const FAILURE_PAUSE_MS = 10;

export class ProduceWorkload {
  readonly acked = new Map<string, AckedRecord>();
  readonly failures: Array<{ value: string; code: string; atMs: number }> = [];
  #running = true;
  #seq = 0;
  readonly #workers: Promise<void>[];

  /** `workers` concurrent senders to `topic` (partition fixed if given); stops on `stop()`. */
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    workers: number,
    private readonly partition?: number,
  ) {
    this.#workers = Array.from({ length: workers }, (_, w) => this.#work(w));
  }

  async #work(w: number): Promise<void> {
    while (this.#running) {
      const value = `w${w}-${this.#seq++}`;
      try {
        const [m] = await this.producer.send(this.topic, this.partition === undefined ? { value } : { value, partition: this.partition });
        this.acked.set(value, { partition: m!.partition, offset: m!.offset, atMs: Date.now() });
      } catch (err) {
        const code = (err as { code?: string }).code ?? String(err);
        this.failures.push({ value, code, atMs: Date.now() });
        // A closed producer fails every send at once: stop, or this loop would spin on microtasks
        // and starve the test's timers (a failed test's cleanup closes the client under us).
        if (code === 'SHUTTING_DOWN') this.#running = false;
        else await new Promise((r) => setTimeout(r, FAILURE_PAUSE_MS));
      }
    }
  }

  /** Acks received after `sinceMs`. */
  ackedSince(sinceMs: number): number {
    let n = 0;
    for (const a of this.acked.values()) if (a.atMs > sinceMs) n++;
    return n;
  }

  /** First ack after `sinceMs`, or undefined. */
  firstAckAfter(sinceMs: number): number | undefined {
    let first: number | undefined;
    for (const a of this.acked.values()) if (a.atMs > sinceMs && (first === undefined || a.atMs < first)) first = a.atMs;
    return first;
  }

  /** Stops the workers and waits for every send in flight to settle. */
  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#workers);
  }

  /** value -> offset, for one partition. */
  ackedOffsets(partition: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [v, a] of this.acked) if (a.partition === partition) out.set(v, a.offset);
    return out;
  }
}
