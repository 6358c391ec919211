import { EchoLeak } from './echoLeak.js';
import { Fft } from './fft.js';

/**
 * Residual echo suppressor (the non-linear processor of ITU-T G.168 §3.29, spectral): what the
 * echo canceller's filter leaves of the echo is still the agent's voice, and a speech detector
 * takes it for the caller. Per block of B samples, in 2B-sample frames with 50 % overlap (√Hann
 * analysis and synthesis windows, which overlap-add to one), each frequency bin of the canceller's
 * residual E is scaled by a gain that removes the residual echo expected there:
 *
 *   residual echo R(k) = leak · |Y(k)|², Y the filter's echo estimate,
 *   G(k) = max(floor, 1 − overSubtract · R(k) / |E(k)|²).
 *
 * `leak`, the share of the echo estimate's power the filter misses, is `EchoLeak`'s (a regression
 * over the bins that the caller's voice and the line noise do not bias).
 *
 * The output is for the barge-in detector only (never for the agent: suppression costs the
 * caller's voice where the echo is loud), and lags the input by one block (the overlap).
 */
export interface EchoSuppressorOptions {
  /** samples per block (the canceller's) */
  block: number;
  /** R is taken this many times over (residual echo varies faster than it is estimated) */
  overSubtract?: number;
  /** least gain of a bin, dB (negative) */
  floorDb?: number;
}

export class EchoSuppressor {
  readonly #B: number;
  readonly #K: number;
  readonly #fft: Fft;
  readonly #win: Float64Array;
  readonly #over: number;
  readonly #floor: number;
  /** the previous block's residual and echo estimate (the frame's first half), and the output's overlap */
  readonly #e0: Float64Array;
  readonly #y0: Float64Array;
  readonly #ola: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;
  /** this frame's |E|² and |Y|² per bin */
  readonly #pe: Float64Array;
  readonly #py: Float64Array;
  readonly #leak: EchoLeak;
  /** the last block had no echo estimate (its half of the next frame is zero) */
  #idle = true;

  constructor(o: EchoSuppressorOptions) {
    const B = o.block;
    this.#B = B;
    this.#K = B + 1;
    const N = 2 * B;
    this.#fft = new Fft(N);
    this.#win = new Float64Array(N);
    for (let n = 0; n < N; n++) this.#win[n] = Math.sqrt(0.5 - 0.5 * Math.cos((2 * Math.PI * n) / N));
    this.#over = o.overSubtract ?? 2;
    this.#floor = 10 ** ((o.floorDb ?? -30) / 20);
    this.#e0 = new Float64Array(B);
    this.#y0 = new Float64Array(B);
    this.#ola = new Float64Array(B);
    this.#re = new Float64Array(N);
    this.#im = new Float64Array(N);
    this.#leak = new EchoLeak(this.#K);
    this.#pe = new Float64Array(this.#K);
    this.#py = new Float64Array(this.#K);
  }

  /** Share of the echo estimate's power the filter misses, 0..1 (1 until learned: suppress all it may). */
  get leak(): number {
    return this.#leak.leak;
  }

  /** Forgets the previous block (a gap in the stream): the next frame starts from silence. */
  reset(): void {
    this.#e0.fill(0);
    this.#y0.fill(0);
    this.#ola.fill(0);
    this.#idle = true;
  }

  /**
   * One block: the canceller's residual `e` and its echo estimate `y` (null: nothing could echo,
   * all of `e` passes), B samples each. Writes the suppressed previous block into `out` (B samples).
   */
  block(e: ArrayLike<number>, y: ArrayLike<number> | null, out: Float32Array): void {
    const B = this.#B;
    const N = 2 * B;
    const K = this.#K;
    const re = this.#re;
    const im = this.#im;
    const w = this.#win;
    if (y === null && this.#idle) {
      // No echo estimate in either half of the frame: every gain is 1, and the overlap-add of
      // the windowed frame is the frame itself (w² sums to 1), so no transform is needed.
      for (let n = 0; n < B; n++) {
        out[n] = this.#ola[n]! + w[n]! * w[n]! * this.#e0[n]!;
        const ev = e[n]!;
        this.#ola[n] = w[B + n]! * w[B + n]! * ev;
        this.#e0[n] = ev;
      }
      return;
    }
    this.#idle = y === null;
    // Two real frames in one complex FFT: z = e + j·y.
    for (let n = 0; n < B; n++) {
      re[n] = w[n]! * this.#e0[n]!;
      im[n] = w[n]! * this.#y0[n]!;
      const ev = e[n]!;
      const yv = y === null ? 0 : y[n]!;
      re[B + n] = w[B + n]! * ev;
      im[B + n] = w[B + n]! * yv;
      this.#e0[n] = ev;
      this.#y0[n] = yv;
    }
    this.#fft.transform(re, im);
    // E over bins 0..B in place of Z, |E|² and |Y|² split out
    const pes = this.#pe;
    const pys = this.#py;
    this.#fft.splitTwoReal(re, im, pes, pys);
    const leak = this.#leak.update(pes, pys);
    // G(k) · E(k) for bins 0..B (mirrored below)
    const c = this.#over * leak;
    for (let k = 0; k < K; k++) {
      const g = Math.max(this.#floor, 1 - (c * pys[k]!) / (pes[k]! + 1e-9));
      re[k] = g * re[k]!;
      im[k] = g * im[k]!;
    }
    for (let k = 1; k < K - 1; k++) {
      re[N - k] = re[k]!;
      im[N - k] = -im[k]!;
    }
    im[0] = 0;
    im[B] = 0;
    this.#fft.transform(re, im, true);
    for (let n = 0; n < B; n++) {
      out[n] = this.#ola[n]! + w[n]! * re[n]!;
      this.#ola[n] = w[B + n]! * re[B + n]!;
    }
  }
}
