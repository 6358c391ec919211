import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { g711DecodeInto, g711EncodeInto, type G711Law } from '../../../codecs/src/index.js';

/*
 * Reference computed directly from the standard's segment rules (ITU-T G.711 Tables 1 and 2),
 * independently of the implementation's bit manipulations:
 * - µ-law: 8 segments of 16 intervals; interval widths 2,4,…,256 on a 14-bit scale (×4 → 16-bit);
 *   segment s covers biased magnitudes [32·2^s, 64·2^s) with the bias of 33; decoded value is the
 *   interval midpoint minus the bias. Code = ~(sign | s<<4 | q).
 * - A-law: segment 0 and 1 have width 2 (13-bit scale, ×8 → 16-bit), then doubling; decoded value
 *   is the interval midpoint. Code = (sign | s<<4 | q) ^ 0x55.
 * Negative inputs use the one's-complement magnitude (G.711 quantizes −x−1 like x).
 */
function refUlawIntervals(): { lo: number; code: number; value: number }[] {
  const out = [];
  for (let s = 0; s < 8; s++) {
    for (let q = 0; q < 16; q++) {
      const lo = ((16 + q) << (s + 1)) - 33; // lower edge on the unbiased 14-bit magnitude scale
      const value = ((2 * q + 33) << s) - 33;
      out.push({ lo, code: (s << 4) | q, value });
    }
  }
  return out;
}

function refAlawIntervals(): { lo: number; code: number; value: number }[] {
  const out = [];
  for (let s = 0; s < 8; s++) {
    for (let q = 0; q < 16; q++) {
      const lo = s === 0 ? 2 * q : (16 + q) << s; // 12-bit magnitude scale, ×2 for 13-bit
      const value = s === 0 ? 2 * q + 1 : (2 * q + 33) << (s - 1);
      out.push({ lo: lo / 2, code: (s << 4) | q, value });
    }
  }
  return out;
}

function refEncode(law: G711Law, x: number): number {
  const neg = x < 0;
  const mag16 = neg ? -x - 1 : x;
  if (law === 'ulaw') {
    const m = Math.min(mag16 >> 2, 8158); // 14-bit magnitude, top of the last interval
    const iv = refUlawIntervals();
    let k = 0;
    while (k + 1 < iv.length && iv[k + 1]!.lo <= m) k++;
    return ~((neg ? 0x80 : 0) | iv[k]!.code) & 0xff;
  }
  const m = mag16 >> 4; // 12-bit magnitude
  const iv = refAlawIntervals();
  let k = 0;
  while (k + 1 < iv.length && iv[k + 1]!.lo <= m) k++;
  return ((neg ? 0 : 0x80) | iv[k]!.code) ^ 0x55;
}

function refDecode(law: G711Law, code: number): number {
  if (law === 'ulaw') {
    const c = ~code & 0xff;
    const iv = refUlawIntervals()[c & 0x7f]!;
    const v = 4 * iv.value;
    return c & 0x80 ? 0 - v || 0 : v; // `|| 0`: −0 and +0 are one Int16 value
  }
  const c = code ^ 0x55;
  const v = 8 * refAlawIntervals()[c & 0x7f]!.value;
  return c & 0x80 ? v : -v;
}

for (const law of ['ulaw', 'alaw'] as const) {
  describe(`G.711 ${law}`, () => {
    it('decodes all 256 codes exactly as the segment rules say', () => {
      const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const out = new Int16Array(256);
      expect(g711DecodeInto(law, codes, out)).toBe(256);
      for (let c = 0; c < 256; c++) expect(out[c], `code ${c}`).toBe(refDecode(law, c));
    });

    it('encodes all 65536 linear inputs exactly as the segment rules say', () => {
      const input = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
      const out = new Uint8Array(65536);
      g711EncodeInto(law, input, out);
      // Build the reference with a search per input (the implementation uses a table).
      let mismatches = 0;
      for (let i = 0; i < 65536; i++) if (out[i] !== refEncode(law, input[i]!)) mismatches++;
      expect(mismatches).toBe(0);
    });

    it('is idempotent: encode(decode(c)) === c for every code except µ-law negative zero', () => {
      const codes = Uint8Array.from({ length: 256 }, (_, i) => i);
      const lin = new Int16Array(256);
      g711DecodeInto(law, codes, lin);
      const back = new Uint8Array(256);
      g711EncodeInto(law, lin, back);
      for (let c = 0; c < 256; c++) {
        if (law === 'ulaw' && c === 0x7f)
          expect(back[c]).toBe(0xff); // −0 and +0 both decode to 0
        else expect(back[c], `code ${c}`).toBe(c);
      }
    });

    it('round-trip error stays within half an interval (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: -32768, max: 32767 }), (x) => {
          const code = new Uint8Array(1);
          g711EncodeInto(law, Int16Array.of(x), code);
          const y = new Int16Array(1);
          g711DecodeInto(law, code, y);
          const mag = Math.abs(x);
          // interval width at this magnitude: 2^(segment+1) steps on the 14/13-bit scale
          const step =
            law === 'ulaw'
              ? 8 * Math.max(1, 2 ** Math.floor(Math.log2((mag >> 2) + 33) - 5))
              : 16 * Math.max(1, 2 ** Math.floor(Math.log2(Math.max(mag >> 4, 16)) - 4));
          expect(Math.abs(y[0]! - x)).toBeLessThanOrEqual(step + 8);
        }),
        { numRuns: 5000 },
      );
    });
  });
}
