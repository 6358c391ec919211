import { describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS, LatencyHistogram } from '../../../gateway/src/quality/LatencyHistogram.js';
import { rng } from '../../helpers/audio.js';

/** The exact q-quantile of a sorted sample (nearest rank). */
function exact(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Width of the bucket holding `v`, ms: the histogram's resolution there. */
function bucketWidth(v: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => b >= v);
  return i <= 0 ? LATENCY_BOUNDS_MS[0]! : LATENCY_BOUNDS_MS[i]! - LATENCY_BOUNDS_MS[i - 1]!;
}

describe('LatencyHistogram', () => {
  it('is empty before the first observation', () => {
    const h = new LatencyHistogram();
    expect(h.summary()).toBeNull();
    expect(h.quantile(0.5)).toBeNaN();
  });

  it('gives percentiles within one bucket of the exact ones, and the exact max and mean', () => {
    for (const seed of [11, 12, 13]) {
      const r = rng(seed);
      // A gateway-like mix: mostly 0.3–3 ms, a tail to 40 ms, and a few long waits.
      const xs = Array.from({ length: 5000 }, () => {
        const u = r();
        return u < 0.9 ? 0.3 + 2.7 * r() : u < 0.99 ? 3 + 37 * r() : 40 + 2000 * r();
      });
      const h = new LatencyHistogram();
      for (const x of xs) h.observe(x);
      const sorted = [...xs].sort((a, b) => a - b);
      for (const q of [0.5, 0.95, 0.99]) {
        const want = exact(sorted, q);
        expect(Math.abs(h.quantile(q) - want), `seed ${seed} q ${q}`).toBeLessThanOrEqual(bucketWidth(want));
      }
      const s = h.summary()!;
      expect(s.count).toBe(5000);
      expect(s.max).toBeCloseTo(sorted[sorted.length - 1]!, 2);
      expect(s.mean).toBeCloseTo(xs.reduce((a, x) => a + x, 0) / xs.length, 2);
    }
  });

  it('keeps values beyond the last bound, and negative ones as 0', () => {
    const h = new LatencyHistogram();
    h.observe(-3);
    h.observe(120_000);
    expect(h.quantile(0)).toBe(0);
    expect(h.quantile(1)).toBe(120_000);
    expect(h.summary()!.p99).toBeLessThanOrEqual(120_000);
  });
});
