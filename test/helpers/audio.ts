import { fileURLToPath } from 'node:url';
import { readWav, type PcmAudio } from '../../codecs/src/index.js';

export function fixture(name: string): PcmAudio {
  return readWav(fileURLToPath(new URL(`../fixtures/audio/${name}`, import.meta.url)));
}

/** Deterministic PRNG (mulberry32) so noisy fixtures are reproducible: the one the barge-in set uses. */
import { rng } from '../../bench/src/bargein/signals.js';
export { rng };

/** Standard normal samples (Box–Muller). */
export function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
}

export function energy(x: ArrayLike<number>, from = 0, to = x.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! * x[i]!;
  return e;
}

/**
 * Normalised cross-correlation of `b` against `a` over lags minLag..maxLag (b delayed by lag),
 * over the whole of `a` where `b` overlaps it.
 * Returns the best lag and its coefficient (−1..1).
 */
export function xcorrPeak(a: ArrayLike<number>, b: ArrayLike<number>, maxLag: number, minLag = 0): { lag: number; peak: number } {
  let best = { lag: 0, peak: -Infinity };
  for (let lag = minLag; lag <= maxLag; lag++) {
    let num = 0;
    let ea = 0;
    let eb = 0;
    for (let i = 0; i < a.length && i + lag < b.length; i++) {
      const x = a[i]!;
      const y = b[i + lag]!;
      num += x * y;
      ea += x * x;
      eb += y * y;
    }
    const c = num / Math.sqrt(ea * eb + 1e-9);
    if (c > best.peak) best = { lag, peak: c };
  }
  return best;
}

/** SNR in dB of `test` against `ref` (same alignment, same scale). */
export function snrDb(ref: ArrayLike<number>, test: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  let e = 0;
  for (let i = from; i < to; i++) {
    s += ref[i]! * ref[i]!;
    const d = ref[i]! - test[i]!;
    e += d * d;
  }
  return 10 * Math.log10(s / (e + 1e-9));
}

/** Band-limited test signal: a sum of sines in [loHz, hiHz] with random phases under a slow envelope. */
export function bandLimited(rate: number, seconds: number, loHz: number, hiHz: number, seed = 1): Float32Array {
  const r = rng(seed);
  const tones = Array.from({ length: 24 }, () => ({ f: loHz + (hiHz - loHz) * r(), ph: 2 * Math.PI * r() }));
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    let v = 0;
    for (const { f, ph } of tones) v += Math.sin(2 * Math.PI * f * t + ph);
    // 3 Hz envelope keeps the signal band-limited while making the correlation peak unique.
    out[i] = (1500 * v * (1.2 + Math.sin(2 * Math.PI * 3 * t))) / 2;
  }
  return out;
}
