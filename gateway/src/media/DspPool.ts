import type { Worker } from 'node:worker_threads';
import { DspRing, type FromWorker, type ToWorker } from './dspProtocol.js';
import { startDspThread } from './dspThread.js';
import { InboundDsp, type DspModules, type FrameSink, type InboundDspOptions } from './InboundDsp.js';

/** The inbound chain of one call, wherever it runs. */
export interface InboundChain {
  /** Decoded edge PCM (≤ 100 ms); may be reused by the caller after return. False when dropped (DSP overloaded). */
  push(pcm: Int16Array, arrivalMs: number): boolean;
  /** Algorithmic delay, ms. */
  readonly delayMs: number;
  close(): void;
}

/** What a chain's owner hears of it besides its frames. */
export interface ChainEvents {
  /** the worker dropped a frame because this thread fell a whole ring behind */
  overrun(): void;
  /** the chain's worker died and the chain was re-opened on another: audio resumes after a gap */
  restarted(): void;
  /** the chain cannot run (its worker could not open it) */
  failed(message: string): void;
}

/** What the pool tells its owner (metrics and logs). */
export interface PoolEvents {
  workerDied(index: number, error: string, chains: number): void;
}

interface WorkerSlot {
  worker: Worker;
  /** chain ids running on this worker */
  chains: Set<number>;
  /** the thread this slot replaced when it died (for logs), else -1 */
  index: number;
}

interface ChainEntry {
  sink: FrameSink;
  ring: DspRing;
  events: ChainEvents;
  opts: InboundDspOptions;
  slot: WorkerSlot;
  /** the id the chain has now; a re-attached chain gets a new one, so messages from its dead worker are ignored */
  id: number;
}

const NO_EVENTS: ChainEvents = { overrun: () => {}, restarted: () => {}, failed: () => {} };

/**
 * Runs the inbound DSP of many calls on worker threads, so it does not queue behind the event
 * loop that serves sockets (RNNoise alone is ~0.3 ms per packet: one thread saturates near 60
 * calls). Calls are sharded to the least-loaded worker and stay there; frames come back in
 * order. With `workers` = 0 chains run inline on the calling thread.
 *
 * A worker that dies (an uncaught error, out of memory, killed) is replaced: its calls are
 * re-opened on the new thread with fresh DSP state and their rings reset, so their audio resumes
 * after a gap of a few frames, and each is told (`restarted`) so it can be counted.
 */
export class DspPool {
  readonly #slots: WorkerSlot[] = [];
  readonly #chains = new Map<number, ChainEntry>();
  /**
   * Rings of closed calls, by shape, for the next calls: a worker allocates almost nothing, so it
   * rarely collects garbage, and fresh SharedArrayBuffers per call would pile up (measured: ~40 KB
   * per call ended, until the worker's next GC). Reused, they are bounded by the peak call count.
   */
  readonly #freeRings = new Map<string, DspRing[]>();
  /** rings whose worker side is still closing, by chain id */
  readonly #closing = new Map<number, DspRing>();
  readonly #mods: DspModules;
  readonly #events: PoolEvents;
  readonly #delayCache = new Map<string, number>();
  readonly #vad = new Float32Array(2);
  readonly #levels = new Float32Array(2);
  #nextId = 1;
  #closed = false;

  private constructor(mods: DspModules, events: PoolEvents) {
    this.#mods = mods;
    this.#events = events;
  }

