import {
  CodecError,
  g711DecodeInto,
  g711EncodeInto,
  LossConcealer,
  OPUS_ENCODER_DELAY_MS,
  OPUS_FRAME,
  OpusDecoder,
  OpusEncoder,
  type G711Law,
} from '../../../codecs/src/index.js';

/**
 * Codecs an edge may use, with their RTP parameters (RFC 3551 static types; RFC 7587 for Opus).
 * `slin8` and `slin16` are 16-bit signed linear PCM, little-endian (Asterisk's name): the media of
 * streams that carry raw audio (AudioSocket, L16 media streams); they have no RTP payload type of
 * their own (the edge gives its packets the dynamic one here).
 */
export const EDGE_CODECS = ['PCMU', 'PCMA', 'opus', 'slin8', 'slin16'] as const;
export type EdgeCodecName = (typeof EDGE_CODECS)[number];

export interface EdgeCodecInfo {
  name: EdgeCodecName;
  /** default RTP payload type (static for G.711, conventional 111 for Opus) */
  payloadType: number;
  /** RTP clock rate, Hz */
  clockRate: number;
  /** rate of the decoded PCM, Hz */
  pcmRate: number;
  /** samples per 20 ms at pcmRate */
  frameSamples: number;
  /** RTP timestamp units per 20 ms */
  frameTicks: number;
  /** largest encoded 20 ms payload, bytes */
  maxPayload: number;
}

export const CODEC_INFO: Record<EdgeCodecName, EdgeCodecInfo> = {
  PCMU: { name: 'PCMU', payloadType: 0, clockRate: 8000, pcmRate: 8000, frameSamples: 160, frameTicks: 160, maxPayload: 160 },
  PCMA: { name: 'PCMA', payloadType: 8, clockRate: 8000, pcmRate: 8000, frameSamples: 160, frameTicks: 160, maxPayload: 160 },
  opus: { name: 'opus', payloadType: 111, clockRate: 48000, pcmRate: 48000, frameSamples: OPUS_FRAME, frameTicks: 960, maxPayload: 1276 },
  slin8: { name: 'slin8', payloadType: 118, clockRate: 8000, pcmRate: 8000, frameSamples: 160, frameTicks: 160, maxPayload: 320 },
  slin16: { name: 'slin16', payloadType: 119, clockRate: 16000, pcmRate: 16000, frameSamples: 320, frameTicks: 320, maxPayload: 640 },
};

/** Algorithmic delay of encoding then decoding, ms: the far end plays a frame this much later. */
export const CODEC_DELAY_MS: Record<EdgeCodecName, number> = { PCMU: 0, PCMA: 0, opus: OPUS_ENCODER_DELAY_MS, slin8: 0, slin16: 0 };

/** RFC 4733 telephone-event payload type the gateway offers (dynamic; 101 by convention). */
export const DTMF_PAYLOAD_TYPE = 101;
/**
 * RFC 3389 comfort noise (RFC 3551 static type, 8 kHz), sent between talkspurts by phones that
 * suppress silence. Never offered, but taken: a packet received (its sequence number is no loss,
 * RFC 3550 A.3), ordered, and then nothing is played, as for any silence suppressed.
 */
export const COMFORT_NOISE_PAYLOAD_TYPE = 13;

export function parseCodecName(v: unknown): EdgeCodecName | null {
  if (typeof v !== 'string') return null;
  const up = v.toUpperCase();
  if (up === 'PCMU' || up === 'PCMA') return up;
  if (up === 'OPUS') return 'opus';
  return null;
}

export interface FrameDecoder {
  /** Decodes one payload into `out`; returns samples written. @throws {CodecError} on a bad frame */
  decode(payload: Uint8Array, out: Int16Array): number;
  /** Synthesises one lost 20 ms frame into `out`; returns samples written. */
  conceal(out: Int16Array): number;
  close(): void;
}

