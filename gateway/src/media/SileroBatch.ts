import ort from 'onnxruntime-node';
import { log } from '../log.js';

/**
 * Silero VAD runs in batches: the chunks of every call at one rate that wait for the model go into
 * one inference, a row each of its input and state (SileroModel.ts has the model, SileroVad.ts
 * the calls' streams). A run has a fixed cost in onnxruntime-node, paid once per batch: back to
 * back, 202 µs for one chunk against ≈ 30 µs per chunk in a batch of 16 or more (more still in
 * real time, where caches go cold between runs; bench/README.md, eighth pass). The rows do not
 * mix: each gets the probability and state it gets alone (to the bit, test/unit/sileroVad.test.ts).
 */

/**
 * How long (ms) a chunk waits for the other calls' chunks to share its run, at most: none once
 * every open stream of its rate has one waiting (a lone call never waits). Calls' chunks end at
 * random phases of their 32 ms (measured: 4.7 chunks per run at 10 calls, 15.4 at 40), and a
 * result comes back up to 8 ms later than alone (against a duck at ≈ 80 ms after the onset).
 */
const BATCH_WAIT_MS = 8;
/** Rows per run, at most (the rest wait for the next run). */
const MAX_BATCH = 32;
/** Silero v5's recurrent state per row: 2 layers × 128 floats, laid out [2, batch, 128]. */
export const STATE = 128;

/** A stream's side of a batch: its next chunk into a row, then that row's result. */
export interface Row {
  /** copies the next chunk (context first) into `input` and its state into layers `s0`, `s1` */
  fill(input: Float32Array, s0: Float32Array, s1: Float32Array): void;
  /** the chunk's speech probability and the state after it */
  done(p: number, s0: Float32Array, s1: Float32Array): void;
  /** the run failed: the stream stops */
  failed(): void;
}

/** The streams of one rate (one chunk size), run together. */
export class SileroBatcher {
  readonly #session: ort.InferenceSession;
  /** samples per row: context + chunk */
  readonly #width: number;
  readonly #sr: ort.Tensor;
  /** one batch's input and state, allocated once (one run at a time per batcher) */
  readonly #input: Float32Array;
  readonly #state = new Float32Array(2 * MAX_BATCH * STATE);
  /** streams with a chunk waiting, in the order they became ready */
  readonly #ready: Row[] = [];
  /** when the first of them became ready (performance.now(), ms) */
  #since = 0;
  #open = 0;
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  /** inferences run, and chunks (rows) they carried */
  runs = 0;
  rows = 0;

  constructor(session: ort.InferenceSession, rate: number, width: number) {
    this.#session = session;
    this.#width = width;
    this.#sr = new ort.Tensor('int64', BigInt64Array.of(BigInt(rate)), []);
    this.#input = new Float32Array(MAX_BATCH * width);
  }

  opened(): void {
    this.#open++;
  }

  /** A stream closed: its chunk, if waiting, leaves the batch (one running finishes unheeded). */
  closed(row: Row): void {
    this.#open--;
    const i = this.#ready.indexOf(row);
    if (i >= 0) this.#ready.splice(i, 1);
    this.#kick(); // the streams still waiting may be all there are now
  }

  /** `row` has a chunk waiting (once until its `done`). */
  ready(row: Row): void {
    if (this.#ready.length === 0) this.#since = performance.now();
    this.#ready.push(row);
    this.#kick();
  }

  /** Runs the waiting chunks now if every open stream has one in, or they have waited long enough. */
  #kick(): void {
    if (this.#running || this.#ready.length === 0) return;
    const waited = performance.now() - this.#since;
    if (this.#ready.length >= Math.min(this.#open, MAX_BATCH) || waited >= BATCH_WAIT_MS) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      void this.#run();
    } else {
      // Not unref'd: the wait is 8 ms at most, and a stream's settled() may be all that is left
      // waiting on it (cpu.ts with short rows exited with code 13, its top-level await unsettled).
      this.#timer ??= setTimeout(() => {
        this.#timer = null;
        this.#kick();
      }, BATCH_WAIT_MS - waited);
    }
  }

  async #run(): Promise<void> {
    const rows = this.#ready.splice(0, MAX_BATCH);
    this.#since = performance.now();
    const n = rows.length;
    const w = this.#width;
    const s0 = this.#state.subarray(0, n * STATE);
    const s1 = this.#state.subarray(n * STATE, 2 * n * STATE);
    for (let b = 0; b < n; b++) {
      rows[b]!.fill(
        this.#input.subarray(b * w, (b + 1) * w),
        s0.subarray(b * STATE, (b + 1) * STATE),
        s1.subarray(b * STATE, (b + 1) * STATE),
      );
    }
    this.#running = true;
    this.runs++;
    this.rows += n;
    try {
      const out = await this.#session.run({
        input: new ort.Tensor('float32', this.#input.subarray(0, n * w), [n, w]),
        state: new ort.Tensor('float32', this.#state.subarray(0, 2 * n * STATE), [2, n, STATE]),
        sr: this.#sr,
      });
      const p = out['output']!.data as Float32Array;
      const sn = out['stateN']!.data as Float32Array;
      for (let b = 0; b < n; b++) {
        rows[b]!.done(p[b]!, sn.subarray(b * STATE, (b + 1) * STATE), sn.subarray((n + b) * STATE, (n + b + 1) * STATE));
      }
    } catch (err) {
      log('warn', 'silero_vad_failed', { error: String(err), streams: n });
      for (const r of rows) r.failed();
    } finally {
      this.#running = false;
      this.#kick();
    }
  }
}
