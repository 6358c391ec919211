/**
 * The gain of a call's playout, for barge-in ducking: set in dB, applied from the next frame on
 * with a linear ramp over that frame (20 ms: no click), unity again after a clear.
 */
export class PlayoutGain {
  #gain = 1;
  #to = 1;

  /** Lowers the audio by `db` (0: full volume). */
  set(db: number): void {
    this.#to = 10 ** (-db / 20);
  }

  reset(): void {
    this.#gain = this.#to = 1;
  }

  /** Applies the gain to one frame (float samples, in place). */
  apply(x: Float32Array): void {
    if (this.#gain === 1 && this.#to === 1) return;
    const from = this.#gain;
    const step = (this.#to - from) / x.length;
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * (from + step * (i + 1));
    this.#gain = this.#to;
  }
}
