/**
 * The floor of a signal's power, block by block: the least of its smoothed power over the last
 * `subwindows` × `blocks` blocks (minimum statistics, R. Martin, IEEE Trans. Speech Audio
 * Process. 9(5), 2001). Between words and under the echo's pauses that is the line's own noise; a
 * minimum of a smoothed power reads under the noise's mean (more so for babble or music, which
 * swing), so what is taken out as noise is never more than the noise.
 *
 * Allocation-free after construction.
 */
export class PowerFloor {
  readonly #blocks: number;
  readonly #smoothing: number;
  /** least smoothed power per sub-window (a ring), the smoothed power, blocks seen */
  readonly #mins: Float64Array;
  #smoothed = -1;
  #seen = 0;

  /**
   * `blocks` per sub-window, `subwindows` of them; each block's power goes into the smoothed power
   * with weight 1 − `smoothing`.
   */
  constructor(blocks: number, subwindows: number, smoothing: number) {
    this.#blocks = blocks;
    this.#smoothing = smoothing;
    this.#mins = new Float64Array(subwindows).fill(Infinity);
  }

  /** One block's power (any unit: the floor is in the same). */
  push(power: number): void {
    this.#smoothed = this.#smoothed < 0 ? power : this.#smoothing * this.#smoothed + (1 - this.#smoothing) * power;
    const sub = Math.floor(this.#seen / this.#blocks) % this.#mins.length;
    if (this.#seen % this.#blocks === 0) this.#mins[sub] = Infinity;
    this.#mins[sub] = Math.min(this.#mins[sub]!, this.#smoothed);
    this.#seen++;
  }

  /** The floor, per block; 0 until one sub-window has been filled (a shorter history may hold no pause). */
  get floor(): number {
    if (this.#seen < this.#blocks) return 0;
    let least = Infinity;
    for (const m of this.#mins) least = Math.min(least, m);
    return least;
  }
}
