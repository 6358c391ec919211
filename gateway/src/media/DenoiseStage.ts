import { DENOISER_FRAME, Denoiser } from '../../../codecs/src/index.js';
import type { RnnoiseModule } from './InboundDsp.js';

/** 10 ms frames RNNoise runs, its output discarded, before it takes over: its state catches up with the audio. */
export const WARM_UP_FRAMES = 10;
/**
 * Frames after RNNoise (re)starts whose powers are not reported: its noise estimate starts from
 * nothing and gates little for the first ~200 ms (measured on pink and car noise).
 */
const FRESH_FRAMES = 20;

/**
 * The 48 kHz denoise step of an inbound chain: RNNoise, or a bypass that delays the audio by
 * exactly RNNoise's own delay (one 480-sample frame, measured to the sample), so the agent's
 * stream keeps the same timing whichever runs. Switching never makes a gap or repeats audio: it
 * cross-fades (raised cosine, one 10 ms frame) between two outputs that are already aligned.
 * Turning RNNoise on first runs it for WARM_UP_FRAMES with its output discarded (its analysis
 * buffers and recurrent state must have heard the audio before they shape it); turning it off is
 * immediate. While bypassed, RNNoise does not run at all: a call without it does not pay for it.
 *
 * Who wants RNNoise: `want` (the route, or the auto decision) unless `shed` (the DSP fell behind:
 * overload bypasses at once, wherever the audio is). Only the auto decision waits for a pause:
 * `process(…, allowSwitch)`.
 */
export class DenoiseStage {
  readonly #den: Denoiser;
  /** the previous input frame: the bypass output */
  readonly #prev = new Float32Array(DENOISER_FRAME);
  readonly #rnn = new Float32Array(DENOISER_FRAME);
  readonly #vad = new Float32Array(1);
  #running = false;
  #warm = 0;
  /** RNNoise steps in a row */
  #steps = 0;
  /**
   * Mean squares (full scale 1) of the last frame's RNNoise input and output, aligned (the
   * output's matching input is the previous frame); NaN when RNNoise did not run on it or had
   * only just started.
   */
  inPower = NaN;
  outPower = NaN;
  /** does the route or the auto decision want RNNoise */
  want: boolean;
  /** bypass now: the DSP is behind */
  shed = false;

  constructor(mod: RnnoiseModule, want: boolean) {
    this.#den = new Denoiser(mod);
    this.want = want;
    // A chain that starts with RNNoise has nothing before its first frame to cross-fade from.
    this.#running = want;
  }

  /** RNNoise is shaping the output. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * One 10 ms frame (480 samples, 48 kHz) in, one out (a different array). Returns RNNoise's
   * voice probability when it ran on this frame, else −1. `allowSwitch`: a change of `want` may
   * take effect now (the auto decision waits for a pause; shedding does not wait).
   */
  process(input: Float32Array, out: Float32Array, allowSwitch = true): number {
    const target = this.want && !this.shed;
    let vad = -1;
    this.inPower = this.outPower = NaN;
    if (this.#running) {
      vad = this.#step(input);
      // the auto decision's "off" waits for a pause too; shedding does not wait
      if (target || (!this.shed && !allowSwitch)) out.set(this.#rnn);
      else {
        // off: RNNoise's last frame fades into the aligned bypass
        crossfade(this.#rnn, this.#prev, out);
        this.#running = false;
        this.#warm = 0;
      }
    } else if (!target) {
      out.set(this.#prev);
      this.#warm = 0;
      this.#steps = 0;
    } else {
      // on: warm up, then (in a pause, for the auto decision) fade the bypass into RNNoise;
      // while the switch waits, RNNoise keeps stepping so its state stays current
      vad = this.#step(input);
      if (this.#warm < WARM_UP_FRAMES || !allowSwitch) {
        this.#warm++;
        out.set(this.#prev);
      } else {
        crossfade(this.#prev, this.#rnn, out);
        this.#running = true;
      }
    }
    this.#prev.set(input);
    return vad;
  }

  /** RNNoise on one frame into #rnn (and its powers, once it has settled); its voice probability. */
  #step(input: Float32Array): number {
    this.#den.process(input, this.#rnn, this.#vad);
    if (++this.#steps > FRESH_FRAMES) {
      this.inPower = meanSquare(this.#prev);
      this.outPower = meanSquare(this.#rnn);
    }
    return this.#vad[0]!;
  }

  close(): void {
    this.#den.close();
  }
}

/** Mean square of a frame in the 16-bit range, full scale 1. */
function meanSquare(x: Float32Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  return e / x.length / (32768 * 32768);
}

/** Raised-cosine gains over one frame, 0 → 1. */
const FADE_IN = Float32Array.from({ length: DENOISER_FRAME }, (_, i) => 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / DENOISER_FRAME));

/** out = from · (1 − w) + to · w; out may alias neither input. */
function crossfade(from: Float32Array, to: Float32Array, out: Float32Array): void {
  for (let i = 0; i < DENOISER_FRAME; i++) {
    const w = FADE_IN[i]!;
    out[i] = from[i]! * (1 - w) + to[i]! * w;
  }
}
