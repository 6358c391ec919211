import {
  createRtcpPacket,
  createRtcpReportBlock,
  ntpFractionFromMs,
  ntpSecondsFromMs,
  readRtcpReportBlock,
  RTCP_RR,
  RTCP_SR,
  rtcpReportSize,
  tryParseRtcpPacket,
  tryValidateRtcp,
  writeRtcpReport,
  type RtcpReportBlock,
  type RtcpSenderInfo,
} from '../../../codecs/src/index.js';
import { RoundTripStats, roundTripMsFromBlock, type ReceiverStats } from '../quality/index.js';

/** RFC 3550 §6.2: 5 s is the recommended minimum interval between reports. */
export const RTCP_INTERVAL_MS = 5000;

/**
 * RTCP (RFC 3550 §6) of one call's RTP session: what we learn from the far end's reports (its
 * view of our stream: loss, jitter, and the round trip through LSR/DLSR, §6.4.1) and the sender
 * reports we send, with a report block on the stream we receive. That block is read from the
 * call's own ReceiverStats (`receiver`, set when the call attaches), so loss and jitter are
 * measured once per call. Allocates its buffers once.
 */
export class RtcpSession {
  readonly #ssrc: number;
  readonly #cname: Uint8Array;
  readonly #clockRate: number;
  /** statistics of the stream we receive: the call's (its inbound leg's); null until a call attaches */
  receiver: ReceiverStats | null = null;
  /** RTP packets we had sent at the last report check, for the far end's cumulative loss */
  #packetsSent = 0;
  readonly #pkt = createRtcpPacket();
  readonly #block = createRtcpReportBlock();
  readonly #ours: RtcpReportBlock[] = [createRtcpReportBlock()];
  readonly #sender: RtcpSenderInfo = { ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 };
  readonly #out: Uint8Array;
  #lastReportAt = -Infinity;
  /** compound packets received and sent */
  packetsIn = 0;
  packetsOut = 0;
  /** the last round trip measured from the far end's reports, ms (NaN until one is) */
  rttMs = NaN;
  /** every round trip measured on the call */
  readonly roundTrip = new RoundTripStats();
  /** the far end's last report on our stream: fraction lost (0..1) and jitter (timestamp units) */
  remoteFractionLost = NaN;
  remoteJitter = NaN;
  /** the far end's cumulative loss of our stream over what we had sent, percent (NaN until a report) */
  remoteLossPercent = NaN;
  /** reports on our stream received */
  remoteReports = 0;
  /** the far end's jitter over its reports: sum and largest (timestamp units) */
  #remoteJitterSum = 0;
  #remoteJitterMax = 0;

  constructor(ssrc: number, clockRate: number) {
    this.#ssrc = ssrc;
    this.#cname = new TextEncoder().encode(`gw-${ssrc.toString(16)}@voice-gateway`);
    this.#clockRate = clockRate;
    this.#out = new Uint8Array(rtcpReportSize(true, 1, this.#cname.length));
  }

  /** SSRC of the stream we receive (0 before its first packet). */
  get remoteSsrc(): number {
    return this.receiver?.ssrc ?? 0;
  }

  /** The far end's interarrival jitter of our stream, ms: its last report, the mean and the largest of its reports (NaN before one). */
  get remoteJitterMs(): { last: number; mean: number; max: number } {
    const ms = (units: number) => (units * 1000) / this.#clockRate;
    const n = this.remoteReports;
    return {
      last: ms(this.remoteJitter),
      mean: n === 0 ? NaN : ms(this.#remoteJitterSum / n),
      max: n === 0 ? NaN : ms(this.#remoteJitterMax),
    };
  }

  /** A compound RTCP packet from the far end; false when it is malformed (the caller counts it). */
  receive(buf: Uint8Array, arrivalMs: number, arrivalUnixMs: number): boolean {
    if (tryValidateRtcp(buf) !== null) return false;
    this.packetsIn++;
    for (let off = 0; off < buf.length; off += this.#pkt.size) {
      if (tryParseRtcpPacket(buf, off, this.#pkt) !== null) return false;
      const p = this.#pkt;
      if (p.packetType === RTCP_SR) this.receiver?.onSenderReport(p.ntpSeconds, p.ntpFraction, arrivalMs);
      if (p.packetType !== RTCP_SR && p.packetType !== RTCP_RR) continue;
      for (let i = 0; i < p.count; i++) {
        const b = readRtcpReportBlock(buf, p, i, this.#block);
        if (b.ssrc !== this.#ssrc) continue;
        this.remoteFractionLost = b.fractionLost / 256;
        this.remoteJitter = b.jitter;
        this.remoteReports++;
        this.#remoteJitterSum += b.jitter;
        if (b.jitter > this.#remoteJitterMax) this.#remoteJitterMax = b.jitter;
        // Cumulative lost (signed 24 bits, A.3) over what we had sent by our last report check.
        if (this.#packetsSent > 0) this.remoteLossPercent = Math.max(0, Math.min(100, (100 * b.cumulativeLost) / this.#packetsSent));
        const rtt = roundTripMsFromBlock(b, arrivalUnixMs);
        if (rtt === null) continue;
        this.rttMs = rtt;
        this.roundTrip.add(rtt);
      }
    }
    return true;
  }

  /**
   * The sender report due at `nowMs`, or null when the last one is less than RTCP_INTERVAL_MS old.
   * A view into a buffer reused for the next report.
   */
  due(nowMs: number, nowUnixMs: number, rtpTimestamp: number, packetCount: number, octetCount: number): Uint8Array | null {
    this.#packetsSent = packetCount;
    if (nowMs - this.#lastReportAt < RTCP_INTERVAL_MS) return null;
    this.#lastReportAt = nowMs;
    const s = this.#sender;
    s.ntpSeconds = ntpSecondsFromMs(nowUnixMs);
    s.ntpFraction = ntpFractionFromMs(nowUnixMs);
    s.rtpTimestamp = rtpTimestamp;
    s.packetCount = packetCount;
    s.octetCount = octetCount;
    const recv = this.receiver;
    const blocks = recv?.valid === true ? 1 : 0;
    if (recv !== null && blocks > 0) recv.fillReportBlock(this.#ours[0]!, nowMs);
    const n = writeRtcpReport(this.#out, 0, { ssrc: this.#ssrc, sender: s, reports: this.#ours, reportCount: blocks, cname: this.#cname });
    this.packetsOut++;
    return this.#out.subarray(0, n);
  }
}
