import { msToCompactNtp, ntpMiddle32, tsDiff, type RtcpReportBlock } from '../../../codecs/src/index.js';
import { MIN_SEQUENTIAL, SequenceTracker } from './SequenceTracker.js';

/**
 * Reception statistics of one inbound RTP stream, RFC 3550 Appendix A: the extended sequence
 * number with source validation (A.1), expected/lost packets per report interval and in total
 * (A.3), interarrival jitter (A.8), and the LSR/DLSR bookkeeping a receiver report needs (§6.4.1).
 *
 * Feed it every RTP packet of the stream as it arrives (before any reordering) and every SR the
 * sender sends; `fillReportBlock` produces the RR block and closes the report interval. Nothing is
 * allocated per packet: the state is a fixed set of numbers.
 *
 * Counting follows the RFC, not intuition: duplicates count as received (A.3), so with duplicates
 * the cumulative loss can go negative, and late packets within MAX_MISORDER count as received.
 * The A.1/A.3 sequence bookkeeping is SequenceTracker's; this class adds SSRC, jitter and LSR/DLSR.
 */

export interface ReceiverStatsOptions {
  /** RTP clock rate of the stream's payload format, Hz (8000 for G.711, 48000 for Opus) */
  clockRate: number;
  /** A.1 probation: sequential packets required before a new source counts (default 2; 1 accepts the first packet) */
  minSequential?: number;
}

export class ReceiverStats {
  /** RTP clock rate, Hz */
  readonly clockRate: number;
  // A.1/A.3: sequence numbers, probation, expected/received per interval and in total
  readonly #seq: SequenceTracker;

  #ssrc = 0;

  // A.8 jitter: arrival time in timestamp units (fractional: no rounding of the ms clock), the
  // previous packet's RTP timestamp, and the running estimate in timestamp units.
  #haveTransit = false;
  #lastArrivalTs = 0;
  #lastRtpTs = 0;
  #jitter = 0;
  // The estimate over the whole stream (per-call reports): its sum, samples and largest value.
  #jitterSum = 0;
  #jitterSamples = 0;
  #jitterMax = 0;

  // §6.4.1 LSR/DLSR: middle 32 bits of the last SR's NTP timestamp, and when it arrived (ms).
  #lsr = 0;
  #lastSrArrivalMs = -1;

  #sourceChanges = 0;
  #packets = 0;

  constructor(options: ReceiverStatsOptions) {
    if (!(options.clockRate > 0)) throw new RangeError(`clockRate must be positive [clockRate:${options.clockRate}]`);
    this.clockRate = options.clockRate;
    this.#seq = new SequenceTracker(Math.max(1, Math.floor(options.minSequential ?? MIN_SEQUENTIAL)));
  }

  /**
   * One RTP packet of the stream, in arrival order.
   * @param ssrc the packet's SSRC: a new one starts a new source (A.1 probation again; totals kept)
   * @param seq 16-bit sequence number
   * @param rtpTimestamp 32-bit RTP timestamp, clock-rate units
   * @param arrivalMs arrival time on any monotonic clock, ms (fractions welcome)
   * @param updateJitter false for packets whose timestamps do not advance with sampling time,
   *   e.g. RFC 4733 telephone-events, which repeat the event's start timestamp
   * @returns false when A.1 does not count the packet (source on probation, or a big jump that is
   *   not yet confirmed by the next packet)
   */
  onRtp(ssrc: number, seq: number, rtpTimestamp: number, arrivalMs: number, updateJitter = true): boolean {
    this.#packets++;
    ssrc >>>= 0;
    seq &= 0xffff;
    if (!this.#seq.started || ssrc !== this.#ssrc) {
      if (this.#seq.started) {
        this.#sourceChanges++;
        this.#haveTransit = false;
        this.#jitter = 0;
        this.#lsr = 0;
        this.#lastSrArrivalMs = -1;
      }
      this.#ssrc = ssrc;
      // A new source (its predecessor's counts go to the totals), on probation again.
      this.#seq.start(seq);
    }
    const counted = this.#seq.update(seq);
    if (counted === 'dropped') return false;
    // After a restart the timestamp base likely jumped too.
    if (counted === 'restarted') this.#haveTransit = false;
    if (updateJitter) this.#updateJitter(rtpTimestamp, arrivalMs);
    return true;
  }

