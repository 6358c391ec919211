import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  compactNtpToMs,
  createRtcpPacket,
  createRtcpReportBlock,
  isRtcp,
  isRtcpErrorCode,
  msToCompactNtp,
  NTP_UNIX_OFFSET_S,
  ntpFractionFromMs,
  ntpMiddle32,
  ntpMiddle32FromMs,
  ntpSecondsFromMs,
  ntpToUnixMs,
  parseRtcp,
  readRtcpReportBlock,
  rtcpBody,
  rtcpByeSize,
  rtcpReportSize,
  RTCP_BYE,
  RTCP_RR,
  RTCP_SDES,
  RTCP_SR,
  rtpSize,
  tryParseRtcpPacket,
  tryValidateRtcp,
  writeRtcpBye,
  writeRtcpReport,
  writeRtp,
  type RtcpReportBlock,
  type RtcpReportFields,
} from '../../../codecs/src/index.js';

const CNAME = new TextEncoder().encode('gw@10.0.0.1');

const BLOCK_A: RtcpReportBlock = {
  ssrc: 0xdeadbeef,
  fractionLost: 13,
  cumulativeLost: 1234,
  extendedHighestSeq: 0x0001_0005,
  jitter: 87,
  lsr: 0x12345678,
  dlsr: 0x00018000,
};
const BLOCK_B: RtcpReportBlock = {
  ...BLOCK_A,
  ssrc: 0x01020304,
  fractionLost: 255,
  cumulativeLost: -3,
  jitter: 0xffffffff,
  lsr: 0,
  dlsr: 0,
};

function rtpPacket(payloadType: number, marker: boolean): Uint8Array {
  const h = { marker, payloadType, sequenceNumber: 0xc8c9, timestamp: 160, ssrc: 0x11223344 };
  const dst = new Uint8Array(rtpSize(h, 4));
  writeRtp(dst, 0, h, new Uint8Array(4));
  return dst;
}

describe('RTP/RTCP demultiplexing (RFC 5761 §4)', () => {
  for (const pt of [0, 8, 96, 101]) {
    for (const marker of [false, true]) {
      it(`sends RTP PT ${pt}${marker ? ' with the marker bit' : ''} to RTP`, () => {
        expect(isRtcp(rtpPacket(pt, marker))).toBe(false);
      });
    }
  }

  it('sends SR (200) and RR (201) compounds from writeRtcpReport to RTCP', () => {
    const buf = new Uint8Array(200);
    const sr = writeRtcpReport(buf, 0, {
      ssrc: 1,
      sender: { ntpSeconds: 1, ntpFraction: 2, rtpTimestamp: 3, packetCount: 4, octetCount: 5 },
      reports: [],
      cname: CNAME,
    });
    expect(buf[1]).toBe(200);
    expect(isRtcp(buf.subarray(0, sr))).toBe(true);
    const rr = writeRtcpReport(buf, 0, { ssrc: 1, sender: null, reports: [BLOCK_A], cname: CNAME });
    expect(buf[1]).toBe(201);
    expect(isRtcp(buf.subarray(0, rr))).toBe(true);
  });

  it('takes the whole 192–223 range and nothing outside it', () => {
    for (let b1 = 0; b1 < 256; b1++) expect(isRtcp(Uint8Array.from([0x80, b1, 0, 1]))).toBe(b1 >= 192 && b1 <= 223);
  });

  it('refuses non-version-2 packets (STUN, DTLS) and buffers too short to tell', () => {
    expect(isRtcp(Uint8Array.from([0x00, 0x01, 0x00, 0x00]))).toBe(false); // STUN binding request
    expect(isRtcp(Uint8Array.from([0x16, 0xfe, 0xfd, 0x00]))).toBe(false); // DTLS handshake
    expect(isRtcp(Uint8Array.from([0x40, 0xc9, 0x00, 0x01]))).toBe(false); // version 1
    expect(isRtcp(Uint8Array.from([0x80]))).toBe(false);
    expect(isRtcp(new Uint8Array(0))).toBe(false);
  });
});

