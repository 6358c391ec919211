import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './dspProtocol.js';
import { InboundDsp, type DspModules, type FrameSink, type InboundDspOptions } from './InboundDsp.js';

/** The inbound chain of one call, wherever it runs. */
export interface InboundChain {
  /** Decoded edge PCM; may be reused by the caller after return. */
  push(pcm: Int16Array, arrivalMs: number): void;
  /** Algorithmic delay, ms. */
  readonly delayMs: number;
  close(): void;
}

interface WorkerSlot {
  worker: Worker;
  calls: number;
}

/**
 * Runs the inbound DSP of many calls on worker threads, so it does not queue behind the event
 * loop that serves sockets (RNNoise alone is ~0.3 ms per packet: one thread saturates near 60
 * calls). Calls are sharded to the least-loaded worker and stay there; frames come back in
 * order. With `workers` = 0 chains run inline on the calling thread.
 */
export class DspPool {
  readonly #slots: WorkerSlot[] = [];
  readonly #sinks = new Map<number, FrameSink>();
  readonly #mods: DspModules;
  readonly #delayCache = new Map<string, number>();
  readonly #vad = new Float32Array(2);
  #nextId = 1;

  private constructor(mods: DspModules) {
    this.#mods = mods;
  }

  static async create(mods: DspModules, workers: number): Promise<DspPool> {
    const pool = new DspPool(mods);
    // Built code runs dist/…/dspWorker.js beside this file; under vitest this file is the .ts
    // source, and the worker (which Node runs without a TS loader) comes from the build.
    const url = import.meta.url.endsWith('.ts')
      ? new URL('../../../dist/gateway/src/media/dspWorker.js', import.meta.url)
      : new URL('./dspWorker.js', import.meta.url);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        const worker = new Worker(url);
        await new Promise<void>((resolve, reject) => {
          worker.once('error', reject);
          worker.once('message', (m: FromWorker) => (m.op === 'ready' ? resolve() : reject(new Error('DSP worker did not start'))));
        });
        worker.on('message', (m: FromWorker) => pool.#onMessage(m));
        worker.unref();
        pool.#slots.push({ worker, calls: 0 });
      }),
    );
    return pool;
  }

  get workers(): number {
    return this.#slots.length;
  }

  /** Opens a chain for one call; frames arrive at `sink` (on this thread). */
  open(opts: InboundDspOptions, sink: FrameSink): InboundChain {
    if (this.#slots.length === 0) return new InboundDsp(this.#mods, opts, sink);
    const slot = this.#slots.reduce((a, b) => (b.calls < a.calls ? b : a));
    const id = this.#nextId++;
    slot.calls++;
    this.#sinks.set(id, sink);
    const post = (m: ToWorker, transfer: ArrayBuffer[] = []) => slot.worker.postMessage(m, transfer);
    post({ op: 'open', id, opts });
    let closed = false;
    return {
      delayMs: this.#delayOf(opts),
      push: (pcm, arrivalMs) => {
        if (closed) return;
        const copy = pcm.slice();
        post({ op: 'push', id, pcm: copy, arrivalMs }, [copy.buffer as ArrayBuffer]);
      },
      close: () => {
        if (closed) return;
        closed = true;
        slot.calls--;
        this.#sinks.delete(id);
        post({ op: 'close', id });
      },
    };
  }

  #onMessage(m: FromWorker): void {
    if (m.op !== 'frame') return;
    const sink = this.#sinks.get(m.id);
    if (sink === undefined) return;
    this.#vad[0] = m.vad0;
    this.#vad[1] = m.vad1;
    sink(m.frame, this.#vad, m.arrivalMs);
  }

  /** The chain's delay, computed once per configuration on this thread. */
  #delayOf(opts: InboundDspOptions): number {
    const key = `${opts.inRate}/${opts.outRate}/${opts.denoise}/${opts.quality}`;
    let d = this.#delayCache.get(key);
    if (d === undefined) {
      const probe = new InboundDsp(this.#mods, opts, () => {});
      d = probe.delayMs;
      probe.close();
      this.#delayCache.set(key, d);
    }
    return d;
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    this.#slots.length = 0;
  }
}
