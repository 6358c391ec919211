/**
 * Serial-number arithmetic for RTP sequence numbers (16-bit) and timestamps (32-bit),
 * after RFC 1982 and RFC 3550 Appendix A.1: a difference is read as the shortest signed
 * distance, so 65535 → 0 is +1, not −65535.
 */

/** Signed distance b − a for 16-bit sequence numbers, in −32768..32767. */
export function seqDiff(a: number, b: number): number {
  return (((b - a) & 0xffff) << 16) >> 16;
}

/** True when 16-bit sequence number a comes before b. */
export function seqLess(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** (seq + n) mod 2^16 */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) & 0xffff;
}

/** Signed distance b − a for 32-bit timestamps, in −2^31..2^31−1. */
export function tsDiff(a: number, b: number): number {
  return (b - a) | 0;
}

/** (ts + n) mod 2^32 */
export function tsAdd(ts: number, n: number): number {
  return (ts + n) >>> 0;
}

/**
 * Extends 16-bit sequence numbers to a monotonic count of cycles × 2^16 + seq
 * (RFC 3550 A.1's extended highest sequence number), so windows and loss counts
 * need no wrap handling downstream.
 */
export class SequenceUnwrapper {
  #last = -1;

  /** Extended value of `seq`, relative to the last one seen. */
  unwrap(seq: number): number {
    if (this.#last < 0) {
      this.#last = seq;
      return seq;
    }
    const ext = this.#last + seqDiff(this.#last & 0xffff, seq);
    if (ext > this.#last) this.#last = ext;
    return ext;
  }

  reset(): void {
    this.#last = -1;
  }
}
