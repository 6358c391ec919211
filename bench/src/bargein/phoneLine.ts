import { floatToInt16, int16ToFloat, Resampler, type loadResamplerModule } from '../../../codecs/src/index.js';
import {
  CODEC_INFO,
  createDecoder,
  createEncoder,
  type EdgeCodecName,
  type FrameDecoder,
  type FrameEncoder,
} from '../../../gateway/src/media/edgeCodecs.js';
import { RATE } from './signals.js';

type Speex = Awaited<ReturnType<typeof loadResamplerModule>>;

/** 20 ms at the trial's rate (8 kHz: the set's audio and echo paths are narrowband). */
const FRAME = RATE / 50;
/** speex quality of the phone's own converters: its "VoIP" preset, as the gateway's default */
const QUALITY = 3;

/**
 * The phone's side of the edge codec in a trial: what it plays of one 20 ms payload from the
 * gateway, and the payload it sends of 20 ms of its microphone, both at 8 kHz. The phone decodes
 * and resamples to 8 kHz, and resamples and encodes its microphone, with speex and the gateway's
 * codecs (libopus for Opus) as a real peer would; on a G.711 edge the resamplers pass through
 * (the rates are equal), so that is G.711 itself. On a wideband edge (16 kHz linear PCM, Opus at
 * 48 kHz) the gateway's wideband chain (its cancellers, the resamplers, the codec) is what a trial
 * measures, while the echo paths (G.168 Annex D is defined at 8 kHz), the voices and the
 * noises stay those of the narrowband set. The converters' delays (a few ms) add to the echo
 * path's bulk delay, as a real phone's would.
 */
export class PhoneLine {
  readonly #dec: FrameDecoder;
  readonly #enc: FrameEncoder;
  readonly #down: Resampler;
  readonly #up: Resampler;
  readonly #pcm: Int16Array;
  /** decoded audio (edge rate) and what the phone plays of it (8 kHz, samples not yet played kept) */
  readonly #wideIn: Float32Array;
  readonly #heardBuf: Float32Array;
  #heard = 0;
  /** what the phone sends (edge rate, samples not yet sent kept) */
  readonly #spokenBuf: Float32Array;
  #spoken = 0;

  /** `dtx`: an Opus phone's encoder transmits discontinuously (`speak` then gives 1–2 bytes in silence: not to be sent) */
  constructor(codec: EdgeCodecName, speex: Speex, dtx = false) {
    const info = CODEC_INFO[codec];
    this.#dec = createDecoder(codec);
    this.#enc = createEncoder(codec, { dtx });
    this.#down = new Resampler(speex, { inRate: info.pcmRate, outRate: RATE, quality: QUALITY });
    this.#up = new Resampler(speex, { inRate: RATE, outRate: info.pcmRate, quality: QUALITY });
    this.#pcm = new Int16Array(info.frameSamples);
    this.#wideIn = new Float32Array(info.frameSamples);
    this.#heardBuf = new Float32Array(2 * FRAME + 16);
    this.#spokenBuf = new Float32Array(2 * info.frameSamples + 16);
  }

  /** Decodes one payload into 20 ms at 8 kHz (`out`, FRAME samples). */
  hear(payload: Uint8Array, out: Int16Array): void {
    const n = this.#dec.decode(payload, this.#pcm);
    int16ToFloat(this.#pcm.subarray(0, n), this.#wideIn);
    this.#heard += this.#down.process(this.#wideIn.subarray(0, n), this.#heardBuf.subarray(this.#heard));
    this.#heard = take(this.#heardBuf, this.#heard, FRAME, (x) => floatToInt16(x, out));
  }

  /** Encodes 20 ms of the microphone at 8 kHz (FRAME samples, 16-bit scale) into `dst`; returns bytes written. */
  speak(mic: Float32Array, dst: Uint8Array): number {
    this.#spoken += this.#up.process(mic.subarray(0, FRAME), this.#spokenBuf.subarray(this.#spoken));
    let len = 0;
    this.#spoken = take(this.#spokenBuf, this.#spoken, this.#pcm.length, (x) => {
      floatToInt16(x, this.#pcm);
      len = this.#enc.encode(this.#pcm, dst);
    });
    return len;
  }

  close(): void {
    this.#dec.close();
    this.#enc.close();
    this.#down.close();
    this.#up.close();
  }
}

/**
 * Hands the first `n` of `have` buffered samples to `use` (zeros in front while fewer have come:
 * the converter's start) and keeps the rest at the front of `buf`; returns how many are kept.
 */
function take(buf: Float32Array, have: number, n: number, use: (x: Float32Array) => void): number {
  if (have < n) {
    buf.copyWithin(n - have, 0, have);
    buf.fill(0, 0, n - have);
    have = n;
  }
  use(buf.subarray(0, n));
  buf.copyWithin(0, n, have);
  return have - n;
}
