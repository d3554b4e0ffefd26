/** Latency percentiles, milliseconds. */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly samples: number;
}

/**
 * Every sample of one run, in a preallocated array (the workload bounds the count), so the
 * percentiles are exact (nearest rank), not bucketed.
 */
export class LatencySamples {
  readonly #values: Float64Array;
  #count = 0;

  constructor(capacity: number) {
    this.#values = new Float64Array(capacity);
  }

  get count(): number {
    return this.#count;
  }

  /** Adds one sample; samples past the capacity are dropped (the caller sized it). */
  add(ms: number): void {
    if (this.#count < this.#values.length) this.#values[this.#count++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.#values.slice(0, this.#count).sort();
    return {
      p50: nearestRank(sorted, 50),
      p99: nearestRank(sorted, 99),
      p999: nearestRank(sorted, 99.9),
      max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] ?? 0),
      samples: sorted.length,
    };
  }
}

/** The p-th percentile (0..100) of sorted samples, nearest-rank; 0 when empty. */
export function nearestRank(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  // The epsilon keeps float error (99.9 / 100 * 1000 = 999.0000000000001) from skipping a rank.
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p * sorted.length) / 100 - 1e-9) - 1));
  return sorted[rank] ?? 0;
}
