import { fail, type Parsed } from './wire.js';

/**
 * Asterisk AudioSocket, both directions: a TCP TLV protocol, each frame
 * type (1 B) | payload length (2 B, big-endian) | payload.
 * https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/
 */

export const AUDIOSOCKET_HANGUP = 0x00;
export const AUDIOSOCKET_UUID = 0x01;
export const AUDIOSOCKET_DTMF = 0x03;
export const AUDIOSOCKET_SLIN = 0x10; // 8 kHz; 0x11-0x18 are the higher rates below
export const AUDIOSOCKET_ERROR = 0xff;

/** slin (16-bit LE mono) audio type codes and their rates. */
const SLIN_RATES: ReadonlyMap<number, number> = new Map([
  [0x10, 8000],
  [0x11, 12000],
  [0x12, 16000],
  [0x13, 24000],
  [0x14, 32000],
  [0x15, 44100],
  [0x16, 48000],
  [0x17, 96000],
  [0x18, 192000],
]);

export type AudioSocketFrame =
  | { readonly kind: 'hangup' }
  /** first frame from Asterisk: the call's UUID, as 16 raw bytes on the wire */
  | { readonly kind: 'uuid'; readonly uuid: string }
  | { readonly kind: 'dtmf'; readonly digit: string }
  /** slin audio, a view into the reader's buffer (copy it to keep it) */
  | { readonly kind: 'audio'; readonly rate: number; readonly pcm: Uint8Array }
  /** Asterisk's error bits: 0x01 caller hung up, 0x02 frame forwarding error, 0x04 memory error */
  | { readonly kind: 'error'; readonly code: number };

/**
 * Largest payload accepted: 20 ms at 192 kHz is 7 680 B; anything above 8 KiB is not a frame we
 * should buffer (the format allows 65 535).
 */
export const AUDIOSOCKET_MAX_PAYLOAD = 8192;

/**
 * Reassembles AudioSocket frames from TCP reads. After a protocol error the stream cannot be
 * resynchronized: every later `push` returns the same error and the connection should close.
 */
export class AudioSocketReader {
  #buf: Uint8Array = new Uint8Array(0);
  #error: Parsed<never> | null = null;
  readonly #maxPayload: number;

  constructor(maxPayload = AUDIOSOCKET_MAX_PAYLOAD) {
    this.#maxPayload = maxPayload;
  }

  push(chunk: Uint8Array): Parsed<AudioSocketFrame[]> {
    if (this.#error) return this.#error;
    const buf: Uint8Array = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const frames: AudioSocketFrame[] = [];
    let at = 0;
    while (buf.length - at >= 3) {
      const type = buf[at]!;
      const len = (buf[at + 1]! << 8) | buf[at + 2]!;
      if (len > this.#maxPayload) return this.#poison(fail(`AudioSocket frame of ${len} B exceeds ${this.#maxPayload}`, 'FRAME_TOO_LARGE'));
      if (buf.length - at - 3 < len) break;
      const payload = buf.subarray(at + 3, at + 3 + len);
      at += 3 + len;
      const frame = decodeFrame(type, payload);
      if (!frame.ok) return this.#poison(frame);
      frames.push(frame.msg);
    }
    // keep only the unconsumed tail (copied, so the caller's chunk can be reused)
    this.#buf = buf.slice(at);
    return { ok: true, msg: frames };
  }

  #poison(e: Parsed<never>): Parsed<never> {
    this.#error = e;
    this.#buf = new Uint8Array(0);
    return e;
  }
}

function decodeFrame(type: number, p: Uint8Array): Parsed<AudioSocketFrame> {
  const rate = SLIN_RATES.get(type);
  if (rate !== undefined) {
    if (p.length % 2 !== 0) return fail(`AudioSocket slin frame of odd length ${p.length}`);
    return { ok: true, msg: { kind: 'audio', rate, pcm: p } };
  }
  switch (type) {
    case AUDIOSOCKET_HANGUP:
      return { ok: true, msg: { kind: 'hangup' } };
    case AUDIOSOCKET_UUID: {
      if (p.length !== 16) return fail(`AudioSocket UUID frame of ${p.length} B, not 16`);
      const h = Buffer.from(p).toString('hex');
      return {
        ok: true,
        msg: { kind: 'uuid', uuid: `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}` },
      };
    }
    case AUDIOSOCKET_DTMF: {
      const digit = p.length === 1 ? String.fromCharCode(p[0]!) : '';
      if (!/^[0-9*#A-D]$/.test(digit)) return fail('AudioSocket DTMF frame must carry one ASCII digit');
      return { ok: true, msg: { kind: 'dtmf', digit } };
    }
    case AUDIOSOCKET_ERROR:
      return { ok: true, msg: { kind: 'error', code: p[0] ?? 0 } };
    default:
      return fail(`unknown AudioSocket frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

/** One frame on the wire. Throws RangeError for a payload over 65 535 B. */
export function encodeAudioSocketFrame(type: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > 0xffff) throw new RangeError('AudioSocket payload exceeds 65535 B');
  const out = new Uint8Array(3 + payload.length);
  out[0] = type;
  out[1] = payload.length >> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, 3);
  return out;
}

/** slin16 LE audio at `rate` (8000 unless the channel was dialled with a higher slin). */
export function encodeAudioSocketAudio(pcm: Uint8Array, rate = 8000): Uint8Array {
  const type = [...SLIN_RATES].find(([, r]) => r === rate)?.[0];
  if (type === undefined) throw new RangeError(`AudioSocket has no slin type for ${rate} Hz`);
  return encodeAudioSocketFrame(type, pcm);
}

export function encodeAudioSocketUuid(uuid: string): Uint8Array {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError('not a UUID');
  return encodeAudioSocketFrame(AUDIOSOCKET_UUID, Buffer.from(hex, 'hex'));
}

export function encodeAudioSocketHangup(): Uint8Array {
  return encodeAudioSocketFrame(AUDIOSOCKET_HANGUP);
}
