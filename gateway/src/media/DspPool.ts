import { Worker } from 'node:worker_threads';
import { DspRing, type FromWorker, type ToWorker } from './dspProtocol.js';
import { InboundDsp, type DspModules, type FrameSink, type InboundDspOptions } from './InboundDsp.js';

/** The inbound chain of one call, wherever it runs. */
export interface InboundChain {
  /** Decoded edge PCM (≤ 100 ms); may be reused by the caller after return. False when dropped (DSP overloaded). */
  push(pcm: Int16Array, arrivalMs: number): boolean;
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
  readonly #chains = new Map<number, { sink: FrameSink; ring: DspRing; overrun: () => void }>();
  /**
   * Rings of closed calls, by shape, for the next calls: a worker allocates almost nothing, so it
   * rarely collects garbage, and fresh SharedArrayBuffers per call would pile up (measured: ~40 KB
   * per call ended, until the worker's next GC). Reused, they are bounded by the peak call count.
   */
  readonly #freeRings = new Map<string, DspRing[]>();
  /** rings whose worker side is still closing, by chain id */
  readonly #closing = new Map<number, DspRing>();
  readonly #mods: DspModules;
  readonly #delayCache = new Map<string, number>();
  readonly #vad = new Float32Array(2);
  #nextId = 1;

  private constructor(mods: DspModules) {
    this.#mods = mods;
  }

  static async create(mods: DspModules, workers: number): Promise<DspPool> {
    const pool = new DspPool(mods);
    await Promise.all(
      Array.from({ length: workers }, async () => {
        const worker = spawnDspWorker();
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

  /**
   * Opens a chain for one call; frames arrive at `sink` (on this thread, borrowed). `overrun` is
   * told of each frame the worker dropped because this thread fell a whole ring behind.
   */
  open(opts: InboundDspOptions, sink: FrameSink, overrun: () => void = () => {}): InboundChain {
    if (this.#slots.length === 0) {
      const dsp = new InboundDsp(this.#mods, opts, sink);
      return {
        delayMs: dsp.delayMs,
        push: (pcm, arrivalMs) => {
          dsp.push(pcm, arrivalMs);
          return true;
        },
        close: () => dsp.close(),
      };
    }
    const slot = this.#slots.reduce((a, b) => (b.calls < a.calls ? b : a));
    const id = this.#nextId++;
    slot.calls++;
    // 20 ms per slot both ways: edge-rate input (longer packets take several), agent-rate output
    const inSlot = opts.inRate / 50;
    const outSlot = opts.outRate / 50;
    const ring = this.#freeRings.get(`${inSlot}/${outSlot}`)?.pop() ?? new DspRing(inSlot, outSlot);
    this.#chains.set(id, { sink, ring, overrun });
    const post = (m: ToWorker) => slot.worker.postMessage(m);
    post({ op: 'open', id, opts, ring: ring.sab, inSlot: ring.inSlot, outSlot: ring.outSlot });
    let closed = false;
    return {
      delayMs: this.#delayOf(opts),
      push: (pcm, arrivalMs) => {
        if (closed) return true;
        for (let off = 0; off < pcm.length; off += inSlot) {
          const n = Math.min(inSlot, pcm.length - off);
          if (!ring.write(pcm, off, n)) return false;
          post({ op: 'push', id, n, arrivalMs });
        }
        return true;
      },
      close: () => {
        if (closed) return;
        closed = true;
        slot.calls--;
        this.#chains.delete(id);
        this.#closing.set(id, ring);
        post({ op: 'close', id });
      },
    };
  }

  /** Per worker: V8 heap used, external (ArrayBuffer) memory and WASM memory, bytes; open chains. */
  async stats(): Promise<{ heapUsed: number; external: number; wasm: number; chains: number }[]> {
    return Promise.all(
      this.#slots.map(
        (s) =>
          new Promise<{ heapUsed: number; external: number; wasm: number; chains: number }>((resolve) => {
            // a worker that cannot answer within a second must not hang /metrics
            const timer = setTimeout(() => {
              s.worker.off('message', on);
              resolve({ heapUsed: NaN, external: NaN, wasm: NaN, chains: NaN });
            }, 1000);
            const on = (m: FromWorker) => {
              if (m.op !== 'stats') return;
              clearTimeout(timer);
              s.worker.off('message', on);
              resolve(m);
            };
            s.worker.on('message', on);
            s.worker.postMessage({ op: 'stats' } satisfies ToWorker);
          }),
      ),
    );
  }

  #onMessage(m: FromWorker): void {
    if (m.op === 'closed') {
      const ring = this.#closing.get(m.id);
      this.#closing.delete(m.id);
      if (ring === undefined) return;
      ring.reset();
      const key = `${ring.inSlot}/${ring.outSlot}`;
      const free = this.#freeRings.get(key) ?? [];
      free.push(ring);
      this.#freeRings.set(key, free);
      return;
    }
    if (m.op !== 'frame' && m.op !== 'overrun') return;
    const c = this.#chains.get(m.id);
    if (c === undefined) return;
    if (m.op === 'overrun') return c.overrun();
    this.#vad[0] = m.vad0;
    this.#vad[1] = m.vad1;
    c.sink(c.ring.frame(), this.#vad, m.arrivalMs);
    c.ring.releaseFrame();
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

/**
 * A DSP worker: built code runs dspWorker.js beside this file; from the TypeScript sources (tests,
 * tsx) a small bootstrap registers tsx in the new thread before loading dspWorker.ts.
 */
function spawnDspWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./dspWorker.js', import.meta.url));
  return new Worker(new URL('./tsWorker.mjs', import.meta.url), {
    workerData: { tsEntry: new URL('./dspWorker.ts', import.meta.url).href },
  });
}
