import { g711DecodeInto, g711EncodeInto } from '../../../../codecs/src/index.js';

/**
 * Audio payload codecs for JSON dialects: base64 of µ-law or of 16-bit linear PCM (little- or
 * big-endian). Encoders reuse one scratch buffer per session; outputs are fresh strings.
 */
export type PayloadEncoding = 'mulaw' | 'l16le' | 'l16be';

export class PayloadCodec {
  readonly #enc: PayloadEncoding;
  #scratch = new Uint8Array(0);

  constructor(encoding: PayloadEncoding) {
    this.#enc = encoding;
  }

  /** One frame of PCM16 as base64 in this encoding. */
  encode(frame: Int16Array): string {
    const n = this.#enc === 'mulaw' ? frame.length : frame.length * 2;
    if (this.#scratch.length < n) this.#scratch = new Uint8Array(n);
    const out = this.#scratch.subarray(0, n);
    if (this.#enc === 'mulaw') g711EncodeInto('ulaw', frame, out);
    else if (this.#enc === 'l16le') out.set(new Uint8Array(frame.buffer, frame.byteOffset, n));
    else
      for (let i = 0; i < frame.length; i++) {
        out[2 * i] = (frame[i]! >> 8) & 0xff;
        out[2 * i + 1] = frame[i]! & 0xff;
      }
    return Buffer.from(out.buffer, out.byteOffset, n).toString('base64');
  }

  /** Base64 payload → PCM16 LE bytes (what the call's playout takes). */
  decode(b64: string): Uint8Array {
    const raw = Buffer.from(b64, 'base64');
    if (this.#enc === 'mulaw') {
      const pcm = new Int16Array(raw.length);
      g711DecodeInto('ulaw', raw, pcm);
      return new Uint8Array(pcm.buffer);
    }
    if (this.#enc === 'l16be') {
      const out = new Uint8Array(raw.length & ~1);
      for (let i = 0; i + 1 < raw.length; i += 2) {
        out[i] = raw[i + 1]!;
        out[i + 1] = raw[i]!;
      }
      return out;
    }
    return raw;
  }
}
