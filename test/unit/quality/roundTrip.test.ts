import { describe, expect, it } from 'vitest';
import {
  createRtcpReportBlock,
  msToCompactNtp,
  ntpFractionFromMs,
  ntpMiddle32FromMs,
  ntpSecondsFromMs,
  parseRtcp,
  rtcpReportSize,
  writeRtcpReport,
  type RtcpReportBlock,
} from '../../../codecs/src/index.js';
import { ReceiverStats } from '../../../gateway/src/quality/ReceiverStats.js';
import { roundTripMs, roundTripMsFromBlock, RoundTripStats } from '../../../gateway/src/quality/roundTrip.js';

const CNAME = new TextEncoder().encode('peer');

/**
 * A synthetic SR/RR exchange over the wire format: we send an SR stamped from our wall clock; the
 * peer (whose clock is off by an arbitrary amount, as RTT needs no synchronisation) receives it
 * after the one-way delay, holds it, and answers with an RR built by its ReceiverStats; we take the
 * RTT from that RR when it arrives.
 */
function exchange(
  ourSendMs: number,
  oneWayMs: number,
  holdMs: number,
  peerClockOffsetMs: number,
): { block: RtcpReportBlock; arrivalMs: number } {
  const buf = new Uint8Array(256);
  const ourSsrc = 0x600d;
  const n = writeRtcpReport(buf, 0, {
    ssrc: ourSsrc,
    sender: {
      ntpSeconds: ntpSecondsFromMs(ourSendMs),
      ntpFraction: ntpFractionFromMs(ourSendMs),
      rtpTimestamp: 1,
      packetCount: 2,
      octetCount: 3,
    },
    reports: [],
    cname: CNAME,
  });
  const [sr] = parseRtcp(buf.subarray(0, n));

  // The peer, on its own clock.
  const peer = new ReceiverStats({ clockRate: 8000, minSequential: 1 });
  peer.onRtp(ourSsrc, 1, 160, 0);
  const peerRecvMs = ourSendMs + oneWayMs + peerClockOffsetMs;
  peer.onSenderReport(sr!.ntpSeconds, sr!.ntpFraction, peerRecvMs);
  const block = peer.fillReportBlock(createRtcpReportBlock(), peerRecvMs + holdMs);
  const rr = new Uint8Array(rtcpReportSize(false, 1, CNAME.length));
  writeRtcpReport(rr, 0, { ssrc: 0xbeef, sender: null, reports: [block], cname: CNAME });

  const [parsed] = parseRtcp(rr);
  return { block: parsed!.reports[0]!, arrivalMs: ourSendMs + oneWayMs + holdMs + oneWayMs };
}

describe('RTT from RTCP (RFC 3550 §6.4.1: A − LSR − DLSR)', () => {
  const T0 = Date.UTC(2025, 0, 15, 9, 30, 0, 123);

  it('recovers a 80 ms round trip across a 250 ms hold, whatever the peer clock says', () => {
    for (const offset of [0, 123_456.789, -3_600_000]) {
      const { block, arrivalMs } = exchange(T0, 40, 250, offset);
      expect(block.lsr).toBe(ntpMiddle32FromMs(T0));
      expect(block.dlsr).toBe(msToCompactNtp(250));
      const rtt = roundTripMsFromBlock(block, arrivalMs);
      // Compact NTP resolves 1/65536 s ≈ 0.015 ms; LSR truncates the fraction, A and DLSR round.
      expect(rtt).not.toBeNull();
      expect(Math.abs(rtt! - 80)).toBeLessThan(0.05);
    }
  });

  it('works across the 16-bit seconds wrap of the middle 32 bits', () => {
    // Send just before NTP seconds ≡ 0 (mod 65536): LSR near 0xffff_xxxx, A past the wrap.
    const sec = ntpSecondsFromMs(T0);
    const wrapMs = T0 + ((65536 - (sec & 0xffff)) * 1000 - (T0 % 1000)) - 100;
    const { block, arrivalMs } = exchange(wrapMs, 15, 170, 0);
    expect(block.lsr >>> 16).toBe(0xffff);
    expect(ntpMiddle32FromMs(arrivalMs) >>> 16).toBe(0);
    expect(roundTripMsFromBlock(block, arrivalMs)).toBeCloseTo(30, 1);
  });

  it('gives no RTT before the peer has had an SR, or for a stale or impossible echo', () => {
    expect(roundTripMs(123456, 0, 0)).toBeNull(); // LSR 0: no SR yet
    expect(roundTripMs(1000, 2000, 0)).toBeNull(); // negative
    expect(roundTripMs(65536 * 20, 1, 0)).toBeNull(); // ~20 s: past the plausible bound
    expect(roundTripMs(65536 * 20, 1, 0, 60_000)).toBeCloseTo(20_000, 0);
    expect(roundTripMs(65536 + 6554, 65536, 0)).toBeCloseTo(100, 0);
  });

  it('keeps last/min/max/mean over report blocks', () => {
    const s = new RoundTripStats();
    expect(s.lastMs).toBeNull();
    for (const [i, rtt] of [60, 100, 80].entries()) {
      const { block, arrivalMs } = exchange(T0 + i * 5000, rtt / 2, 100, 0);
      s.onReportBlock(block, arrivalMs);
    }
    expect(s.onReportBlock({ ...createRtcpReportBlock(), lsr: 0 }, T0)).toBeNull();
    expect(s.count).toBe(3);
    expect(s.lastMs!).toBeCloseTo(80, 1);
    expect(s.minMs!).toBeCloseTo(60, 1);
    expect(s.maxMs!).toBeCloseTo(100, 1);
    expect(s.meanMs!).toBeCloseTo(80, 1);
  });
});
