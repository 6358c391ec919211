/**
 * G.711 µ-law and A-law, bit-exact with ITU-T G.711 as implemented by the ITU-T G.191
 * Software Tool Library (g711.c): 16-bit linear input, negative values folded by one's
 * complement (the standard's decision intervals are symmetric around −½, not 0).
 *
 * Encode is a 64 KiB table per law, indexed by the 16-bit sample: one load per sample on the
 * hot path. Tables are built once at module load from the segment rules below.
 */

/** µ-law compress one 16-bit sample (G.191 ulaw_compress). */
function ulawCompress(x: number): number {
  // 14-bit magnitude plus the bias of 33 (G.711 Table 2a), clipped to 13 bits.
  let absno = (x < 0 ? ~x >> 2 : x >> 2) + 33;
  if (absno > 0x1fff) absno = 0x1fff;
  let i = absno >> 6;
  let segno = 1;
  while (i !== 0) {
    segno++;
    i >>= 1;
  }
  const highNibble = 0x8 - segno;
  const lowNibble = 0xf - ((absno >> segno) & 0xf);
  let out = (highNibble << 4) | lowNibble;
  if (x >= 0) out |= 0x80;
  return out;
}

/** A-law compress one 16-bit sample (G.191 alaw_compress). */
function alawCompress(x: number): number {
  let ix = x < 0 ? ~x >> 4 : x >> 4; // 12-bit magnitude
  if (ix > 15) {
    let iexp = 1;
    while (ix > 16 + 15) {
      ix >>= 1;
      iexp++;
    }
    ix -= 16;
    ix += iexp << 4;
  }
  if (x >= 0) ix |= 0x80;
  return ix ^ 0x55; // even-bit inversion (G.711 §2)
}

/** µ-law expand one code to 16-bit linear (G.191 ulaw_expand). */
function ulawExpand(code: number): number {
  const sign = code < 0x80 ? -1 : 1;
  const m = ~code & 0xff;
  const exponent = (m >> 4) & 7;
  const mantissa = m & 0xf;
  const step = 4 << (exponent + 1);
  return sign * ((0x80 << exponent) + step * mantissa + step / 2 - 4 * 33);
}

/** A-law expand one code to 16-bit linear (G.191 alaw_expand). */
function alawExpand(code: number): number {
  const ix = (code ^ 0x55) & 0x7f;
  const iexp = ix >> 4;
  let mant = ix & 0xf;
  if (iexp > 0) mant += 16;
  mant = (mant << 4) + 0x8;
  if (iexp > 1) mant <<= iexp - 1;
  return code > 127 ? mant : -mant;
}

function buildTables(compress: (x: number) => number, expand: (c: number) => number): [Uint8Array, Int16Array] {
  const enc = new Uint8Array(65536);
  for (let i = 0; i < 65536; i++) enc[i] = compress((i << 16) >> 16);
  const dec = new Int16Array(256);
  for (let c = 0; c < 256; c++) dec[c] = expand(c);
  return [enc, dec];
}

const [ULAW_ENC, ULAW_DEC] = buildTables(ulawCompress, ulawExpand);
const [ALAW_ENC, ALAW_DEC] = buildTables(alawCompress, alawExpand);

/** µ-law code of digital silence (linear 0). */
export const ULAW_SILENCE = 0xff;
/** A-law code of digital silence (linear ≈ +8). */
export const ALAW_SILENCE = 0xd5;

export type G711Law = 'ulaw' | 'alaw';

/** Decodes `src` codes into `dst` (16-bit linear). Returns samples written. */
export function g711DecodeInto(law: G711Law, src: Uint8Array, dst: Int16Array): number {
  const table = law === 'ulaw' ? ULAW_DEC : ALAW_DEC;
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
  return n;
}

/** Encodes 16-bit linear `src` into codes in `dst`. Returns bytes written. */
export function g711EncodeInto(law: G711Law, src: Int16Array, dst: Uint8Array): number {
  const table = law === 'ulaw' ? ULAW_ENC : ALAW_ENC;
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = table[src[i]! & 0xffff]!;
  return n;
}

/** Encodes float samples in the 16-bit range (clamped, rounded) into codes. */
export function g711EncodeFloatInto(law: G711Law, src: Float32Array, dst: Uint8Array): number {
  const table = law === 'ulaw' ? ULAW_ENC : ALAW_ENC;
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) {
    let v = Math.round(src[i]!);
    if (v > 32767) v = 32767;
    else if (v < -32768) v = -32768;
    dst[i] = table[v & 0xffff]!;
  }
  return n;
}

/** Decodes codes straight to float samples in the 16-bit range. */
export function g711DecodeFloatInto(law: G711Law, src: Uint8Array, dst: Float32Array): number {
  const table = law === 'ulaw' ? ULAW_DEC : ALAW_DEC;
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
  return n;
}

export function g711Silence(law: G711Law): number {
  return law === 'ulaw' ? ULAW_SILENCE : ALAW_SILENCE;
}