  static async create(mods: DspModules, workers: number, events: PoolEvents = { workerDied: () => {} }): Promise<DspPool> {
    const pool = new DspPool(mods, events);
    const slots = await Promise.all(Array.from({ length: workers }, (_, i) => pool.#spawn(i)));
    pool.#slots.push(...slots);
    return pool;
  }

  get workers(): number {
    return this.#slots.length;
  }

  /** The worker threads, for tests that kill one. */
  get workersForTesting(): readonly Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  /** Starts a worker thread and takes charge of it: its frames, its death. */
  async #spawn(index: number): Promise<WorkerSlot> {
    const worker = await startDspThread();
    const slot: WorkerSlot = { worker, chains: new Set(), index };
    let lastError = 'exited';
    worker.on('message', (m: FromWorker) => {
      this.#onMessage(m);
    });
    worker.on('error', (err: Error) => {
      lastError = err.message;
    });
    worker.on('exit', (code) => {
      if (!this.#closed) this.#replace(slot, `${lastError} (exit code ${code})`);
    });
    worker.unref();
    return slot;
  }

  /** A worker died: a new one takes its place and its chains are re-opened there. */
  #replace(dead: WorkerSlot, error: string): void {
    const i = this.#slots.indexOf(dead);
    if (i < 0) return;
    this.#events.workerDied(dead.index, error, dead.chains.size);
    const orphans = [...dead.chains].map((id) => this.#chains.get(id)).filter((c): c is ChainEntry => c !== undefined);
    this.#spawn(dead.index).then(
      (slot) => {
        if (this.#closed) {
          void slot.worker.terminate();
          return;
        }
        this.#slots[i] = slot;
        for (const c of orphans) {
          // a chain closed while the worker restarted is gone from the map
          if (this.#chains.get(c.id) !== c) continue;
          this.#chains.delete(c.id);
          c.id = this.#nextId++;
          c.slot = slot;
          c.ring.reset();
          this.#chains.set(c.id, c);
          slot.chains.add(c.id);
          this.#post(c, { op: 'open', id: c.id, opts: c.opts, ring: c.ring.sab, inSlot: c.ring.inSlot, outSlot: c.ring.outSlot });
          c.events.restarted();
        }
      },
      (err: unknown) => {
        // No thread can be started: the orphans cannot run anywhere.
        this.#slots.splice(i, 1);
        for (const c of orphans) c.events.failed(`DSP worker could not be restarted: ${String(err)}`);
      },
    );
  }

  #post(c: ChainEntry, m: ToWorker): void {
    c.slot.worker.postMessage(m);
  }

  /**
   * Opens a chain for one call; frames arrive at `sink` (on this thread, borrowed). `events` hears
   * of overruns, restarts and failure.
   */
  open(opts: InboundDspOptions, sink: FrameSink, events: ChainEvents = NO_EVENTS): InboundChain {
    if (this.#slots.length === 0) {
      const dsp = new InboundDsp(this.#mods, opts, sink);
      return {
        delayMs: dsp.delayMs,
        push: (pcm, arrivalMs) => {
          dsp.push(pcm, arrivalMs);
          return true;
        },
        close: () => {
          dsp.close();
        },
      };
    }
    const slot = this.#slots.reduce((a, b) => (b.chains.size < a.chains.size ? b : a));
    // 20 ms per slot both ways: edge-rate input (longer packets take several), agent-rate output
    const inSlot = opts.inRate / 50;
    const outSlot = opts.outRate / 50;
    const ring = this.#freeRings.get(`${inSlot}/${outSlot}`)?.pop() ?? new DspRing(inSlot, outSlot);
    const c: ChainEntry = { sink, ring, events, opts, slot, id: this.#nextId++ };
    this.#chains.set(c.id, c);
    slot.chains.add(c.id);
    this.#post(c, { op: 'open', id: c.id, opts, ring: ring.sab, inSlot: ring.inSlot, outSlot: ring.outSlot });
    let closed = false;
    return {
      delayMs: this.#delayOf(opts),
      push: (pcm, arrivalMs) => {
        if (closed) return true;
        for (let off = 0; off < pcm.length; off += inSlot) {
          const n = Math.min(inSlot, pcm.length - off);
          if (!ring.write(pcm, off, n)) return false;
          this.#post(c, { op: 'push', id: c.id, n, arrivalMs });
        }
        return true;
      },
      close: () => {
        if (closed) return;
        closed = true;
        c.slot.chains.delete(c.id);
        this.#chains.delete(c.id);
        this.#closing.set(c.id, ring);
        this.#post(c, { op: 'close', id: c.id });
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
    switch (m.op) {
      case 'closed': {
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
      case 'overrun':
        this.#chains.get(m.id)?.events.overrun();
        return;
      case 'error':
        this.#chains.get(m.id)?.events.failed(m.message);
        return;
      case 'frame': {
        const c = this.#chains.get(m.id);
        if (c === undefined) return;
        this.#vad[0] = m.vad0;
        this.#vad[1] = m.vad1;
        this.#levels[0] = m.level0;
        this.#levels[1] = m.level1;
        c.sink(c.ring.frame(), this.#vad, this.#levels, m.arrivalMs);
        c.ring.releaseFrame();
        return;
      }
      default:
        return;
    }
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

  /** Stops every worker. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
    this.#slots.length = 0;
    this.#chains.clear();
  }
}
