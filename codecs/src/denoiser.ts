import { CodecError } from './errors.js';
import { cachedModule, type EmscriptenModule } from './wasm.js';

/**
 * RNNoise (xiph/rnnoise, v0.1-class model, @echogarden/rnnoise-wasm) at 48 kHz.
 * One frame is 480 samples (10 ms); delay is one frame (10 ms, overlap-add of a 20 ms window).
 * Each frame also yields RNNoise's voice-activity probability (0..1), a free VAD.
 * Samples are float in the 16-bit range (±32768), as RNNoise expects.
 */
interface RnnoiseModule extends EmscriptenModule {
  _rnnoise_create(model: number): number;
  _rnnoise_destroy(st: number): void;
  _rnnoise_process_frame(st: number, outPtr: number, inPtr: number): number;
}

export const DENOISER_FRAME = 480;
export const DENOISER_RATE = 48000;
/** Algorithmic delay in ms (measured: 479 samples). */
export const DENOISER_DELAY_MS = 10;

// @ts-expect-error --- the package ships JS without type declarations
const load = cachedModule<RnnoiseModule>(() => import('@echogarden/rnnoise-wasm'), 'RNNoise');

export function loadDenoiserModule(): Promise<RnnoiseModule> {
  return load();
}

export class Denoiser {
  readonly #mod: RnnoiseModule;
  readonly #st: number;
  readonly #inPtr: number;
  readonly #outPtr: number;
  #closed = false;

  /** Allocates the RNNoise state and one in/out frame in WASM memory, once. */
  constructor(mod: RnnoiseModule) {
    this.#mod = mod;
    this.#st = mod._rnnoise_create(0);
    if (this.#st === 0) throw new CodecError('WASM_UNAVAILABLE', 'rnnoise_create failed');
    this.#inPtr = mod._malloc(DENOISER_FRAME * 4);
    this.#outPtr = mod._malloc(DENOISER_FRAME * 4);
  }

  static async create(): Promise<Denoiser> {
    return new Denoiser(await loadDenoiserModule());
  }

  /**
   * Denoises whole 480-sample frames of `input` into `output` (may be the same array).
   * Writes each frame's voice probability into `vad[i]` when given. Returns frames processed;
   * a trailing partial frame is ignored (the caller frames its audio).
   */
  process(input: Float32Array, output: Float32Array, vad?: Float32Array): number {
    if (this.#closed) throw new CodecError('CLOSED', 'denoiser is closed');
    const mod = this.#mod;
    const frames = Math.floor(input.length / DENOISER_FRAME);
    for (let f = 0; f < frames; f++) {
      const off = f * DENOISER_FRAME;
      mod.HEAPF32.set(input.subarray(off, off + DENOISER_FRAME), this.#inPtr >> 2);
      const p = mod._rnnoise_process_frame(this.#st, this.#outPtr, this.#inPtr);
      output.set(mod.HEAPF32.subarray(this.#outPtr >> 2, (this.#outPtr >> 2) + DENOISER_FRAME), off);
      if (vad !== undefined && f < vad.length) vad[f] = p;
    }
    return frames;
  }

  /** Frees the WASM state and frame buffers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#mod._rnnoise_destroy(this.#st);
    this.#mod._free(this.#inPtr);
    this.#mod._free(this.#outPtr);
  }
}
