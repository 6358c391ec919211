import {
  DENOISER_DELAY_MS,
  DENOISER_FRAME,
  DENOISER_RATE,
  floatToInt16,
  int16ToFloat,
  rmsDbfs,
  Resampler,
  type loadDenoiserModule,
  type loadResamplerModule,
} from '../../../codecs/src/index.js';
import { AutoDenoise } from './AutoDenoise.js';
import { DenoiseStage } from './DenoiseStage.js';
import { FrameFlags } from './dspProtocol.js';

export type SpeexModule = Awaited<ReturnType<typeof loadResamplerModule>>;
export type RnnoiseModule = Awaited<ReturnType<typeof loadDenoiserModule>>;

/** The WASM modules a thread needs for inbound DSP, loaded once per thread. */
export interface DspModules {
  speex: SpeexModule;
  rnnoise: RnnoiseModule;
}

export interface InboundDspOptions {
  /** Hz of the decoded edge audio (8000 G.711, 48000 Opus) */
  inRate: number;
  /** Hz of the agent's PCM16 */
  outRate: number;
  /**
   * true: RNNoise (bypassed only while the DSP is behind); false: no 48 kHz stage at all (the
   * shortest path); 'auto': RNNoise where the call's measurements say it helps (AutoDenoise).
   */
  denoise: boolean | 'auto';
  /** speex quality */
  quality: number;
}

/**
 * Receives one 20 ms frame for the agent (borrowed: valid during the call only), the voice
 * probabilities of its 10 ms sub-frames (RNNoise; energy-based when denoise is off), the raw
 * levels (dBFS, before denoise) of the input those sub-frames came from, and the arrival time of
 * the packet that completed it.
 */
export type FrameSink = (frame: Int16Array, vad: Float32Array, rawLevels: Float32Array, arrivalMs: number) => void;

/** Raw levels waiting for their frames: 64 × 10 ms covers any chain delay with room to spare. */
const LEVEL_QUEUE = 64;
/** The level of silence, dBFS (levels are floored here, as the barge-in detector's "silent"). */
const SILENT_DB = -100;

/**
 * Inbound chain of one call: edge PCM → 48 kHz → RNNoise or its aligned bypass (DenoiseStage;
 * voice probability per 10 ms) → agent rate, framed to exactly 20 ms and emitted as soon as a
 * frame is complete. With denoise false, edge PCM goes straight to the agent rate. Every chain
 * estimates its call's noise and SNR (AutoDenoise, NoiseEstimator), which drives 'auto'.
 *
 * Every buffer is allocated once here; `push` allocates nothing.
 */
export class InboundDsp {
  readonly #sink: FrameSink;
  readonly #up: Resampler | null;
  readonly #stage: DenoiseStage | null;
  readonly #auto: boolean;
  readonly #noise = new AutoDenoise();
  readonly #down: Resampler;
  readonly #outFrame: number;
  /** Algorithmic delay of the chain, ms (resamplers + RNNoise). */
  readonly delayMs: number;
  readonly #in: Float32Array;
  readonly #mid: Float32Array; // 48 kHz FIFO awaiting RNNoise framing
  #midLen = 0;
  readonly #clean: Float32Array;
  readonly #tmpOut: Float32Array;
  readonly #fifo: Float32Array; // agent-rate FIFO awaiting 20 ms framing
  #fifoLen = 0;
  readonly #frame: Int16Array;
  readonly #vad = new Float32Array(2);
  #vadCount = 0;
  /**
   * Raw input levels per 10 ms, a FIFO consumed two per output frame. They are measured here,
   * from the very samples the chain processes, so a push refused upstream (DSP_OVERLOAD) leaves no
   * level behind to shift the pairing of later frames.
   */
  readonly #levels = new Float32Array(LEVEL_QUEUE);
  #levelHead = 0;
  #levelCount = 0;
  /** input samples per 10 ms, and the part of a 10 ms piece carried from the previous push */
  readonly #tenMs: number;
  #partialSum = 0;
  #partialN = 0;
  readonly #rawLevels = new Float32Array(2);
  #closed = false;
  readonly #scratch: ArrayBuffer;

