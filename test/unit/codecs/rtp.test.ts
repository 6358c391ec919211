import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CodecError,
  createRtpPacket,
  parseRtp,
  rtpCsrc,
  rtpSize,
  SequenceUnwrapper,
  seqAdd,
  seqDiff,
  seqLess,
  tryParseRtp,
  tsAdd,
  tsDiff,
  writeRtp,
  type RtpHeaderFields,
} from '../../../codecs/src/index.js';

// A PCMU packet as Asterisk sends it: V=2, no P/X, CC=0, M=1, PT=0, seq 0x1234, ts 0xdeadbeef.
const PCMU_PACKET = Uint8Array.from([
  0x80,
  0x80,
  0x12,
  0x34, // V=2 | M=1, PT=0 | sequence
  0xde,
  0xad,
  0xbe,
  0xef, // timestamp
  0x01,
  0x02,
  0x03,
  0x04, // SSRC
  0xff,
  0xfe,
  0x7f, // payload (3 µ-law bytes)
]);

describe('RTP parse (RFC 3550 §5.1)', () => {
  it('reads every fixed-header field and views the payload without copying', () => {
    const p = parseRtp(PCMU_PACKET);
    expect(p).toMatchObject({
      marker: true,
      payloadType: 0,
      sequenceNumber: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
      csrcCount: 0,
      extensionProfile: -1,
      padding: false,
    });
    expect([...p.payload]).toEqual([0xff, 0xfe, 0x7f]);
    expect(p.payload.buffer).toBe(PCMU_PACKET.buffer);
    expect(p.payload.byteOffset).toBe(12);
  });

  it('skips CSRCs, the header extension and padding', () => {
    const pkt = Uint8Array.from([
      0xb2,
      0x08,
      0x00,
      0x01, // V=2, P=1, X=1, CC=2 | PT=8
      0x00,
      0x00,
      0x00,
      0xa0, // timestamp 160
      0xca,
      0xfe,
      0xba,
      0xbe, // SSRC
      0x00,
      0x00,
      0x00,
      0x11, // CSRC 1
      0x00,
      0x00,
      0x00,
      0x22, // CSRC 2
      0xbe,
      0xde,
      0x00,
      0x01, // extension profile 0xBEDE, 1 word
      0x10,
      0xaa,
      0x00,
      0x00, // extension data
      0x55,
      0x55, // payload
      0x00,
      0x00,
      0x03, // 3 padding octets, count in the last
    ]);
    const p = parseRtp(pkt);
    expect(p.csrcCount).toBe(2);
    expect(rtpCsrc(pkt, 0)).toBe(0x11);
    expect(rtpCsrc(pkt, 1)).toBe(0x22);
    expect(p.extensionProfile).toBe(0xbede);
    expect([...p.extension]).toEqual([0x10, 0xaa, 0x00, 0x00]);
    expect([...p.payload]).toEqual([0x55, 0x55]);
    expect(p.payloadType).toBe(8);
  });

  const malformed: [string, number[], string][] = [
    ['shorter than 12 bytes', [0x80, 0x00, 0x00], 'RTP_TRUNCATED'],
    ['version 1', [0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], 'RTP_BAD_VERSION'],
    ['version 0 (e.g. STUN)', [0x00, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], 'RTP_BAD_VERSION'],
    ['CSRC count past the end', [0x83, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1], 'RTP_CSRC_OVERRUN'],
    ['extension header missing', [0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe], 'RTP_EXTENSION_OVERRUN'],
    ['extension length past the end', [0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4], 'RTP_EXTENSION_OVERRUN'],
    ['padding count 0', [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 0], 'RTP_BAD_PADDING'],
    ['padding larger than the payload', [0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 9], 'RTP_BAD_PADDING'],
  ];
  for (const [why, bytes, code] of malformed) {
    it(`rejects a packet with ${why} as ${code}`, () => {
      const buf = Uint8Array.from(bytes);
      expect(tryParseRtp(buf, createRtpPacket())).toBe(code);
      try {
        parseRtp(buf);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
        expect((err as CodecError).code).toBe(code);
      }
    });
  }

  it('never throws from tryParseRtp on arbitrary bytes, and any accepted packet is self-consistent', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const p = createRtpPacket();
        const code = tryParseRtp(bytes, p);
        if (code === null) {
          expect(p.payload.byteOffset + p.payload.length).toBeLessThanOrEqual(bytes.byteOffset + bytes.length);
          expect(p.payload.byteOffset).toBeGreaterThanOrEqual(12 + 4 * p.csrcCount);
        }
      }),
      { numRuns: 5000 },
    );
  });
});

