/** The barge-in detector's "silent", dBFS: the floor of every level it keeps. */
export const SILENT_DB = -100;
/** Background level window, 10 ms frames (1.5 s), for InterruptionDetector's background. */
const FLOOR_FRAMES = 150;
/**
 * 10 ms levels a codec's comfort noise is estimated from (`sentNoiseDb`): 200 ms, the hangover of
 * non-speech frames libopus sends before its DTX stops sending.
 */
const SENT_SLOTS = 20;

/**
 * The levels of one caller's line, 10 ms at a time: the background her barge-in must rise above
 * (a quantile of the last 1.5 s, echo and background included), and the noise her codec carries
 * on through the frames her phone does not send (`sentNoiseDb`).
 */
export class CallerLevels {
  /** caller level history and its histogram (1 dB bins from −100 to 0 dBFS) for the background */
  readonly #levels = new Int8Array(FLOOR_FRAMES).fill(-100);
  readonly #hist = new Uint16Array(101);
  #levelPos = 0;
  /** levels recorded so far, up to FLOOR_FRAMES */
  #recorded = 0;
  /** the levels of the last SENT_SLOTS 10 ms the phone sent (ring: `#sentPos` is the next to write), and a scratch copy to sort */
  readonly #sent = new Int8Array(SENT_SLOTS);
  readonly #sentSorted = new Int8Array(SENT_SLOTS);
  #sentPos = 0;
  #sentCount = 0;

  /** The `q` quantile (0..1) of the caller's levels over the last 1.5 s (so far), dBFS. */
  percentileDb(q: number): number {
    if (this.#recorded < 5) return SILENT_DB;
    let n = 0;
    for (let b = 0; b <= 100; b++) {
      n += this.#hist[b]!;
      if (n >= this.#recorded * q) return b - 100;
    }
    return 0;
  }

  /**
   * The level of 10 ms of the caller's line, dBFS: echo-cancelled, not denoised, the residual
   * echo not suppressed (LineEcho's `line`), for the background (`percentileDb`).
   */
  push(level: number): void {
    const bin = this.#record(level);
    this.#sent[this.#sentPos] = bin;
    this.#sentPos = (this.#sentPos + 1) % SENT_SLOTS;
    if (this.#sentCount < SENT_SLOTS) this.#sentCount++;
  }

  /** Counts `level` (dBFS) in the background; returns its 1 dB bin. */
  #record(level: number): number {
    const bin = Math.max(-100, Math.min(0, Math.round(level)));
    if (this.#recorded < FLOOR_FRAMES) this.#recorded++;
    else this.#hist[this.#levels[this.#levelPos]! + 100]!--;
    this.#levels[this.#levelPos] = bin;
    this.#hist[bin + 100]!++;
    this.#levelPos = (this.#levelPos + 1) % FLOOR_FRAMES;
    return bin;
  }

  /**
   * The median level of the caller's last SENT_SLOTS × 10 ms on the line, dBFS: the noise an Opus
   * decoder's concealment carries on through frames its phone's DTX does not send (SILK's comfort
   * noise follows the frames it last decoded, smoothed). A single 10 ms is a poor estimate of it:
   * car noise's swung ±9 dB from one DTX update to the next (held-out seed 10).
   */
  get sentNoiseDb(): number {
    if (this.#sentCount === 0) return SILENT_DB;
    const sorted = this.#sentSorted;
    // the ring fills from 0: its first #sentCount slots are the filled ones
    sorted.set(this.#sent.subarray(0, this.#sentCount));
    sorted.subarray(0, this.#sentCount).sort();
    return sorted[this.#sentCount >> 1]!;
  }

  /**
   * `slots` × 10 ms in which the caller's phone sent nothing (RFC 3551 §4.1: a phone that
   * suppresses silence is quiet between talkspurts), in the background at `level` dBFS: the noise
   * the phone stated (RFC 3389), its codec's concealment carries on (Opus DTX: `sentNoiseDb`), or SILENT_DB.
   */
  unsent(slots: number, level: number): void {
    for (let k = Math.min(slots, FLOOR_FRAMES); k > 0; k--) this.#record(level);
  }
}
