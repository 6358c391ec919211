import { CodecError } from './errors.js';
import { cachedModule, type EmscriptenModule } from './wasm.js';

/**
 * Streaming sample-rate converter: the speexdsp resampler (xiph/speexdsp resample.c) in WASM.
 * State (filter memory) carries across `process` calls, so chunks of any size may be fed.
 *
 * Delay: speex reports its latency as `get_output_latency` (output samples) ≈
 * filter_length / (2 · min(in, out)) seconds, e.g. 3 ms at quality 3 for 8 → 48 kHz.
 */
interface SpeexModule extends EmscriptenModule {
  _speex_resampler_init(channels: number, inRate: number, outRate: number, quality: number, errPtr: number): number;
  _speex_resampler_destroy(st: number): void;
  _speex_resampler_process_float(st: number, ch: number, inPtr: number, inLenPtr: number, outPtr: number, outLenPtr: number): number;
  _speex_resampler_get_output_latency(st: number): number;
  _speex_resampler_reset_mem(st: number): number;
  _speex_resampler_skip_zeros(st: number): number;
}

export type ResamplerBuild = 'simd' | 'nonsimd';

const loaders: Record<ResamplerBuild, () => Promise<SpeexModule>> = {
  // @ts-expect-error --- the package ships JS without type declarations
  simd: cachedModule<SpeexModule>(() => import('@echogarden/speex-resampler-wasm/simd'), 'speex resampler (SIMD)'),
  // @ts-expect-error --- the package ships JS without type declarations
  nonsimd: cachedModule<SpeexModule>(() => import('@echogarden/speex-resampler-wasm'), 'speex resampler'),
};

/** Loads (once per thread) the WASM build; SIMD is the default, chosen by bench/micro (≈4× faster). */
export function loadResamplerModule(build: ResamplerBuild = 'simd'): Promise<SpeexModule> {
  return loaders[build]();
}

export interface ResamplerOptions {
  /** Hz */
  inRate: number;
  /** Hz */
  outRate: number;
  /** speex quality 0..10; 3 is speex's "VoIP" preset (3 ms at 8 → 48 kHz) */
  quality?: number;
  /** largest input chunk, in samples, processed in one WASM call; larger inputs are looped */
  maxChunk?: number;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  readonly quality: number;
  /** Algorithmic delay, in output samples. */
  readonly delaySamples: number;
  readonly #mod: SpeexModule | null;
  #st = 0;
  #inPtr = 0;
  #outPtr = 0;
  #lenPtr = 0;
  readonly #maxIn: number;
  readonly #maxOut: number;
  #closed = false;

  /** Creates a resampler inside an already loaded module (sync: for use on call setup). */
  constructor(mod: SpeexModule, opts: ResamplerOptions) {
    const { inRate, outRate } = opts;
    const quality = opts.quality ?? 3;
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) throw new RangeError(`quality must be 0..10 [quality:${quality}]`);
    if (!(inRate > 0 && outRate > 0)) throw new RangeError(`rates must be positive [in:${inRate}, out:${outRate}]`);
    this.inRate = inRate;
    this.outRate = outRate;
    this.quality = quality;
    this.#maxIn = opts.maxChunk ?? 4800;
    this.#maxOut = Math.ceil((this.#maxIn * outRate) / inRate) + 16;
    if (inRate === outRate) {
      // Pass-through: no WASM state, no delay.
      this.#mod = null;
      this.delaySamples = 0;
      return;
    }
    this.#mod = mod;
    this.#lenPtr = mod._malloc(12);
    this.#st = mod._speex_resampler_init(1, inRate, outRate, quality, this.#lenPtr + 8);
    if (this.#st === 0) {
      mod._free(this.#lenPtr);
      throw new CodecError('CODEC_UNSUPPORTED', `speex_resampler_init failed [in:${inRate}, out:${outRate}]`);
    }
    this.#inPtr = mod._malloc(this.#maxIn * 4);
    this.#outPtr = mod._malloc(this.#maxOut * 4);
    this.delaySamples = mod._speex_resampler_get_output_latency(this.#st);
  }

  static async create(opts: ResamplerOptions, build: ResamplerBuild = 'simd'): Promise<Resampler> {
    return new Resampler(await loadResamplerModule(build), opts);
  }

  /** Algorithmic delay in ms. */
  get delayMs(): number {
    return (1000 * this.delaySamples) / this.outRate;
  }

  /** Upper bound of the output produced by `inputLength` input samples. */
  maxOutput(inputLength: number): number {
    return Math.ceil((inputLength * this.outRate) / this.inRate) + 2;
  }

  /**
   * Resamples all of `input` into `output` (float, any scale). Returns samples written.
   * `output` must hold `maxOutput(input.length)` samples.
   */
  process(input: Float32Array, output: Float32Array): number {
    if (this.#closed) throw new CodecError('CLOSED', 'resampler is closed');
    const mod = this.#mod;
    if (mod === null) {
      output.set(input);
      return input.length;
    }
    let consumed = 0;
    let written = 0;
    while (consumed < input.length) {
      const n = Math.min(this.#maxIn, input.length - consumed);
      mod.HEAPF32.set(input.subarray(consumed, consumed + n), this.#inPtr >> 2);
      const room = Math.min(this.#maxOut, output.length - written);
      const u32 = mod.HEAPU32;
      u32[this.#lenPtr >> 2] = n;
      u32[(this.#lenPtr >> 2) + 1] = room;
      mod._speex_resampler_process_float(this.#st, 0, this.#inPtr, this.#lenPtr, this.#outPtr, this.#lenPtr + 4);
      const usedIn = mod.HEAPU32[this.#lenPtr >> 2]!;
      const made = mod.HEAPU32[(this.#lenPtr >> 2) + 1]!;
      output.set(mod.HEAPF32.subarray(this.#outPtr >> 2, (this.#outPtr >> 2) + made), written);
      written += made;
      consumed += usedIn;
      if (usedIn === 0 && made === 0) break; // output full: caller gave too little room
    }
    return written;
  }

  /** Forgets the filter memory (a hard boundary, e.g. after `clear`). */
  reset(): void {
    if (this.#mod !== null && !this.#closed) this.#mod._speex_resampler_reset_mem(this.#st);
  }

  /** Frees the WASM state and buffers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const mod = this.#mod;
    if (mod === null) return;
    mod._speex_resampler_destroy(this.#st);
    mod._free(this.#inPtr);
    mod._free(this.#outPtr);
    mod._free(this.#lenPtr);
  }
}