describe('RTCP build and parse (RFC 3550 §6.4, §6.5, §6.6)', () => {
  it('writes an SR + SDES CNAME byte for byte as §6.4.1 and §6.5.1 lay them out', () => {
    const f: RtcpReportFields = {
      ssrc: 0xcafebabe,
      sender: { ntpSeconds: 0xe8f0a1b2, ntpFraction: 0x80000000, rtpTimestamp: 0x00a0b0c0, packetCount: 50, octetCount: 8000 },
      reports: [BLOCK_A],
      cname: Uint8Array.from([0x61, 0x62, 0x63]), // "abc"
    };
    const buf = new Uint8Array(rtcpReportSize(true, 1, 3));
    expect(writeRtcpReport(buf, 0, f)).toBe(52 + 16);
    // prettier-ignore
    const expected = [
      0x81, 200, 0x00, 12,        // V=2, RC=1, SR, length 12 words (52 bytes)
      0xca, 0xfe, 0xba, 0xbe,     // sender SSRC
      0xe8, 0xf0, 0xa1, 0xb2,     // NTP MSW
      0x80, 0x00, 0x00, 0x00,     // NTP LSW
      0x00, 0xa0, 0xb0, 0xc0,     // RTP timestamp
      0x00, 0x00, 0x00, 50,       // packet count
      0x00, 0x00, 0x1f, 0x40,     // octet count 8000
      0xde, 0xad, 0xbe, 0xef,     // block: SSRC
      13, 0x00, 0x04, 0xd2,       // fraction 13, cumulative 1234
      0x00, 0x01, 0x00, 0x05,     // extended highest seq
      0x00, 0x00, 0x00, 87,       // jitter
      0x12, 0x34, 0x56, 0x78,     // LSR
      0x00, 0x01, 0x80, 0x00,     // DLSR (1.5 s)
      0x81, 202, 0x00, 3,         // V=2, SC=1, SDES, length 3 words (16 bytes)
      0xca, 0xfe, 0xba, 0xbe,     // chunk SSRC
      1, 3, 0x61, 0x62,           // CNAME, 3 bytes, "ab"
      0x63, 0, 0, 0,              // "c", end of items, pad to 32 bits
    ];
    expect([...buf]).toEqual(expected);
  });

  it('round-trips an SR with report blocks and its CNAME', () => {
    const buf = new Uint8Array(300);
    const sender = { ntpSeconds: 3_900_000_000, ntpFraction: 0x12345678, rtpTimestamp: 0xfffffff0, packetCount: 0xffffffff, octetCount: 7 };
    const n = writeRtcpReport(buf, 0, { ssrc: 0x0a0b0c0d, sender, reports: [BLOCK_A, BLOCK_B], cname: CNAME });
    const [sr, sdes, ...rest] = parseRtcp(buf.subarray(0, n));
    expect(rest).toEqual([]);
    expect(sr).toMatchObject({
      packetType: RTCP_SR,
      count: 2,
      ssrc: 0x0a0b0c0d,
      ntpSeconds: sender.ntpSeconds,
      ntpFraction: sender.ntpFraction,
      rtpTimestamp: sender.rtpTimestamp,
      senderPacketCount: sender.packetCount,
      senderOctetCount: sender.octetCount,
    });
    expect(sr!.reports).toEqual([BLOCK_A, BLOCK_B]);
    expect(sdes!.packetType).toBe(RTCP_SDES);
    expect(sdes!.ssrc).toBe(0x0a0b0c0d);
    const body = rtcpBody(buf, sdes!);
    expect(body[4]).toBe(1); // CNAME
    expect(new TextDecoder().decode(body.subarray(6, 6 + body[5]!))).toBe('gw@10.0.0.1');
  });

  it('round-trips an RR with no blocks, and an RR + SDES + BYE with a reason', () => {
    const buf = new Uint8Array(200);
    let n = writeRtcpReport(buf, 0, { ssrc: 7, sender: null, reports: [], cname: CNAME });
    expect(n).toBe(8 + 8 + 16); // RR, SDES header + SSRC, CNAME item (2 + 11 bytes + null, padded)
    n += writeRtcpBye(buf, n, 7, new TextEncoder().encode('call ended'));
    const pkts = parseRtcp(buf.subarray(0, n));
    expect(pkts.map((p) => p.packetType)).toEqual([RTCP_RR, RTCP_SDES, RTCP_BYE]);
    expect(pkts[0]!.reports).toEqual([]);
    expect(pkts[2]!.sources).toEqual([7]);
    expect(pkts[2]!.reason).toBe('call ended');
    expect(pkts[2]!.size).toBe(rtcpByeSize(10));
  });

  it('writes at an offset, only the first reportCount blocks, and saturates cumulative loss to 24 bits', () => {
    const buf = new Uint8Array(10 + rtcpReportSize(false, 1, CNAME.length));
    const big = { ...BLOCK_A, cumulativeLost: 1e9 };
    const n = writeRtcpReport(buf, 10, { ssrc: 1, sender: null, reports: [big, BLOCK_B], reportCount: 1, cname: CNAME });
    expect(n).toBe(buf.length - 10);
    const [rr] = parseRtcp(buf.subarray(10));
    expect(rr!.reports).toHaveLength(1);
    expect(rr!.reports[0]!.cumulativeLost).toBe(0x7fffff);
    writeRtcpReport(buf, 10, { ssrc: 1, sender: null, reports: [{ ...BLOCK_A, cumulativeLost: -1e9 }], cname: CNAME });
    expect(parseRtcp(buf.subarray(10))[0]!.reports[0]!.cumulativeLost).toBe(-0x800000);
  });

  it('refuses a buffer that is too small with a typed error, and bad arguments with RangeError', () => {
    const f: RtcpReportFields = { ssrc: 1, sender: null, reports: [BLOCK_A], cname: CNAME };
    const size = rtcpReportSize(false, 1, CNAME.length);
    try {
      writeRtcpReport(new Uint8Array(size - 1), 0, f);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).code).toBe('RTCP_BUFFER_TOO_SMALL');
    }
    expect(() => writeRtcpBye(new Uint8Array(7), 0, 1)).toThrow(CodecError);
    expect(() => writeRtcpReport(new Uint8Array(2000), 0, { ...f, reports: Array<RtcpReportBlock>(32).fill(BLOCK_A) })).toThrow(RangeError);
    expect(() => writeRtcpReport(new Uint8Array(2000), 0, { ...f, cname: new Uint8Array(0) })).toThrow(RangeError);
    expect(() => writeRtcpReport(new Uint8Array(2000), 0, { ...f, cname: new Uint8Array(256) })).toThrow(RangeError);
  });

  it('parses a compound into one reused view and block without allocating per packet', () => {
    const buf = new Uint8Array(400);
    const n = writeRtcpReport(buf, 0, { ssrc: 9, sender: null, reports: [BLOCK_A, BLOCK_B], cname: CNAME });
    const compound = buf.subarray(0, n);
    expect(tryValidateRtcp(compound)).toBeNull();
    const pkt = createRtcpPacket();
    const blk = createRtcpReportBlock();
    const seen: number[] = [];
    for (let off = 0; off < compound.length; off += pkt.size) {
      expect(tryParseRtcpPacket(compound, off, pkt)).toBeNull();
      seen.push(pkt.packetType);
      if (pkt.packetType === RTCP_RR) {
        expect(readRtcpReportBlock(compound, pkt, 1, blk)).toEqual(BLOCK_B);
        expect(() => readRtcpReportBlock(compound, pkt, 2, blk)).toThrow(RangeError);
      }
    }
    expect(seen).toEqual([RTCP_RR, RTCP_SDES]);
  });

  it('skips other packet types by their length, and takes padding on the last packet', () => {
    const buf = new Uint8Array(200);
    let n = writeRtcpReport(buf, 0, { ssrc: 5, sender: null, reports: [], cname: CNAME });
    // APP (204), subtype 3, SSRC, name "TEST", 4 bytes of data, then 4 bytes of padding.
    buf.set([0xa3, 204, 0x00, 4, 0, 0, 0, 5, 0x54, 0x45, 0x53, 0x54, 1, 2, 3, 4, 0, 0, 0, 4], n);
    n += 20;
    const pkts = parseRtcp(buf.subarray(0, n));
    expect(pkts.map((p) => p.packetType)).toEqual([RTCP_RR, RTCP_SDES, 204]);
    expect(pkts[2]).toMatchObject({ count: 3, padding: true, ssrc: 5, bodyLength: 12, size: 20 });
  });

  it('accepts a compound that does not start with SR/RR only in RFC 5506 reduced-size mode', () => {
    // A lone RTPFB generic NACK (RFC 4585 §6.2.1): sender SSRC, media SSRC, PID/BLP.
    const nack = Uint8Array.from([0x81, 205, 0x00, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0x12, 0x34, 0x00, 0x00]);
    expect(tryValidateRtcp(nack)).toBe('RTCP_BAD_FIRST_PACKET');
    expect(tryValidateRtcp(nack, { reducedSize: true })).toBeNull();
    expect(parseRtcp(nack, { reducedSize: true })[0]).toMatchObject({ packetType: 205, count: 1, ssrc: 1 });
  });

  // Malformed compounds, each refused by one §A.2 check with a stable code.
  const RR0 = [0x80, 201, 0x00, 1, 0, 0, 0, 1]; // RR, RC=0, sender SSRC 1
  const malformed: [string, number[], string][] = [
    ['empty', [], 'RTCP_TRUNCATED'],
    ['shorter than a header', [0x80, 201, 0], 'RTCP_TRUNCATED'],
    ['a length past the end', [0x80, 201, 0x00, 2, 0, 0, 0, 1], 'RTCP_TRUNCATED'],
    ['trailing bytes after the last packet', [...RR0, 0x80, 202], 'RTCP_TRUNCATED'],
    ['lengths that do not add up to the datagram', [...RR0, 0, 0, 0, 0], 'RTCP_BAD_VERSION'],
    ['version 1', [0x40, 201, 0x00, 1, 0, 0, 0, 1], 'RTCP_BAD_VERSION'],
    ['version 3 in the second packet', [...RR0, 0xc0, 202, 0, 0], 'RTCP_BAD_VERSION'],
    ['SDES first', [0x80, 202, 0x00, 0], 'RTCP_BAD_FIRST_PACKET'],
    ['BYE first', [0x81, 203, 0x00, 1, 0, 0, 0, 1], 'RTCP_BAD_FIRST_PACKET'],
    ['padding on the first of two packets', [0xa0, 201, 0x00, 1, 0, 0, 0, 1, 0x80, 202, 0, 0], 'RTCP_BAD_PADDING'],
    ['a padding count of 0', [0xa0, 201, 0x00, 2, 0, 0, 0, 1, 0, 0, 0, 0], 'RTCP_BAD_PADDING'],
    ['a padding count past the body', [0xa0, 201, 0x00, 2, 0, 0, 0, 1, 0, 0, 0, 9], 'RTCP_BAD_PADDING'],
    ['RR whose RC needs more blocks than its length', [0x81, 201, 0x00, 1, 0, 0, 0, 1], 'RTCP_BAD_LENGTH'],
    ['SR shorter than its sender info', [0x80, 200, 0x00, 1, 0, 0, 0, 1], 'RTCP_BAD_LENGTH'],
    ['RR whose padding eats its SSRC', [0xa0, 201, 0x00, 1, 0, 0, 0, 4], 'RTCP_BAD_LENGTH'],
    ['BYE with more sources than words', [...RR0, 0x83, 203, 0x00, 1, 0, 0, 0, 1], 'RTCP_BAD_LENGTH'],
    ['BYE reason past the end', [...RR0, 0x81, 203, 0x00, 2, 0, 0, 0, 1, 9, 0x61, 0x62, 0x63], 'RTCP_BAD_LENGTH'],
  ];
  for (const [why, bytes, code] of malformed) {
    it(`rejects a compound with ${why} as ${code}`, () => {
      const buf = Uint8Array.from(bytes);
      expect(tryValidateRtcp(buf)).toBe(code);
      try {
        parseRtcp(buf);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        expect((err as CodecError).code).toBe(code);
        expect(isRtcpErrorCode((err as CodecError).code)).toBe(true);
      }
    });
  }
});