export interface FrameEncoder {
  /** Encodes one 20 ms frame into `dst`; returns bytes written. */
  encode(pcm: Int16Array, dst: Uint8Array): number;
  close(): void;
}

class G711Decoder implements FrameDecoder {
  readonly #plc = new LossConcealer(160, 8000);
  constructor(readonly law: G711Law) {}
  decode(payload: Uint8Array, out: Int16Array): number {
    const n = g711DecodeInto(this.law, payload, out);
    // The concealer keeps 20 ms frames of history; other packet sizes skip it.
    if (n === 160) this.#plc.good(out.subarray(0, 160));
    return n;
  }
  conceal(out: Int16Array): number {
    this.#plc.conceal(out);
    return 160;
  }
  close(): void {}
}

class G711Encoder implements FrameEncoder {
  constructor(readonly law: G711Law) {}
  encode(pcm: Int16Array, dst: Uint8Array): number {
    return g711EncodeInto(this.law, pcm, dst);
  }
  close(): void {}
}

class OpusFrameDecoder implements FrameDecoder {
  readonly #dec = new OpusDecoder();
  decode(payload: Uint8Array, out: Int16Array): number {
    return this.#dec.decode(payload, out);
  }
  conceal(out: Int16Array): number {
    return this.#dec.conceal(out);
  }
  close(): void {
    this.#dec.close();
  }
}

class OpusFrameEncoder implements FrameEncoder {
  readonly #enc: OpusEncoder;
  constructor(dtx: boolean) {
    this.#enc = new OpusEncoder({ fec: true, dtx });
  }
  encode(pcm: Int16Array, dst: Uint8Array): number {
    const pkt = this.#enc.encode(pcm);
    if (pkt.length > dst.length) throw new CodecError('CODEC_BAD_FRAME', 'opus packet larger than the RTP buffer');
    dst.set(pkt);
    return pkt.length;
  }
  close(): void {
    this.#enc.close();
  }
}

/** Linear PCM, little-endian: a copy each way, with the G.711 concealer for lost 20 ms frames. */
class SlinDecoder implements FrameDecoder {
  readonly #frame: number;
  readonly #plc: LossConcealer;
  constructor(rate: number) {
    this.#frame = rate / 50;
    this.#plc = new LossConcealer(this.#frame, rate);
  }
  decode(payload: Uint8Array, out: Int16Array): number {
    const n = Math.min(payload.length >> 1, out.length);
    const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    for (let i = 0; i < n; i++) out[i] = dv.getInt16(2 * i, true);
    if (n === this.#frame) this.#plc.good(out.subarray(0, n));
    return n;
  }
  conceal(out: Int16Array): number {
    this.#plc.conceal(out);
    return this.#frame;
  }
  close(): void {}
}

class SlinEncoder implements FrameEncoder {
  encode(pcm: Int16Array, dst: Uint8Array): number {
    const n = Math.min(pcm.length, dst.length >> 1);
    const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
    for (let i = 0; i < n; i++) dv.setInt16(2 * i, pcm[i]!, true);
    return 2 * n;
  }
  close(): void {}
}

export function createDecoder(name: EdgeCodecName): FrameDecoder {
  switch (name) {
    case 'opus':
      return new OpusFrameDecoder();
    case 'slin8':
      return new SlinDecoder(8000);
    case 'slin16':
      return new SlinDecoder(16000);
    default:
      return new G711Decoder(name === 'PCMU' ? 'ulaw' : 'alaw');
  }
}

/** `dtx`: Opus only, its discontinuous transmission (OpusEncoderOptions.dtx; a phone's, in bench:bargein). */
export function createEncoder(name: EdgeCodecName, opts: { dtx?: boolean } = {}): FrameEncoder {
  switch (name) {
    case 'opus':
      return new OpusFrameEncoder(opts.dtx === true);
    case 'slin8':
    case 'slin16':
      return new SlinEncoder();
    default:
      return new G711Encoder(name === 'PCMU' ? 'ulaw' : 'alaw');
  }
}
