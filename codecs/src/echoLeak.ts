/**
 * How much of the echo an adaptive filter misses: `leak`, the share of the power of its echo
 * estimate Y that is still in its residual E. It comes from how the fluctuations of |E|² follow
 * those of |Y|² over the frequency bins, a regression that the caller's voice and the line noise,
 * uncorrelated with Y, do not bias (Valin 2007, "On adjusting the learning rate in frequency domain
 * echo cancellation with double-talk"). It is updated faster while the echo estimate is strong
 * against the residual. Used by the residual echo suppressor (how much to take out) and by the
 * canceller's step control (how much is left to learn).
 */

/** leak estimates are kept in [MIN_LEAK, 1] */
const MIN_LEAK = 0.005;
/** smoothing of the per-bin powers whose fluctuations are regressed (per block) */
const SPEC_AVERAGE = 0.05;
/** fastest update per block, and its scale with the echo estimate's share of the residual */
const LEAK_RATE_MAX = 0.005;
const LEAK_RATE_SCALE = 0.01;

export class EchoLeak {
  /** smoothed |E|², |Y|² per bin */
  readonly #eh: Float64Array;
  readonly #yh: Float64Array;
  #pey = 0;
  #pyy = 0;
  /** Share of the echo estimate's power the filter misses, 0..1 (1 until learned). */
  leak = 1;

  constructor(bins: number) {
    this.#eh = new Float64Array(bins);
    this.#yh = new Float64Array(bins);
  }

  /** A new echo path: what was learned of the old one says nothing of it. */
  reset(): void {
    this.#eh.fill(0);
    this.#yh.fill(0);
    this.#pey = this.#pyy = 0;
    this.leak = 1;
  }

  /** One block's residual and echo estimate powers per bin (|E|², |Y|²); returns `leak`. */
  update(pe: Float64Array, py: Float64Array): number {
    const eh = this.#eh;
    const yh = this.#yh;
    let pey = 0;
    let pyy = 0;
    let see = 0;
    let syy = 0;
    for (let k = 0; k < eh.length; k++) {
      const de = pe[k]! - eh[k]!;
      const dy = py[k]! - yh[k]!;
      pey += de * dy;
      pyy += dy * dy;
      eh[k] = (1 - SPEC_AVERAGE) * eh[k]! + SPEC_AVERAGE * pe[k]!;
      yh[k] = (1 - SPEC_AVERAGE) * yh[k]! + SPEC_AVERAGE * py[k]!;
      see += pe[k]!;
      syy += py[k]!;
    }
    if (syy > 0 && pyy > 0) {
      const rate = Math.min(LEAK_RATE_MAX, (LEAK_RATE_SCALE * syy) / (see + 1e-9));
      const sPyy = Math.sqrt(pyy);
      this.#pey = (1 - rate) * this.#pey + (rate * pey) / sPyy;
      this.#pyy = (1 - rate) * this.#pyy + rate * sPyy;
      if (this.#pyy < 1) this.#pyy = 1;
      this.leak = Math.min(1, Math.max(MIN_LEAK, this.#pey / this.#pyy));
    }
    return this.leak;
  }
}
