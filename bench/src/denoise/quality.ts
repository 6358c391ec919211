import { RATE, type Mixture } from './mixtures.js';

/**
 * Quality of a denoised (or not) signal against the clean speech it came from, both at 8 kHz:
 * SI-SDR, segmental SNR, the speech's level change, and the cut of the background on the
 * stretches where only background was sent.
 */
export interface Quality {
  /** scale-invariant SDR (Le Roux et al., ICASSP 2019), dB */
  siSdrDb: number;
  /** mean per-20 ms SNR over the frames with speech, each clamped to [−10, 35] dB */
  segSnrDb: number;
  /** level of the speech component in the output relative to the clean speech (projection gain), dB */
  speechGainDb: number;
  /** input background level − output level, on noise-only stretches, dB (NaN without noise) */
  noiseCutDb: number;
  /** output level on the noise-only stretches, dBFS */
  residualDbfs: number;
  /** delay of the output behind the clean speech, ms (cross-correlation peak) */
  lagMs: number;
}

const FRAME = RATE / 50;
/** Noise-only stretches keep this far from any speech, s (RNNoise's and speex's hangover). */
const GUARD_S = 0.15;
/** …and start this late, s (an estimator's first moments are not its steady state). */
const SETTLE_S = 0.5;

/** Lag (samples) of `y` behind `x` in [0, maxLag], by normalised cross-correlation. */
export function lagOf(x: Float32Array, y: Float32Array, maxLag: number): number {
  let best = 0;
  let bestC = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let num = 0;
    let ey = 0;
    const n = Math.min(x.length, y.length - lag);
    for (let i = 0; i < n; i++) {
      const b = y[i + lag]!;
      num += x[i]! * b;
      ey += b * b;
    }
    const c = num / Math.sqrt(ey + 1e-9);
    if (c > bestC) {
      bestC = c;
      best = lag;
    }
  }
  return best;
}

function energy(x: Float32Array, from = 0, to = x.length): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i]! * x[i]!;
  return e;
}

function db(ratio: number): number {
  return 10 * Math.log10(ratio);
}

/** Which samples are background alone: 10 ms frames of digital silence in the clean speech, with guards. */
export function noiseOnlyMask(clean: Float32Array): Uint8Array {
  const f = RATE / 100;
  const speech = new Uint8Array(Math.ceil(clean.length / f));
  for (let k = 0; k < speech.length; k++) speech[k] = energy(clean, k * f, Math.min(clean.length, (k + 1) * f)) / f > 1 ? 1 : 0;
  const guard = Math.round((GUARD_S * RATE) / f);
  const mask = new Uint8Array(clean.length);
  for (let k = Math.round((SETTLE_S * RATE) / f); k < speech.length; k++) {
    let near = false;
    for (let j = Math.max(0, k - guard); j <= Math.min(speech.length - 1, k + guard) && !near; j++) near = speech[j] === 1;
    if (!near) mask.fill(1, k * f, Math.min(clean.length, (k + 1) * f));
  }
  return mask;
}

/**
 * Measures `out` (8 kHz, as the agent got it, resampled) against the mixture. `maxLagMs` bounds the
 * delay search (the chain's delay is 3–14 ms plus the measuring resampler's).
 */
export function measure(m: Mixture, out: Float32Array, maxLagMs = 60): Quality {
  const lag = lagOf(m.clean, out, Math.round((maxLagMs * RATE) / 1000));
  const n = Math.min(m.clean.length, out.length - lag);
  const s = m.clean.subarray(0, n);
  const y = out.subarray(lag, lag + n);
  // SI-SDR on zero-mean signals: the target is the projection of y on s.
  const ms = mean(s);
  const my = mean(y);
  let sy = 0;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    sy += (s[i]! - ms) * (y[i]! - my);
    ss += (s[i]! - ms) ** 2;
  }
  const alpha = sy / ss;
  let target = 0;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const t = alpha * (s[i]! - ms);
    target += t * t;
    err += (y[i]! - my - t) ** 2;
  }
  // Segmental SNR over the frames where the clean speech is within 30 dB of its loudest frame.
  let peak = 0;
  for (let k = 0; (k + 1) * FRAME <= n; k++) peak = Math.max(peak, energy(s, k * FRAME, (k + 1) * FRAME));
  const segs: number[] = [];
  for (let k = 0; (k + 1) * FRAME <= n; k++) {
    const es = energy(s, k * FRAME, (k + 1) * FRAME);
    if (es < peak / 1000) continue;
    let e = 0;
    for (let i = k * FRAME; i < (k + 1) * FRAME; i++) e += (s[i]! - y[i]!) ** 2;
    segs.push(Math.max(-10, Math.min(35, db(es / Math.max(e, 1e-9)))));
  }
  const mask = noiseOnlyMask(s);
  let bin = 0;
  let bout = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (mask[i] === 0) continue;
    bin += m.background[i]! ** 2;
    bout += y[i]! ** 2;
    count++;
  }
  const hasNoise = m.noise !== 'none' && count > 0;
  return {
    siSdrDb: db(target / err),
    segSnrDb: segs.reduce((a, v) => a + v, 0) / Math.max(1, segs.length),
    speechGainDb: 20 * Math.log10(Math.abs(alpha)),
    noiseCutDb: hasNoise ? db(bin / Math.max(bout, 1e-9)) : NaN,
    residualDbfs: count > 0 ? db(bout / count / 32768 ** 2) : NaN,
    lagMs: (1000 * lag) / RATE,
  };
}

function mean(x: Float32Array): number {
  let a = 0;
  for (const v of x) a += v;
  return a / Math.max(1, x.length);
}
