/**
 * A token bucket: `ratePerSec` sustained, `burst` at once. Used for call setup (global) and for
 * RTP packets (per call), so a flood costs the flooder, not the other calls.
 */
export class TokenBucket {
  #tokens: number;
  #last = -Infinity;

  constructor(
    readonly ratePerSec: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** Takes one token at `nowMs`; false when the bucket is empty (the caller drops and counts). */
  take(nowMs: number): boolean {
    if (this.ratePerSec === Infinity) return true;
    if (this.#last !== -Infinity) this.#tokens = Math.min(this.burst, this.#tokens + ((nowMs - this.#last) * this.ratePerSec) / 1000);
    this.#last = nowMs;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
