import { STATE, type Row, type SileroBatcher } from './SileroBatch.js';
import type { SileroModel, SileroRate } from './SileroModel.js';

/**
 * Chunks waiting for inference per call, at most (≈ 2 s); beyond it the oldest are skipped. A
 * loaded machine can hold inference back for a second or more (the integration test saw
 * results 1.3 s late on 2 cores shared by several test runs): results then come late, but judged
 * at their own media time they are still right (InterruptionDetector and BargeInDetector keep
 * levels for longer than this); a skipped chunk is a hole in the caller's speech that can keep an
 * interruption from being confirmed.
 */
const MAX_QUEUED = 64;

interface Chunk {
  /** context + chunk, float −1..1 */
  audio: Float32Array;
  /** media time of its end, ms */
  endMs: number;
  /** the model's state starts afresh at this chunk */
  fresh: boolean;
  /** held because the stream's `wanted` turned it down */
  deferred: boolean;
}

/** One call's stream of audio into the shared model, chunked, with its own state. */
export class SileroStream {
  readonly rate: SileroRate;
  readonly chunk: number;
  readonly #ctx: number;
  readonly #batcher: SileroBatcher;
  readonly #row: Row;
  /** a chunk's result: its end (media time, ms), speech probability, length (ms), and whether it was wanted (false: deferred) */
  readonly #onResult: (endMs: number, p: number, chunkMs: number, wanted: boolean) => void;
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
  /** and whether it was deferred (`wanted` turned it down) */
  #runningDeferred = false;
  /** a chunk of this stream is with the batcher (waiting for its batch, or running) */
  #inBatcher = false;
  /** settled() callers waiting for the queue to empty */
  readonly #idle: (() => void)[] = [];
  #closed = false;
  /** chunks skipped because inference fell behind */
  skipped = 0;
  /** chunks never inferred: pushed not to be (or turned down by `wanted`), and not needed for a warm-up */
  idle = 0;
  /** chunks `wanted` turned down: not run at once */
  deferred = 0;
  readonly #onSkipped: () => void;
  readonly #wanted: ((endMs: number, chunkMs: number) => boolean) | null;

  /**
   * `onSkipped`: a chunk was skipped, inference having fallen MAX_QUEUED chunks behind; `warmMs`:
   * how much of the audio pushed not to be inferred (`push`'s `infer`) is inferred after all,
   * before the next chunk that is, ms; `wanted`: asked of each chunk pushed to be inferred, as it
   * completes (its end, media time, and length, ms), whether its result is needed at all. One
   * that is not is deferred: kept as a chunk pushed not to be inferred is, for the warm-up of the
   * next that is (so the last `warmMs` of them run, back to back, before it; older ones never),
   * and its result, if it runs, comes with `wanted` false.
   */
  constructor(
    model: SileroModel,
    rate: SileroRate,
    onResult: (endMs: number, p: number, chunkMs: number, wanted: boolean) => void,
    o: { onSkipped?: () => void; warmMs?: number; wanted?: (endMs: number, chunkMs: number) => boolean } = {},
  ) {
    this.rate = rate;
    this.chunk = rate === 8000 ? 256 : 512;
    this.#warm = Math.min(MAX_QUEUED - 1, Math.ceil(((o.warmMs ?? 0) * rate) / 1000 / this.chunk));
    this.#ctx = rate === 8000 ? 32 : 64;
    this.#buf = new Float32Array(this.#ctx + this.chunk);
    this.#fill = this.#ctx;
    this.#onResult = onResult;
    this.#onSkipped = o.onSkipped ?? (() => {});
    this.#wanted = o.wanted ?? null;
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
        this.#runningDeferred = c.deferred;
      },
      done: (p, s0, s1) => {
        const endMs = this.#runningEndMs;
        this.#runningEndMs = NaN;
        this.#inBatcher = false;
        if (this.#closed) return;
        this.#state.set(s0, 0);
        this.#state.set(s1, STATE);
        this.#onResult(endMs, p, (1000 * this.chunk) / this.rate, !this.#runningDeferred);
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
        if (!infer) this.#hold(at, false);
        else if (this.#wanted === null || this.#wanted(at, (1000 * this.chunk) / this.rate)) this.#enqueue(at);
        else this.#hold(at, true);
        // the chunk's last samples are the next chunk's context
        this.#buf.copyWithin(0, this.chunk);
        this.#fill = this.#ctx;
      }
    }
  }

  /**
   * The chunk in `#buf` (ending at `endMs`) to the model, after the warm-up held before it, oldest
   * first; the state starts afresh at the warm-up if chunks before it were never heard.
   */
  #enqueue(endMs: number): void {
    this.#held.push(this.#chunk(endMs, false));
    this.#held[0]!.fresh = this.#lost;
    this.#lost = false;
    for (const h of this.#held.splice(0)) this.#queue.push(h);
    while (this.#queue.length > MAX_QUEUED) {
      const d = this.#queue.shift()!;
      this.#queue[0]!.fresh ||= d.fresh;
      this.#free.push(d.audio);
      this.skipped++;
      this.#onSkipped();
    }
    if (!this.#inBatcher) this.#next();
  }

  /**
   * The chunk in `#buf` kept, not inferred now (pushed not to be, or `deferred` by `wanted`): the
   * last `#warm` are the next inferred chunk's warm-up, and older ones are never heard.
   */
  #hold(endMs: number, deferred: boolean): void {
    if (deferred) this.deferred++;
    if (this.#held.length >= this.#warm) {
      this.idle++;
      this.#lost = true;
      if (this.#warm === 0) return;
      this.#free.push(this.#held.shift()!.audio);
    }
    this.#held.push(this.#chunk(endMs, deferred));
  }

  /** The chunk in `#buf`, copied. */
  #chunk(endMs: number, deferred: boolean): Chunk {
    const audio = this.#free.pop() ?? new Float32Array(this.#buf.length);
    audio.set(this.#buf);
    return { audio, endMs, fresh: false, deferred };
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
