/**
 * Line echo canceller in the manner of ITU-T G.168: the far end (what we play) leaks back into
 * the near end (what we hear) through the caller's handset or hybrid, delayed and attenuated.
 *
 * 1. Bulk delay: every `estimateEveryMs` the last `windowMs` of near-end audio is cross-correlated
 *    with the reference over 0..maxDelayMs (coarse at rate/4, then refined at full rate).
 * 2. Around that delay, a short NLMS adaptive filter (`taps`) models the echo path and subtracts
 *    its estimate sample by sample.
 * 3. Double talk (Geigel detector: near end louder than the echo could be) freezes adaptation, so
 *    the caller's own speech does not train the filter away.
 *
 * Both signals are placed on one sample clock by the caller (`atSample`: e.g. wall time × rate).
 * Cost: ≈2·taps multiply-adds per sample while something plays (none otherwise), plus the
 * delay search: ≈0.5 M multiply-adds every 200 ms until locked, every second after.
 */
export interface EchoCancellerOptions {
  /** Hz */
  rate: number;
  /** longest echo delay searched, ms */
  maxDelayMs?: number;
  /** NLMS filter length, samples */
  taps?: number;
  /** near-end span used for delay estimation, ms */
  windowMs?: number;
  estimateEveryMs?: number;
  /** NLMS step size (0..1) */
  mu?: number;
}

const LOCK_CORR = 0.35;

export class EchoCanceller {
  readonly rate: number;
  readonly #maxDelay: number;
  readonly #taps: number;
  readonly #win: number;
  readonly #every: number;
  readonly #mu: number;
  /** reference ring, indexed by absolute sample mod size */
  readonly #ref: Float32Array;
  #refEnd = 0; // one past the newest reference sample written
  #refStart = 0;
  /** near-end history (raw), for delay estimation */
  readonly #near: Float32Array;
  #nearEnd = 0;
  #sinceEstimate = 0;
  readonly #w: Float32Array;
  /** scratch: the reference span one frame's filter reads; decimated near and reference for the search */
  readonly #seg: Float32Array;
  readonly #nearC: Float32Array;
  readonly #refC: Float32Array;
  /** bulk delay, samples (−1: not locked) */
  delay = -1;
  /** echo return loss at the bulk delay, dB (from the fitted gain) */
  erlDb = 0;
  /** echo return loss enhancement of the filter, dB (smoothed) */
  erleDb = 0;
  #dtHold = 0;
  #backoff = 1;
  #eNear = 1e-9;
  #eRes = 1e-9;

