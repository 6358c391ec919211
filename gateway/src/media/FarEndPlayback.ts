import { createDecoder, type EdgeCodecName, type FrameDecoder } from './edgeCodecs.js';

/**
 * What the far end plays of the frames a call sends: the echo cancellers' reference.
 *
 * For most codecs the frame itself: linear PCM exactly, G.711 within its quantisation (about 38 dB
 * under the signal). Opus is a perceptual codec: it keeps the spectrum, not the waveform, and at
 * 32 kbit/s the decoded agent speech stands only about 15 dB over its difference from the frame
 * encoded, 6.5 ms later (the encoder's delay). The line's echo is of the decoded audio, so a
 * canceller whose reference is the frame encoded cannot model it better than that. Here each Opus
 * packet sent is decoded by a libopus decoder of our own, as the far end's decodes it; a peer that
 * decodes at another rate, or conceals a loss, plays something close to it, not the same samples.
 */
export class FarEndPlayback {
  readonly #dec: FrameDecoder | null;
  readonly #out: Int16Array;
  /** what the far end plays of a frame it never got (refused by the edge, or held back) */
  readonly #silence: Int16Array;

  constructor(codec: EdgeCodecName, frameSamples: number) {
    this.#dec = codec === 'opus' ? createDecoder(codec) : null;
    this.#out = new Int16Array(this.#dec === null ? 0 : frameSamples);
    this.#silence = new Int16Array(frameSamples);
  }

  /**
   * One frame went out (`sent`: the edge took its packet `payload`) or did not. Returns what the
   * far end plays of it (a view, valid until the next frame); the decoder follows every packet sent.
   */
  play(frame: Int16Array, payload: Uint8Array, sent: boolean): Int16Array {
    if (!sent) return this.#silence.subarray(0, frame.length);
    if (this.#dec === null) return frame;
    return this.#out.subarray(0, this.#dec.decode(payload, this.#out));
  }

  close(): void {
    this.#dec?.close();
  }
}