  constructor(mods: DspModules, opts: InboundDspOptions, sink: FrameSink) {
    this.#sink = sink;
    this.#outFrame = opts.outRate / 50;
    this.#tenMs = opts.inRate / 100;
    const maxIn = (opts.inRate * 120) / 1000; // up to 120 ms per push (Opus' longest packet)
    let maxChunk: number;
    this.#auto = opts.denoise === 'auto';
    if (opts.denoise !== false) {
      this.#up = new Resampler(mods.speex, { inRate: opts.inRate, outRate: DENOISER_RATE, quality: opts.quality });
      // auto starts with RNNoise, as true does, until its first decision (AutoDenoise)
      this.#stage = new DenoiseStage(mods.rnnoise, true);
      this.#down = new Resampler(mods.speex, { inRate: DENOISER_RATE, outRate: opts.outRate, quality: opts.quality });
      this.delayMs = this.#up.delayMs + DENOISER_DELAY_MS + this.#down.delayMs;
      maxChunk = DENOISER_FRAME;
    } else {
      this.#up = null;
      this.#stage = null;
      this.#down = new Resampler(mods.speex, { inRate: opts.inRate, outRate: opts.outRate, quality: opts.quality });
      this.delayMs = this.#down.delayMs;
      maxChunk = maxIn;
    }
    const tmpOut = this.#down.maxOutput(maxChunk) + 8;
    // All float scratch in one block, recycled across calls (see ScratchPool).
    const sizes = [
      maxIn,
      this.#up === null ? 0 : this.#up.maxOutput(maxIn) + DENOISER_FRAME,
      DENOISER_FRAME,
      tmpOut,
      tmpOut + 2 * this.#outFrame,
    ];
    this.#scratch = ScratchPool.take(sizes.reduce((a, b) => a + b, 0));
    let off = 0;
    const carve = (n: number) => new Float32Array(this.#scratch, 4 * (off += n) - 4 * n, n);
    this.#in = carve(sizes[0]!);
    this.#mid = carve(sizes[1]!);
    this.#clean = carve(sizes[2]!);
    this.#tmpOut = carve(sizes[3]!);
    this.#fifo = carve(sizes[4]!);
    this.#frame = new Int16Array(this.#outFrame);
  }

  /** The call's estimated SNR, dB (NaN until estimated). */
  get snrDb(): number {
    return this.#noise.snrDb;
  }

  /** What the auto decision measures and decides (for tests and benchmarks). */
  get autoDenoise(): AutoDenoise {
    return this.#noise;
  }

  /** FrameFlags of the frame being delivered: RNNoise running, shedding, auto decided, RNNoise wanted. */
  get flags(): number {
    const st = this.#stage;
    if (st === null) return FrameFlags.decided;
    const decided = !this.#auto || this.#noise.want !== null;
    return (
      (st.running ? FrameFlags.denoised : 0) |
      (st.shed ? FrameFlags.shed : 0) |
      (decided ? FrameFlags.decided : 0) |
      (st.want ? FrameFlags.wanted : 0)
    );
  }

  /**
   * Feeds decoded edge PCM (any length up to 100 ms). `shed`: the DSP is behind, bypass RNNoise
   * (resampling only, with the same delay) until it is not.
   */
  push(pcm: Int16Array, arrivalMs: number, shed = false): void {
    if (this.#closed) return;
    const n = Math.min(pcm.length, this.#in.length);
    int16ToFloat(pcm.subarray(0, n), this.#in);
    this.#measure(pcm, n);
    const input = this.#in.subarray(0, n);
    const stage = this.#stage;
    if (this.#up === null || stage === null) {
      this.#toAgentRate(input, -1, arrivalMs);
      return;
    }
    stage.shed = shed;
    // auto: RNNoise while the estimate says it helps, switched in a pause only
    if (this.#auto) stage.want = this.#noise.wantNow;
    const allowSwitch = !this.#auto || this.#noise.noise.quiet;
    this.#midLen += this.#up.process(input, this.#mid.subarray(this.#midLen));
    let off = 0;
    while (this.#midLen - off >= DENOISER_FRAME) {
      const vad = stage.process(this.#mid.subarray(off, off + DENOISER_FRAME), this.#clean, allowSwitch);
      this.#noise.noise.rnnoise(stage.inPower, stage.outPower);
      off += DENOISER_FRAME;
      this.#toAgentRate(this.#clean, vad, arrivalMs);
    }
    this.#mid.copyWithin(0, off, this.#midLen);
    this.#midLen -= off;
  }

  /** Raw level of each complete 10 ms of input, queued for the frames that will carry it. */
  #measure(pcm: Int16Array, n: number): void {
    let sum = this.#partialSum;
    let count = this.#partialN;
    for (let i = 0; i < n; i++) {
      const v = pcm[i]!;
      sum += v * v;
      if (++count === this.#tenMs) {
        const db = sum > 0 ? 10 * Math.log10(sum / count / (32768 * 32768)) : SILENT_DB;
        if (this.#levelCount === LEVEL_QUEUE) {
          // the oldest is stale beyond any chain delay: forget it
          this.#levelHead = (this.#levelHead + 1) % LEVEL_QUEUE;
          this.#levelCount--;
        }
        this.#levels[(this.#levelHead + this.#levelCount) % LEVEL_QUEUE] = Math.max(SILENT_DB, db);
        this.#levelCount++;
        this.#noise.push(sum / count / (32768 * 32768), this.#stage?.running ?? false);
        sum = 0;
        count = 0;
      }
    }
    this.#partialSum = sum;
    this.#partialN = count;
  }

  /** The next raw level, or (the input has not produced one yet) the level of frame[from, to). */
  #nextLevel(from: number, to: number): number {
    if (this.#levelCount === 0) return Math.max(SILENT_DB, rmsDbfs(this.#frame, from, to));
    const v = this.#levels[this.#levelHead]!;
    this.#levelHead = (this.#levelHead + 1) % LEVEL_QUEUE;
    this.#levelCount--;
    return v;
  }

  /** Resamples a chunk to the agent rate and emits every complete 20 ms frame. */
  #toAgentRate(chunk: Float32Array, vad: number, arrivalMs: number): void {
    const made = this.#down.process(chunk, this.#tmpOut);
    this.#fifo.set(this.#tmpOut.subarray(0, made), this.#fifoLen);
    this.#fifoLen += made;
    if (vad >= 0 && this.#vadCount < 2) this.#vad[this.#vadCount++] = vad;
    while (this.#fifoLen >= this.#outFrame) {
      floatToInt16(this.#fifo.subarray(0, this.#outFrame), this.#frame);
      this.#fifo.copyWithin(0, this.#outFrame, this.#fifoLen);
      this.#fifoLen -= this.#outFrame;
      if (vad < 0) energyVad(this.#frame, this.#vad);
      else if (this.#vadCount < 2) this.#vad[1] = this.#vad[0]!;
      this.#vadCount = 0;
      // Before the chain's delay has passed, a frame holds no input yet: its own level stands in.
      const half = this.#outFrame >> 1;
      this.#rawLevels[0] = this.#nextLevel(0, half);
      this.#rawLevels[1] = this.#nextLevel(half, this.#outFrame);
      this.#sink(this.#frame, this.#vad, this.#rawLevels, arrivalMs);
    }
  }

  /** Frees resamplers and the RNNoise state. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#up?.close();
    this.#stage?.close();
    this.#down.close();
    ScratchPool.give(this.#scratch);
  }
}

/**
 * Float scratch blocks of closed chains, kept for the next calls on this thread. Without it a
 * DSP worker, which allocates almost nothing else, lets ~80 KB per ended call pile up as
 * external memory until its rare GC (measured by the soak bench: +24 MiB per 300 calls).
 * Bounded by the thread's peak number of concurrent calls.
 */
const ScratchPool = {
  free: new Map<number, ArrayBuffer[]>(),
  take(floats: number): ArrayBuffer {
    const b = this.free.get(floats)?.pop();
    if (b === undefined) return new ArrayBuffer(4 * floats);
    new Float32Array(b).fill(0);
    return b;
  },
  give(b: ArrayBuffer): void {
    const k = b.byteLength / 4;
    const list = this.free.get(k) ?? [];
    list.push(b);
    this.free.set(k, list);
  },
};

/**
 * Voice probability without RNNoise: a logistic map of the frame's level (−50 dBFS → ~0,
 * −30 dBFS → ~1). Crude, but it keeps speech_started/stopped working with denoise off.
 */
function energyVad(frame: Int16Array, out: Float32Array): void {
  const half = frame.length >> 1;
  for (let h = 0; h < 2; h++) out[h] = 1 / (1 + Math.exp(-(rmsDbfs(frame, h * half, (h + 1) * half) + 40) / 3));
}
