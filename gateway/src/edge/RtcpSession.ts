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
import { ReceiverStats, roundTripMsFromBlock } from '../quality/index.js';

/** RFC 3550 §6.2: 5 s is the recommended minimum interval between reports. */
export const RTCP_INTERVAL_MS = 5000;

/**
 * RTCP (RFC 3550 §6) of one call's RTP session: what we learn from the far end's reports (its
 * view of our stream: loss, jitter, and the round trip through LSR/DLSR, §6.4.1) and the sender
 * reports we send, with a report block on the stream we receive. Allocates its buffers once.
 */
export class RtcpSession {
  readonly #ssrc: number;
  readonly #cname: Uint8Array;
  readonly #recv: ReceiverStats;
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
  /** the far end's last report on our stream: fraction lost (0..1) and jitter (timestamp units) */
  remoteFractionLost = NaN;
  remoteJitter = NaN;

  constructor(ssrc: number, clockRate: number) {
    this.#ssrc = ssrc;
    this.#cname = new TextEncoder().encode(`gw-${ssrc.toString(16)}@voice-gateway`);
    this.#recv = new ReceiverStats({ clockRate, minSequential: 1 });
    this.#out = new Uint8Array(rtcpReportSize(true, 1, this.#cname.length));
  }

  /** SSRC of the stream we receive (0 before its first packet). */
  get remoteSsrc(): number {
    return this.#recv.ssrc;
  }

  /** Every RTP packet received (for the report block we send). */
  onRtp(ssrc: number, seq: number, timestamp: number, arrivalMs: number): void {
    this.#recv.onRtp(ssrc, seq, timestamp, arrivalMs);
  }

  /** A compound RTCP packet from the far end; false when it is malformed (the caller counts it). */
  receive(buf: Uint8Array, arrivalMs: number, arrivalUnixMs: number): boolean {
    if (tryValidateRtcp(buf) !== null) return false;
    this.packetsIn++;
    for (let off = 0; off < buf.length; off += this.#pkt.size) {
      if (tryParseRtcpPacket(buf, off, this.#pkt) !== null) return false;
      const p = this.#pkt;
      if (p.packetType === RTCP_SR) this.#recv.onSenderReport(p.ntpSeconds, p.ntpFraction, arrivalMs);
      if (p.packetType !== RTCP_SR && p.packetType !== RTCP_RR) continue;
      for (let i = 0; i < p.count; i++) {
        const b = readRtcpReportBlock(buf, p, i, this.#block);
        if (b.ssrc !== this.#ssrc) continue;
        this.remoteFractionLost = b.fractionLost / 256;
        this.remoteJitter = b.jitter;
        const rtt = roundTripMsFromBlock(b, arrivalUnixMs);
        if (rtt !== null) this.rttMs = rtt;
      }
    }
    return true;
  }

  /**
   * The sender report due at `nowMs`, or null when the last one is less than RTCP_INTERVAL_MS old.
   * A view into a buffer reused for the next report.
   */
  due(nowMs: number, nowUnixMs: number, rtpTimestamp: number, packetCount: number, octetCount: number): Uint8Array | null {
    if (nowMs - this.#lastReportAt < RTCP_INTERVAL_MS) return null;
    this.#lastReportAt = nowMs;
    const s = this.#sender;
    s.ntpSeconds = ntpSecondsFromMs(nowUnixMs);
    s.ntpFraction = ntpFractionFromMs(nowUnixMs);
    s.rtpTimestamp = rtpTimestamp;
    s.packetCount = packetCount;
    s.octetCount = octetCount;
    const blocks = this.#recv.valid ? 1 : 0;
    if (blocks > 0) this.#recv.fillReportBlock(this.#ours[0]!, nowMs);
    const n = writeRtcpReport(this.#out, 0, { ssrc: this.#ssrc, sender: s, reports: this.#ours, reportCount: blocks, cname: this.#cname });
    this.packetsOut++;
    return this.#out.subarray(0, n);
  }
}