const arbHeader: fc.Arbitrary<RtpHeaderFields> = fc.record(
  {
    marker: fc.boolean(),
    payloadType: fc.integer({ min: 0, max: 127 }),
    sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
    timestamp: fc.integer({ min: 0, max: 0xffffffff }),
    ssrc: fc.integer({ min: 0, max: 0xffffffff }),
    csrcs: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 15 }),
    extensionProfile: fc.integer({ min: 0, max: 0xffff }),
    extension: fc.integer({ min: 0, max: 4 }).chain((w) => fc.uint8Array({ minLength: 4 * w, maxLength: 4 * w })),
    padding: fc.integer({ min: 0, max: 255 }),
  },
  { requiredKeys: ['marker', 'payloadType', 'sequenceNumber', 'timestamp', 'ssrc'] },
);

describe('RTP serialize', () => {
  it('round-trips every field through writeRtp → parseRtp (property)', () => {
    fc.assert(
      fc.property(arbHeader, fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 16 }), (h, payload, offset) => {
        const size = rtpSize(h, payload.length);
        const dst = new Uint8Array(offset + size);
        expect(writeRtp(dst, offset, h, payload)).toBe(size);
        const view = dst.subarray(offset);
        const p = parseRtp(view);
        expect(p.marker).toBe(h.marker);
        expect(p.payloadType).toBe(h.payloadType);
        expect(p.sequenceNumber).toBe(h.sequenceNumber);
        expect(p.timestamp).toBe(h.timestamp);
        expect(p.ssrc).toBe(h.ssrc);
        expect(p.csrcCount).toBe(h.csrcs?.length ?? 0);
        for (let i = 0; i < p.csrcCount; i++) expect(rtpCsrc(view, i)).toBe(h.csrcs![i]);
        expect(p.extensionProfile).toBe(h.extension !== undefined ? (h.extensionProfile ?? 0) : -1);
        if (h.extension !== undefined) expect([...p.extension]).toEqual([...h.extension]);
        expect(p.padding).toBe((h.padding ?? 0) > 0);
        expect([...p.payload]).toEqual([...payload]);
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses a buffer that is too small, with a typed error', () => {
    const h = { marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3 };
    expect(() => writeRtp(new Uint8Array(20), 0, h, new Uint8Array(160))).toThrow(CodecError);
  });
});

describe('sequence and timestamp arithmetic (RFC 3550 A.1, RFC 1982)', () => {
  it('treats 65535 → 0 as one step forward', () => {
    expect(seqDiff(65535, 0)).toBe(1);
    expect(seqDiff(0, 65535)).toBe(-1);
    expect(seqLess(65535, 0)).toBe(true);
    expect(seqAdd(65535, 2)).toBe(1);
    expect(tsDiff(0xffffff00, 0x100)).toBe(0x200);
    expect(tsAdd(0xffffffff, 161)).toBe(160);
  });

  it('seqDiff inverts seqAdd for any distance within half the space (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: -32768, max: 32767 }), (s, d) => {
        expect(seqDiff(s, seqAdd(s, d))).toBe(d);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (t, d) => {
        expect(tsDiff(t, tsAdd(t, d))).toBe(d);
      }),
    );
  });

  it('unwraps a sequence across several wraps, tolerating reordering', () => {
    const u = new SequenceUnwrapper();
    const start = 65000;
    let prev = -Infinity;
    for (let i = 0; i < 200_000; i += 7) {
      const ext = u.unwrap((start + i) & 0xffff);
      expect(ext).toBe(start + i);
      expect(ext).toBeGreaterThan(prev);
      prev = ext;
      // a late packet from 3 steps back maps below the current one
      expect(u.unwrap((start + i - 3) & 0xffff)).toBe(start + i - 3);
    }
  });
});
