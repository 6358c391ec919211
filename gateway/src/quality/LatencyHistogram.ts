/**
 * Latency of one call in fixed buckets: the added delay of each 20 ms frame, per direction, with
 * its percentiles at the end (or live). A fixed table of counters, so an observation is a short
 * search and an increment, never an allocation (it runs once per frame).
 *
 * Bucket upper bounds, ms: fine below 50 ms where the gateway's own delay lives (0.1–20 ms), coarse
 * above, up to a minute (an agent's burst queued behind earlier audio).
 */
export const LATENCY_BOUNDS_MS: readonly number[] = Object.freeze([
  0.1, 0.2, 0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 12.5, 15, 17.5, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10_000,
  30_000, 60_000,
]);

/** Percentiles of a histogram, ms; null before the first observation. */
export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export class LatencyHistogram {
  /** counts per bucket; the last one holds everything above the largest bound */
  readonly #counts = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** One observation, ms (negative values count as 0: a clock that stepped back). */
  observe(ms: number): void {
    const v = ms > 0 ? ms : 0;
    // Binary search for the first bound ≥ v (31 bounds: 5 comparisons).
    let lo = 0;
    let hi = LATENCY_BOUNDS_MS.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (LATENCY_BOUNDS_MS[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    this.#counts[lo]!++;
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  /**
   * The q-quantile (0..1), ms: the bucket where the cumulative count reaches q·n, interpolated
   * linearly inside it (as Prometheus' histogram_quantile does), never above the largest value seen.
   */
  quantile(q: number): number {
    if (this.#count === 0) return NaN;
    const rank = Math.min(1, Math.max(0, q)) * this.#count;
    let below = 0;
    for (let b = 0; b < this.#counts.length; b++) {
      const c = this.#counts[b]!;
      if (c > 0 && below + c >= rank) {
        const lower = b === 0 ? 0 : LATENCY_BOUNDS_MS[b - 1]!;
        const upper = b < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[b]! : this.#max;
        return Math.min(this.#max, lower + ((upper - lower) * (rank - below)) / c);
      }
      below += c;
    }
    return this.#max;
  }

  /** p50, p95, p99, max and mean, rounded to 0.01 ms; null when nothing was observed. */
  summary(): LatencySummary | null {
    if (this.#count === 0) return null;
    const r = (x: number) => Math.round(x * 100) / 100;
    return {
      count: this.#count,
      p50: r(this.quantile(0.5)),
      p95: r(this.quantile(0.95)),
      p99: r(this.quantile(0.99)),
      max: r(this.#max),
      mean: r(this.#sum / this.#count),
    };
  }
}
