/**
 * The floor of a signal's power, block by block: the least of its smoothed power over the last
 * (`subwindows` − 1) × `blocks` to `subwindows` × `blocks` blocks fed, however far apart in time
 * (minimum statistics, R. Martin, IEEE Trans. Speech Audio Process. 9(5), 2001). Fed a line between
 * the caller's words, that is its own noise; a minimum of a smoothed power reads under the noise's
 * mean (more so for babble or music, which swing). It reads over it when no pause as long as the
 * smoothing lets go is among the blocks fed: the caller talking throughout.
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
    if (!(blocks >= 1 && subwindows >= 1 && smoothing >= 0 && smoothing < 1))
      throw new RangeError('PowerFloor: blocks and subwindows ≥ 1, smoothing in [0, 1)');
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
    for (let w = 0; w < this.#mins.length; w++) least = Math.min(least, this.#mins[w]!);
    return least;
  }
}
