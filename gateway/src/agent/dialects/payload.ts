import { g711DecodeInto, g711EncodeInto } from '../../../../codecs/src/index.js';

/**
 * Audio payload codecs for the dialects: µ-law, A-law or 16-bit linear PCM (little- or
 * big-endian), as base64 for JSON dialects or as raw bytes for binary ones. Encoders reuse one
 * scratch buffer per session; base64 outputs are fresh strings, raw outputs are that scratch.
 */
export type PayloadEncoding = 'mulaw' | 'alaw' | 'l16le' | 'l16be';

export class PayloadCodec {
  readonly #enc: PayloadEncoding;
  #scratch = new Uint8Array(0);

  constructor(encoding: PayloadEncoding) {
    this.#enc = encoding;
  }

  get g711(): boolean {
    return this.#enc === 'mulaw' || this.#enc === 'alaw';
  }

  /** One frame of PCM16 in this encoding, as a view of the scratch buffer (valid until the next call). */
  bytes(frame: Int16Array): Uint8Array {
    const n = this.g711 ? frame.length : frame.length * 2;
    if (this.#scratch.length < n) this.#scratch = new Uint8Array(n);
    const out = this.#scratch.subarray(0, n);
    if (this.g711) g711EncodeInto(this.#enc === 'alaw' ? 'alaw' : 'ulaw', frame, out);
    else if (this.#enc === 'l16le') out.set(new Uint8Array(frame.buffer, frame.byteOffset, n));
    else
      for (let i = 0; i < frame.length; i++) {
        out[2 * i] = (frame[i]! >> 8) & 0xff;
        out[2 * i + 1] = frame[i]! & 0xff;
      }
    return out;
  }

  /** One frame of PCM16 as base64 in this encoding. */
  encode(frame: Int16Array): string {
    const out = this.bytes(frame);
    return Buffer.from(out.buffer, out.byteOffset, out.length).toString('base64');
  }

  /** Base64 payload → PCM16 LE bytes (what the call's playout takes). */
  decode(b64: string): Uint8Array {
    return this.decodeBytes(Buffer.from(b64, 'base64'));
  }

  /** Payload bytes → PCM16 LE bytes; L16 LE passes through as the same view. */
  decodeBytes(raw: Uint8Array): Uint8Array {
    if (this.g711) {
      const pcm = new Int16Array(raw.length);
      g711DecodeInto(this.#enc === 'alaw' ? 'alaw' : 'ulaw', raw, pcm);
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

  /** ms of audio in `bytes` of this encoding at `rate` Hz. */
  ms(bytes: number, rate: number): number {
    return (1000 * (this.g711 ? bytes : bytes / 2)) / rate;
  }
}
