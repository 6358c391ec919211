import opus from '@discordjs/opus';
import { CodecError } from './errors.js';

/**
 * Opus (RFC 6716) over RTP (RFC 7587: clock rate always 48 kHz), mono, 20 ms frames,
 * through @discordjs/opus (libopus, native).
 *
 * Loss concealment: @discordjs/opus exposes neither `decode_fec` nor a PLC frame size; a
 * lost-packet decode (empty input) always runs libopus PLC for its 120 ms maximum. We keep that
 * output and hand it out 20 ms at a time for consecutive losses, so PLC is libopus' own and
 * continuous; FEC (LBRR in the next packet) cannot be reached through this binding.
 */
export const OPUS_RATE = 48000;
/** samples per 20 ms at 48 kHz */
export const OPUS_FRAME = 960;
/** encoder look-ahead (2.5 ms) + SILK delay compensation (4 ms), libopus opus_encoder.c */
export const OPUS_ENCODER_DELAY_MS = 6.5;
/** RFC 7587 §4.1 */
export const OPUS_CLOCK_RATE = 48000;

const PLC_RUN = 6 * OPUS_FRAME; // what one empty decode returns (MAX_FRAME_SIZE in the binding)

export class OpusDecoder {
  readonly #dec = new opus.OpusEncoder(OPUS_RATE, 1);
  #plc: Int16Array | null = null;
  #plcPos = 0;
  #closed = false;

  /** Decodes one packet into `out` (Int16, 48 kHz). Returns samples written. */
  decode(packet: Uint8Array, out: Int16Array): number {
    if (this.#closed) throw new CodecError('CLOSED', 'opus decoder is closed');
    let pcm: Buffer;
    try {
      pcm = this.#dec.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
    } catch (cause) {
      throw new CodecError('CODEC_BAD_FRAME', 'opus packet does not decode', { cause });
    }
    this.#plc = null;
    const n = Math.min(pcm.length >> 1, out.length);
    for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(i * 2);
    return n;
  }

  /** Conceals one lost 20 ms frame with libopus PLC into `out`. Returns samples written. */
  conceal(out: Int16Array): number {
    if (this.#closed) throw new CodecError('CLOSED', 'opus decoder is closed');
    const n = Math.min(OPUS_FRAME, out.length);
    if (this.#plc === null || this.#plcPos + n > this.#plc.length) {
      const pcm = this.#dec.decode(Buffer.alloc(0));
      this.#plc = new Int16Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + (Math.min(pcm.length, PLC_RUN * 2) & ~1)));
      this.#plcPos = 0;
    }
    out.set(this.#plc.subarray(this.#plcPos, this.#plcPos + n));
    this.#plcPos += n;
    return n;
  }

  close(): void {
    this.#closed = true;
    this.#plc = null;
  }
}

export interface OpusEncoderOptions {
  /** bits/s; 32 kbit/s is transparent for wideband speech */
  bitrate?: number;
  /** in-band FEC for the receiver (costs bitrate) */
  fec?: boolean;
  /** expected loss percentage, tunes FEC */
  lossPercent?: number;
  /** 0..10; libopus defaults to 10, which costs ~2.5× complexity 5 for little gain on speech */
  complexity?: number;
  /**
   * Discontinuous transmission (RFC 7587 §3.1.3 `usedtx`), with the signal taken as voice (libopus
   * keeps DTX to its SILK layer): after 200 ms of silence the packets are 1–2 bytes, which a
   * sender does not transmit, but for one in 21 (420 ms at 20 ms frames) that updates the far end's
   * comfort noise.
   */
  dtx?: boolean;
}

// libopus CTL request numbers (opus_defines.h)
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_INBAND_FEC = 4012;
const OPUS_SET_PACKET_LOSS_PERC = 4014;
const OPUS_SET_DTX = 4016;
const OPUS_SET_SIGNAL = 4024;
const OPUS_SIGNAL_VOICE = 3001;

export class OpusEncoder {
  readonly #enc = new opus.OpusEncoder(OPUS_RATE, 1);
  #closed = false;

  constructor(opts: OpusEncoderOptions = {}) {
    this.#enc.setBitrate(opts.bitrate ?? 32000);
    this.#enc.applyEncoderCTL(OPUS_SET_COMPLEXITY, opts.complexity ?? 5);
    if (opts.fec === true) {
      this.#enc.applyEncoderCTL(OPUS_SET_INBAND_FEC, 1);
      this.#enc.applyEncoderCTL(OPUS_SET_PACKET_LOSS_PERC, opts.lossPercent ?? 5);
    }
    if (opts.dtx === true) {
      this.#enc.applyEncoderCTL(OPUS_SET_SIGNAL, OPUS_SIGNAL_VOICE);
      this.#enc.applyEncoderCTL(OPUS_SET_DTX, 1);
    }
  }

  /** Encodes exactly one 20 ms frame (960 samples at 48 kHz). Returns the packet (new Buffer: the binding allocates). */
  encode(pcm: Int16Array): Buffer {
    if (this.#closed) throw new CodecError('CLOSED', 'opus encoder is closed');
    if (pcm.length !== OPUS_FRAME) throw new CodecError('CODEC_BAD_FRAME', `opus frame must be ${OPUS_FRAME} samples [got:${pcm.length}]`);
    return this.#enc.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
  }

  close(): void {
    this.#closed = true;
  }
}
