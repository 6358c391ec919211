import { compactNtpToMs, ntpMiddle32FromMs, type RtcpReportBlock } from '../../../codecs/src/index.js';

/**
 * Round-trip time from RTCP, RFC 3550 §6.4.1: a receiver echoes in each report block the middle 32
 * bits of the NTP timestamp of our last SR (LSR) and how long it held it (DLSR). When the report
 * arrives at time A (middle 32 bits of our NTP clock), RTT = A − LSR − DLSR, all in 1/65536 s,
 * modulo 2^32. Only our own clock is involved, so the two ends need not be synchronised.
 */

/**
 * rtpengine (daemon/ssrc.c) throws away RTTs above 10 s as bogus; so do we by default. A
 * compact-NTP difference can only span ±32768 s anyway.
 */
export const MAX_PLAUSIBLE_RTT_MS = 10_000;

/**
 * RTT in ms, or null when the block cannot give one: LSR 0 means the peer has had no SR from us
 * yet (§6.4.1), and a negative or implausibly large result means a stale LSR or a clock step.
 * @param arrivalMiddle32 A: middle 32 bits of the NTP time the report arrived (1/65536 s)
 * @param lsr the block's LSR (1/65536 s)
 * @param dlsr the block's DLSR (1/65536 s)
 */
export function roundTripMs(arrivalMiddle32: number, lsr: number, dlsr: number, maxPlausibleMs = MAX_PLAUSIBLE_RTT_MS): number | null {
  if (lsr >>> 0 === 0) return null;
  const rtt = (arrivalMiddle32 - lsr - dlsr) | 0; // signed, modulo 2^32
  if (rtt < 0) return null;
  const ms = compactNtpToMs(rtt);
  return ms > maxPlausibleMs ? null : ms;
}

/**
 * RTT in ms from a report block about our stream that arrived at `arrivalUnixMs`: the wall
 * clock (ms since 1970) our SRs' NTP timestamps were taken from. Null as for `roundTripMs`.
 */
export function roundTripMsFromBlock(block: RtcpReportBlock, arrivalUnixMs: number, maxPlausibleMs = MAX_PLAUSIBLE_RTT_MS): number | null {
  return roundTripMs(ntpMiddle32FromMs(arrivalUnixMs), block.lsr, block.dlsr, maxPlausibleMs);
}

/** Running RTT figures of one call leg (ms); allocation-free per report. */
export class RoundTripStats {
  #count = 0;
  #last = 0;
  #min = Infinity;
  #max = 0;
  #sum = 0;

  /**
   * A report block about our stream; returns its RTT in ms, or null (not counted) when it has none.
   * @param arrivalUnixMs arrival time on the wall clock our SRs use, ms since 1970
   */
  onReportBlock(block: RtcpReportBlock, arrivalUnixMs: number): number | null {
    const rtt = roundTripMsFromBlock(block, arrivalUnixMs);
    if (rtt !== null) this.add(rtt);
    return rtt;
  }

  /** Records one RTT sample in ms. */
  add(rttMs: number): void {
    this.#count++;
    this.#last = rttMs;
    if (rttMs < this.#min) this.#min = rttMs;
    if (rttMs > this.#max) this.#max = rttMs;
    this.#sum += rttMs;
  }

  /** samples so far */
  get count(): number {
    return this.#count;
  }
  /** latest RTT, ms; null before the first sample */
  get lastMs(): number | null {
    return this.#count > 0 ? this.#last : null;
  }
  get minMs(): number | null {
    return this.#count > 0 ? this.#min : null;
  }
  get maxMs(): number | null {
    return this.#count > 0 ? this.#max : null;
  }
  get meanMs(): number | null {
    return this.#count > 0 ? this.#sum / this.#count : null;
  }
}
