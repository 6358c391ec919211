/**
 * Packet-loss concealment for codecs without their own (G.711), after the idea of
 * ITU-T G.711 Appendix I: repeat the last pitch period of the good signal, attenuating the
 * longer the loss lasts, and cross-fade back into the first good frame.
 *
 * Works on Int16 frames of a fixed size at any rate; keeps a history of `2 × frame`.
 */
export class LossConcealer {
  readonly #frame: number;
  readonly #hist: Int16Array;
  readonly #minPeriod: number;
  readonly #maxPeriod: number;
  /** consecutive lost frames so far */
  #lost = 0;
  #period = 0;
  #phase = 0;
  /** last concealed sample, the start of the cross-fade into good audio */
  #tail = 0;

  /** @param frame samples per frame; @param rate Hz (sets the pitch search range 66–400 Hz) */
  constructor(frame: number, rate: number) {
    this.#frame = frame;
    this.#minPeriod = Math.floor(rate / 400);
    this.#maxPeriod = Math.min(Math.ceil(rate / 66), frame);
    this.#hist = new Int16Array(2 * frame);
  }

  /** Records a good frame (after decode); cross-fades it in place if it follows a loss. */
  good(frame: Int16Array): void {
    if (this.#lost > 0) {
      // 1 ms-ish linear fade from the concealed tail into the real signal.
      const fade = Math.min(this.#minPeriod, frame.length);
      for (let i = 0; i < fade; i++) {
        const w = (i + 1) / (fade + 1);
        frame[i] = Math.round(this.#tail * (1 - w) + frame[i]! * w);
      }
      this.#lost = 0;
    }
    this.#hist.copyWithin(0, this.#frame);
    this.#hist.set(frame.subarray(0, this.#frame), this.#frame);
  }

  /** Writes one concealment frame into `out`. */
  conceal(out: Int16Array): void {
    const h = this.#hist;
    const n = this.#frame;
    if (this.#lost === 0) {
      this.#period = this.#estimatePeriod();
      this.#phase = 0;
    }
    this.#lost++;
    // Full level for the first lost frame, then fading −6 dB per frame; silent after 6 frames (120 ms at 20 ms).
    const gainStart = this.#lost === 1 ? 1 : Math.pow(0.5, this.#lost - 2);
    const gainEnd = Math.pow(0.5, this.#lost - 1);
    const p = this.#period;
    const start = h.length - p;
    for (let i = 0; i < n; i++) {
      const g = this.#lost > 6 ? 0 : gainStart + ((gainEnd - gainStart) * i) / n;
      out[i] = Math.round(h[start + this.#phase]! * g);
      this.#phase = (this.#phase + 1) % p;
    }
    this.#tail = out[n - 1]!;
  }

  /** Pitch period by normalised autocorrelation over the history. */
  #estimatePeriod(): number {
    const h = this.#hist;
    const len = h.length;
    let best = this.#maxPeriod;
    let bestScore = -Infinity;
    const win = Math.min(this.#frame, len - this.#maxPeriod);
    for (let lag = this.#minPeriod; lag <= this.#maxPeriod; lag++) {
      let num = 0;
      let den = 1;
      for (let i = len - win; i < len; i++) {
        const a = h[i]!;
        const b = h[i - lag]!;
        num += a * b;
        den += b * b;
      }
      const score = num / Math.sqrt(den);
      if (score > bestScore) {
        bestScore = score;
        best = lag;
      }
    }
    return best;
  }
}