  /**
   * An SR from this stream's sender (§6.4.1): remembered for the LSR/DLSR of our next report.
   * @param ntpSeconds, ntpFraction the SR's NTP timestamp (seconds since 1900; 2^-32 s)
   * @param arrivalMs when it arrived, on the same clock `fillReportBlock` is given, ms
   */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.#lsr = ntpMiddle32(ntpSeconds, ntpFraction);
    this.#lastSrArrivalMs = arrivalMs;
  }

  /**
   * Fills `out` with this stream's reception report block as of `nowMs` (§6.4.1, A.3) and starts
   * a new report interval: call it once per RR/SR sent. Allocates nothing.
   * @param nowMs current time on the clock `onSenderReport` was given, ms (for DLSR)
   */
  fillReportBlock(out: RtcpReportBlock, nowMs: number): RtcpReportBlock {
    out.ssrc = this.#ssrc;
    // A.3: the interval's fraction lost; zero when packets arrived twice (negative loss).
    out.fractionLost = this.#seq.closeInterval();
    // A.3: clamp to the signed 24-bit field.
    out.cumulativeLost = Math.max(-0x800000, Math.min(0x7fffff, this.lost));
    out.extendedHighestSeq = this.extendedHighestSeq;
    out.jitter = Math.min(0xffffffff, Math.floor(this.#jitter));
    out.lsr = this.#lsr;
    out.dlsr = this.dlsr(nowMs);
    return out;
  }

  /** SSRC of the current source (0 before the first packet) */
  get ssrc(): number {
    return this.#ssrc;
  }

  /** True once the current source has passed probation (A.1) */
  get valid(): boolean {
    return this.#seq.valid;
  }

  /** Extended highest sequence number received: cycles × 2^16 + max_seq, 32 bits (A.1) */
  get extendedHighestSeq(): number {
    return this.#seq.extendedHighestSeq;
  }

  /** Packets expected from the current source so far (A.3); 0 while on probation */
  get expected(): number {
    return this.#seq.expected;
  }

  /** Packets received from the current source so far, duplicates and late ones included (A.3) */
  get received(): number {
    return this.#seq.received;
  }

  /** Cumulative packets lost from the current source (A.3): expected − received, negative with duplicates */
  get lost(): number {
    return this.#seq.expected - this.#seq.received;
  }

  /** Packets expected over the whole stream, across source changes and restarts */
  get totalExpected(): number {
    return this.#seq.totalExpected;
  }

  /** Packets received over the whole stream, across source changes and restarts */
  get totalReceived(): number {
    return this.#seq.totalReceived;
  }

  /** Loss over the whole stream in percent (0..100), negative loss (duplicates) read as 0 */
  get lossPercent(): number {
    const expected = this.totalExpected;
    if (expected <= 0) return 0;
    return Math.max(0, Math.min(100, ((expected - this.totalReceived) * 100) / expected));
  }

  /** Fraction lost in the last closed report interval, 8-bit fixed point (lost/expected × 256) */
  get fractionLost(): number {
    return this.#seq.fractionLost;
  }

  /** Interarrival jitter estimate (A.8), RTP timestamp units (fractional) */
  get jitter(): number {
    return this.#jitter;
  }

  /** Interarrival jitter estimate (A.8), ms */
  get jitterMs(): number {
    return (this.#jitter * 1000) / this.clockRate;
  }

  /**
   * The A.8 estimate averaged over every packet of the stream (source changes included), ms: what
   * a per-call report quotes, steadier than the instantaneous value.
   */
  get meanJitterMs(): number {
    return this.#jitterSamples === 0 ? 0 : (this.#jitterSum * 1000) / this.#jitterSamples / this.clockRate;
  }

  /** The largest A.8 estimate seen on the stream, ms */
  get maxJitterMs(): number {
    return (this.#jitterMax * 1000) / this.clockRate;
  }

  /** Middle 32 bits of the last SR's NTP timestamp, 0 when none yet (§6.4.1) */
  get lsr(): number {
    return this.#lsr;
  }

  /** Delay since the last SR arrived, in 1/65536 s (DLSR, §6.4.1); 0 when none yet */
  dlsr(nowMs: number): number {
    return this.#lastSrArrivalMs < 0 ? 0 : msToCompactNtp(nowMs - this.#lastSrArrivalMs);
  }

  /** Counters of packets A.1 set aside, and of source changes; for stats and logs */
  get restarts(): number {
    return this.#seq.restarts;
  }
  get sourceChanges(): number {
    return this.#sourceChanges;
  }
  /** packets not counted because the source was on probation */
  get probationDrops(): number {
    return this.#seq.probationDrops;
  }
  /** packets not counted because they jumped too far (one more in sequence restarts the source) */
  get jumpDrops(): number {
    return this.#seq.jumpDrops;
  }
  /** duplicates and late packets (behind max_seq by up to MAX_MISORDER), counted as received */
  get misordered(): number {
    return this.#seq.misordered;
  }
  /** every packet given to `onRtp` */
  get packets(): number {
    return this.#packets;
  }

  /** A.8: J += (|D(i−1,i)| − J)/16, with D from consecutive arrivals, in timestamp units */
  #updateJitter(rtpTimestamp: number, arrivalMs: number): void {
    const arrivalTs = (arrivalMs * this.clockRate) / 1000;
    if (this.#haveTransit) {
      // D = (Rj − Ri) − (Sj − Si); the RTP difference is taken modulo 2^32 so wraps are harmless.
      const d = arrivalTs - this.#lastArrivalTs - tsDiff(this.#lastRtpTs, rtpTimestamp >>> 0);
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
      this.#jitterSum += this.#jitter;
      this.#jitterSamples++;
      if (this.#jitter > this.#jitterMax) this.#jitterMax = this.#jitter;
    }
    this.#haveTransit = true;
    this.#lastArrivalTs = arrivalTs;
    this.#lastRtpTs = rtpTimestamp >>> 0;
  }
}