  constructor(o: EchoCancellerOptions) {
    this.rate = o.rate;
    this.#maxDelay = Math.round(((o.maxDelayMs ?? 400) * o.rate) / 1000);
    this.#taps = o.taps ?? 64;
    this.#win = Math.round(((o.windowMs ?? 300) * o.rate) / 1000);
    this.#every = Math.round(((o.estimateEveryMs ?? 200) * o.rate) / 1000);
    this.#mu = o.mu ?? 0.4;
    const size = 1 << Math.ceil(Math.log2(this.#maxDelay + this.#win + this.#taps + o.rate));
    this.#ref = new Float32Array(size);
    this.#near = new Float32Array(1 << Math.ceil(Math.log2(this.#win + o.rate / 10)));
    this.#w = new Float32Array(this.#taps);
    this.#seg = new Float32Array(this.#taps + o.rate / 10); // one frame of up to 100 ms
    this.#nearC = new Float32Array(this.#win >> 2);
    this.#refC = new Float32Array((this.#win >> 2) + (this.#maxDelay >> 2) + 1);
  }

  /** Total loss from the reference to the residual, dB: what is left of the echo. */
  get lossDb(): number {
    return this.erlDb + this.erleDb;
  }

  get locked(): boolean {
    return this.delay >= 0;
  }

  /** Records played samples starting at `atSample` on the shared clock. */
  playRef(x: Int16Array | Float32Array, atSample: number): void {
    const mask = this.#ref.length - 1;
    if (atSample > this.#refEnd)
      for (let s = Math.max(this.#refEnd, atSample - this.#ref.length); s < atSample; s++) this.#ref[s & mask] = 0;
    for (let i = 0; i < x.length; i++) this.#ref[(atSample + i) & mask] = x[i]!;
    if (this.#refEnd === 0) this.#refStart = atSample;
    this.#refEnd = Math.max(this.#refEnd, atSample + x.length);
  }

  #refAt(s: number): number {
    return s < this.#refEnd && s >= this.#refEnd - this.#ref.length && s >= this.#refStart ? this.#ref[s & (this.#ref.length - 1)]! : 0;
  }

  /**
   * Cancels the echo in near-end samples `x` starting at `atSample`, writing the residual into
   * `out` (may be `x`).
   */
  process(x: Int16Array, atSample: number, out: Int16Array): void {
    const nmask = this.#near.length - 1;
    for (let i = 0; i < x.length; i++) this.#near[(this.#nearEnd + i) & nmask] = x[i]!;
    this.#nearEnd += x.length;
    this.#sinceEstimate += x.length;
    // Searches back off (×2 per fruitless one, to 5×) and, once locked, run 5× less often: echo
    // paths move rarely (a handset moved), and a line with no echo should cost next to nothing.
    if (this.#sinceEstimate >= this.#every * this.#backoff && this.#nearEnd >= this.#win) {
      this.#sinceEstimate = 0;
      const was = this.delay;
      this.#estimate(atSample + x.length);
      this.#backoff = this.delay >= 0 ? 5 : this.delay === was ? Math.min(5, this.#backoff * 2) : 1;
    }
    const d = this.delay;
    const K = this.#taps;
    if (d < 0 || x.length > this.#seg.length - K) {
      if (out !== x) out.set(x);
      return;
    }
    // The reference this frame's filter sees, contiguous: seg[j] = ref[base0 − K + 1 + j].
    const base0 = atSample - d + (K >> 1);
    const seg = this.#seg;
    const segLen = x.length + K - 1;
    let any = false;
    for (let j = 0; j < segLen; j++) {
      const r = this.#refAt(base0 - K + 1 + j);
      seg[j] = r;
      if (r !== 0) any = true;
    }
    if (!any) {
      // nothing played that could echo here: pass through, no adaptation
      if (out !== x) out.set(x);
      return;
    }
    const w = this.#w;
    // Geigel: the near end cannot be louder than (echo gain × reference peak) without a talker.
    const g = 10 ** (-Math.max(this.erlDb - 6, 0) / 20);
    for (let i = 0; i < x.length; i++) {
      const near = x[i]!;
      // x_k = ref[n − d − k + K/2] = seg[i + K − 1 − k]
      const top = i + K - 1;
      let y = 0;
      let pow = 1e3;
      let peak = 0;
      for (let k = 0; k < K; k++) {
        const r = seg[top - k]!;
        y += w[k]! * r;
        pow += r * r;
        const a = r < 0 ? -r : r;
        if (a > peak) peak = a;
      }
      const e = near - y;
      if ((near < 0 ? -near : near) > g * peak + 64) this.#dtHold = this.rate / 33; // 30 ms hangover
      if (this.#dtHold > 0) this.#dtHold--;
      else {
        const step = (this.#mu * e) / pow;
        for (let k = 0; k < K; k++) w[k] = w[k]! + step * seg[top - k]!;
        this.#eNear += 0.001 * (near * near - this.#eNear);
        this.#eRes += 0.001 * (e * e - this.#eRes);
      }
      out[i] = e > 32767 ? 32767 : e < -32768 ? -32768 : Math.round(e);
    }
    this.erleDb = Math.max(0, Math.min(40, 10 * Math.log10(this.#eNear / this.#eRes)));
  }

  /**
   * Bulk delay by normalised cross-correlation, coarse (every 4th sample, over contiguous copies,
   * with the reference energy slid along the lags) then refined at full rate; re-centres the
   * filter when the path moved.
   */
  #estimate(end: number): void {
    const W = this.#win;
    const nmask = this.#near.length - 1;
    const start = end - W; // clock index of the window's first near sample
    const Wc = W >> 2;
    const nearC = this.#nearC;
    let nearE = 0;
    for (let j = 0; j < Wc; j++) {
      const v = this.#near[(this.#nearEnd - W + 4 * j) & nmask]!;
      nearC[j] = v;
      nearE += v * v;
    }
    if (nearE < Wc * 16) return; // near end silent: nothing to learn
    // refC[m] = ref[start − maxDelay' + 4m], so lag L (multiple of 4) pairs nearC[j] with refC[j + (maxDelay' − L)/4]
    const Lc = this.#maxDelay >> 2;
    const refC = this.#refC;
    let refAny = 0;
    for (let m = 0; m < Wc + Lc; m++) {
      const r = this.#refAt(start - 4 * Lc + 4 * m);
      refC[m] = r;
      refAny += r * r;
    }
    if (refAny < Wc) return; // nothing played in the span: no echo to find
    let best = -1;
    let bestLag = -1;
    // energy of refC[o .. o + Wc), slid from o = Lc (lag 0) down to o = 0 (lag maxDelay)
    let re = 0;
    for (let j = 0; j < Wc; j++) re += refC[Lc + j]! ** 2;
    for (let q = 0; q <= Lc; q++) {
      const o = Lc - q; // lag = 4q
      if (q > 0) re += refC[o]! ** 2 - refC[o + Wc]! ** 2;
      if (re < Wc) continue;
      let num = 0;
      for (let j = 0; j < Wc; j++) num += nearC[j]! * refC[o + j]!;
      const c = num / Math.sqrt(nearE * re);
      if (c > best) {
        best = c;
        bestLag = 4 * q;
      }
    }
    if (best < LOCK_CORR) return;
    // refine at full rate
    const nearAt = (j: number) => this.#near[(this.#nearEnd - W + j) & nmask]!;
    let fine = bestLag;
    let fineC = -1;
    let gain = 0;
    for (let lag = Math.max(0, bestLag - 4); lag <= bestLag + 4; lag++) {
      let num = 0;
      let rE = 0;
      let ne = 0;
      for (let j = 0; j < W; j++) {
        const r = this.#refAt(start + j - lag);
        const v = nearAt(j);
        num += v * r;
        rE += r * r;
        ne += v * v;
      }
      const c = num / Math.sqrt(ne * rE + 1e-9);
      if (c > fineC) {
        fineC = c;
        fine = lag;
        gain = num / (rE + 1e-9);
      }
    }
    this.erlDb = Math.max(0, -20 * Math.log10(Math.abs(gain) + 1e-9));
    if (this.delay < 0 || Math.abs(fine - this.delay) > this.#taps >> 2) {
      // New echo path: centre the filter on it, starting from the fitted gain.
      this.delay = fine;
      this.#w.fill(0);
      this.#w[this.#taps >> 1] = gain;
      this.#eNear = 1e-9;
      this.#eRes = 1e-9;
    }
  }
}