function expectOnlyTypedErrors(buf: Uint8Array, options?: { reducedSize: boolean }): void {
  try {
    const pkts = parseRtcp(buf, options);
    // Accepted: the packets tile the buffer exactly and every view stays inside it.
    let off = 0;
    for (const p of pkts) {
      expect(p.offset).toBe(off);
      expect(p.bodyOffset + p.bodyLength).toBeLessThanOrEqual(p.offset + p.size);
      for (const r of p.reports) expect(r.cumulativeLost).toBeGreaterThanOrEqual(-0x800000);
      off += p.size;
    }
    expect(off).toBe(buf.length);
  } catch (err) {
    if (!(err instanceof CodecError) || !isRtcpErrorCode(err.code)) throw err;
  }
}

describe('RTCP parser under fuzzing', () => {
  it('never throws anything but CodecError with an RTCP code on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, reducedSize) => expectOnlyTypedErrors(bytes, { reducedSize })),
      { numRuns: 5000 },
    );
  });

  it('never throws anything but the typed error on mutations of valid compounds, which mostly still parse', () => {
    const arbBlock = fc.record({
      ssrc: fc.nat({ max: 0xffffffff }),
      fractionLost: fc.nat({ max: 255 }),
      cumulativeLost: fc.integer({ min: -0x800000, max: 0x7fffff }),
      extendedHighestSeq: fc.nat({ max: 0xffffffff }),
      jitter: fc.nat({ max: 0xffffffff }),
      lsr: fc.nat({ max: 0xffffffff }),
      dlsr: fc.nat({ max: 0xffffffff }),
    });
    const arbSender = fc.option(
      fc.record({
        ntpSeconds: fc.nat({ max: 0xffffffff }),
        ntpFraction: fc.nat({ max: 0xffffffff }),
        rtpTimestamp: fc.nat({ max: 0xffffffff }),
        packetCount: fc.nat({ max: 0xffffffff }),
        octetCount: fc.nat({ max: 0xffffffff }),
      }),
      { nil: null },
    );
    fc.assert(
      fc.property(
        fc.nat({ max: 0xffffffff }),
        arbSender,
        fc.array(arbBlock, { maxLength: 31 }),
        fc.uint8Array({ minLength: 1, maxLength: 255 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { maxLength: 4 }),
        (ssrc, sender, reports, cname, flips) => {
          const buf = new Uint8Array(rtcpReportSize(sender !== null, reports.length, cname.length));
          writeRtcpReport(buf, 0, { ssrc, sender, reports, cname });
          const [first] = parseRtcp(buf);
          expect(first!.reports).toEqual(reports);
          expect(first!.ssrc).toBe(ssrc);
          if (sender !== null) expect(first!.ntpFraction).toBe(sender.ntpFraction);
          for (const [at, v] of flips) buf[at % buf.length] = v;
          expectOnlyTypedErrors(buf);
          expectOnlyTypedErrors(buf.subarray(0, Math.max(0, buf.length - 1 - (flips[0]?.[1] ?? 0))));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('NTP time (RFC 3550 §4)', () => {
  it('maps the Unix epoch and half seconds exactly', () => {
    expect(NTP_UNIX_OFFSET_S).toBe(2_208_988_800);
    expect(ntpSecondsFromMs(0)).toBe(2_208_988_800);
    expect(ntpFractionFromMs(0)).toBe(0);
    expect(ntpFractionFromMs(1500)).toBe(0x80000000);
    expect(ntpFractionFromMs(250)).toBe(0x40000000);
    expect(ntpSecondsFromMs(1500)).toBe(2_208_988_801);
  });

  it('takes the middle 32 bits for LSR: low 16 bits of the seconds, high 16 of the fraction', () => {
    expect(ntpMiddle32(0xaabbccdd, 0x11223344)).toBe(0xccdd1122);
    // 2024-01-01T00:00:00.5Z
    const ms = Date.UTC(2024, 0, 1) + 500;
    const sec = ntpSecondsFromMs(ms);
    expect(sec).toBe(Date.UTC(2024, 0, 1) / 1000 + 2_208_988_800);
    expect(ntpMiddle32FromMs(ms)).toBe((((sec & 0xffff) << 16) | 0x8000) >>> 0);
  });

  it('wraps into NTP era 1 on 2036-02-07T06:28:16Z and reads it back', () => {
    const eraMs = (2 ** 32 - NTP_UNIX_OFFSET_S) * 1000;
    expect(new Date(eraMs).toISOString()).toBe('2036-02-07T06:28:16.000Z');
    expect(ntpSecondsFromMs(eraMs)).toBe(0);
    expect(ntpToUnixMs(0, 0)).toBe(eraMs);
    expect(ntpToUnixMs(ntpSecondsFromMs(eraMs - 1), ntpFractionFromMs(eraMs - 1))).toBeCloseTo(eraMs - 1, 6);
  });

  it('round-trips ms through NTP to well under a microsecond (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 4_000_000_000_000, noNaN: true }), (ms) => {
        const back = ntpToUnixMs(ntpSecondsFromMs(ms), ntpFractionFromMs(ms));
        expect(Math.abs(back - ms)).toBeLessThan(0.001);
      }),
    );
  });

  it('converts compact NTP (LSR/DLSR units, 1/65536 s) to and from ms', () => {
    expect(compactNtpToMs(65536)).toBe(1000);
    expect(msToCompactNtp(1000)).toBe(65536);
    expect(msToCompactNtp(1500)).toBe(0x18000);
    expect(msToCompactNtp(-5)).toBe(0);
    expect(msToCompactNtp(1e12)).toBe(0xffffffff);
    expect(compactNtpToMs(msToCompactNtp(123.456))).toBeCloseTo(123.456, 1);
  });
});
