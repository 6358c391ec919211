import {
  createRtpPacket,
  isRtcp,
  RTP_HEADER_SIZE,
  tryParseRtp,
  writeRtpFixedHeader,
  writeTelephoneEvent,
  type RtpPacket,
} from '../../../codecs/src/index.js';
import { CODEC_INFO, type EdgeCodecName } from '../media/edgeCodecs.js';
import { FRAME_MS } from '../media/PlayoutClock.js';
import type { Metrics } from '../metrics.js';
import { TokenBucket } from '../rateLimit.js';
import type { EdgeSink, OutboundFrame } from './Edge.js';
import { RtcpSession } from './RtcpSession.js';

/** The negotiated media of a call's RTP (from its request, or from SDP). */
export interface RtpMedia {
  codec: EdgeCodecName;
  payloadType: number;
  dtmfPayloadType: number;
}

/** What every RTP edge shares from the gateway: its per-call packet limit and its counters. */
export interface RtpLimits {
  /** packets/s the far end may send before packets are dropped (50 nominal; bursts of 1 s pass) */
  rtpPacketsPerSecond: number;
  /** RTCP packets received are counted here (absent: not counted, as in micro-benchmarks) */
  metrics?: Metrics;
}

/** Packet buffers in rotation: a dgram or WebSocket send may still hold the previous one. */
const PACKET_RING = 4;

/**
 * RTP framing of one call's media, both ways (RFC 3550), shared by the RTP edges whatever carries
 * the packets (UDP, WebSocket messages, SIP-negotiated ports).
 *
 * In: a per-call rate limit (a flood costs the flooder: beyond the rate, packets are dropped
 * before any parsing); RTCP told apart from RTP on the same port (RFC 5761 §4) and handed to the
 * session's RtcpSession; then a zero-copy parse into one reused packet object.
 *
 * Out: one SSRC, continuous sequence numbers and timestamps (§5.1: random initial values), the
 * marker bit on the stream's first packet; RFC 4733 telephone-events in the same sequence space,
 * the event's packets all carrying its start timestamp (§2.5.1.3).
 */
export class RtpFraming {
  readonly #o: RtpMedia;
  readonly #m: Metrics | null;
  readonly #bucket: TokenBucket;
  readonly #in: RtpPacket = createRtpPacket();
  readonly #packets: Uint8Array[];
  readonly #frameTicks: number;
  readonly #ssrc = (Math.random() * 0xffffffff) >>> 0;
  #ring = 0;
  #seq: number;
  #ts: number;
  #toneStartTs = 0;
  #first = true;
  /** RTP packets and payload octets sent (RFC 3550 §6.4.1 sender info) */
  #packetsSent = 0;
  #octetsSent = 0;
  /** the call's RTCP: reports received, sender reports to send */
  readonly rtcp: RtcpSession;

  constructor(opts: RtpMedia, limits: RtpLimits) {
    this.#o = { codec: opts.codec, payloadType: opts.payloadType, dtmfPayloadType: opts.dtmfPayloadType };
    this.#m = limits.metrics ?? null;
    const rate = limits.rtpPacketsPerSecond;
    this.#bucket = new TokenBucket(rate, Math.max(50, rate / 2));
    const info = CODEC_INFO[opts.codec];
    this.#frameTicks = info.frameTicks;
    this.#packets = Array.from({ length: PACKET_RING }, () => new Uint8Array(RTP_HEADER_SIZE + info.maxPayload));
    // Half the 16-bit space for the sequence keeps SRTP index guessing away from rollover (pion
    // sequencer.go does the same).
    this.#seq = Math.floor(Math.random() * 0x8000);
    this.#ts = Math.floor(Math.random() * 0xffffffff) >>> 0;
    this.rtcp = new RtcpSession(this.#ssrc, info.clockRate);
  }

  /** The call's sink attaches: its reception statistics feed our RTCP report blocks. */
  attach(sink: EdgeSink): void {
    this.rtcp.receiver = sink.receiver ?? null;
  }

  /** SSRC of the outbound stream. */
  get ssrc(): number {
    return this.#ssrc;
  }

  /** One datagram or message from the far end: parsed and handed on, or dropped and counted. `buf` may be borrowed. */
  receive(buf: Uint8Array, arrivalMs: number, sink: EdgeSink): void {
    if (this.admit(arrivalMs, sink)) this.handle(buf, arrivalMs, sink);
  }

  /** The per-call rate limit alone: false (and the drop counted) when the packet is over it. */
  admit(arrivalMs: number, sink: EdgeSink): boolean {
    if (this.#bucket.take(arrivalMs)) return true;
    sink.drop('RTP_RATE_LIMITED');
    return false;
  }

  /** A packet already admitted (`admit`), maybe later than it arrived (a socket's per-turn bound). */
  handle(buf: Uint8Array, arrivalMs: number, sink: EdgeSink): void {
    if (isRtcp(buf)) {
      if (!this.rtcp.receive(buf, arrivalMs, Date.now())) return sink.drop('RTCP_INVALID');
      this.#m?.rtcpPackets.inc();
      return;
    }
    const p = this.#in;
    const err = tryParseRtp(buf, p);
    if (err !== null) return sink.drop(err);
    sink.media(p, arrivalMs);
  }

  /** The packet for one outbound frame: a view into a buffer reused after PACKET_RING packets. */
  packetize(f: OutboundFrame): Uint8Array {
    if (f.slots > 1) this.#ts = (this.#ts + (f.slots - 1) * this.#frameTicks) >>> 0;
    const pkt = this.#packets[this.#ring]!;
    this.#ring = (this.#ring + 1) % PACKET_RING;
    let len: number;
    if (f.kind === 'tone') {
      if (f.first) this.#toneStartTs = this.#ts;
      writeRtpFixedHeader(pkt, 0, f.first, this.#o.dtmfPayloadType, this.#seq, this.#toneStartTs, this.#ssrc);
      len =
        RTP_HEADER_SIZE +
        writeTelephoneEvent(pkt, RTP_HEADER_SIZE, {
          event: f.event,
          end: f.end,
          volume: 10,
          duration: (f.elapsedMs * this.#frameTicks) / FRAME_MS,
        });
    } else {
      writeRtpFixedHeader(pkt, 0, this.#first, this.#o.payloadType, this.#seq, this.#ts, this.#ssrc);
      pkt.set(f.payload, RTP_HEADER_SIZE);
      len = RTP_HEADER_SIZE + f.payload.length;
    }
    this.#packetsSent++;
    this.#octetsSent += len - RTP_HEADER_SIZE;
    this.#first = false;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + this.#frameTicks) >>> 0;
    return pkt.subarray(0, len);
  }

  /** The sender report due now (RFC 3550 §6.4.1), or null between reports. A reused view. */
  senderReport(nowMs: number): Uint8Array | null {
    return this.rtcp.due(nowMs, Date.now(), this.#ts, this.#packetsSent >>> 0, this.#octetsSent >>> 0);
  }
}
