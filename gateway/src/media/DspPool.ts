import type { Worker } from 'node:worker_threads';
import { DSP_DEADLINE_MS, type DspRing, FrameFlags, FrameMeta, WorkerSignals, type FromWorker, type ToWorker } from './dspProtocol.js';
import { RingPool } from './RingPool.js';
import { startDspThread, workerStats, type WorkerStats } from './dspThread.js';
import { InboundDsp, type DspModules, type FrameSink, type InboundDspOptions } from './InboundDsp.js';

/** The inbound chain of one call, wherever it runs. */
export interface InboundChain {
  /** Decoded edge PCM (≤ 100 ms); may be reused by the caller after return. False when dropped (DSP overloaded). */
  push(pcm: Int16Array, arrivalMs: number): boolean;
  /** Algorithmic delay, ms (the same whether RNNoise runs or is bypassed). */
  readonly delayMs: number;
  /** Of the frame being delivered (read it in the sink): FrameFlags, and the call's estimated SNR (dB, NaN before). */
  readonly info: { flags: number; snrDb: number };
  close(): void;
}

/** What a chain's owner hears of it besides its frames. */
export interface ChainEvents {
  /** audio dropped unprocessed: it waited past its deadline, or this thread fell a whole ring behind */
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
  signals: WorkerSignals;
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
  info: { flags: number; snrDb: number };
  /** drops of its ring already reported */
  dropped: number;
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
  /** rings of closed calls, for the next ones (see RingPool) */
  readonly #rings = new RingPool();
  readonly #mods: DspModules;
  readonly #events: PoolEvents;
  readonly #deadlineMs: number;
  readonly #delayCache = new Map<string, number>();
  readonly #vad = new Float32Array(2);
  readonly #levels = new Float32Array(2);
  #nextId = 1;
  #closed = false;
  /** performance.now() of the last frame delivered with RNNoise shed (−Infinity: never) */
  lastShedAtMs = -Infinity;

  private constructor(mods: DspModules, events: PoolEvents, deadlineMs: number) {
    this.#mods = mods;
    this.#events = events;
    this.#deadlineMs = deadlineMs;
  }

  /** `deadlineMs`: input that waited this long for a worker is dropped (DSP_OVERLOAD), never processed late. */
  static async create(
    mods: DspModules,
    workers: number,
    events: PoolEvents = { workerDied: () => {} },
    deadlineMs = DSP_DEADLINE_MS,
  ): Promise<DspPool> {
    const pool = new DspPool(mods, events, deadlineMs);
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

  /** Total processing time of each worker so far, µs (its busy fraction is the rate of change). */
  busyUs(): number[] {
    return this.#slots.map((s) => s.signals.busyUs);
  }

  /** Starts a worker thread and takes charge of it: its frames, its death. */
  async #spawn(index: number): Promise<WorkerSlot> {
    const worker = await startDspThread();
    const signals = new WorkerSignals();
    worker.postMessage({ op: 'signals', sab: signals.sab, deadlineMs: this.#deadlineMs } satisfies ToWorker);
    const slot: WorkerSlot = { worker, signals, chains: new Set(), index };
    let lastError = 'exited';
    worker.on('message', (m: FromWorker) => {
      this.#onMessage(m, slot);
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
          c.dropped = 0;
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
      const info = { flags: 0, snrDb: NaN };
      const dsp: InboundDsp = new InboundDsp(this.#mods, opts, (frame, vad, levels, arrivalMs) => {
        info.flags = dsp.flags;
        info.snrDb = dsp.snrDb;
        sink(frame, vad, levels, arrivalMs);
      });
      return {
        delayMs: dsp.delayMs,
        info,
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
    const ring = this.#rings.take(inSlot, outSlot);
    const c: ChainEntry = { sink, ring, events, opts, slot, id: this.#nextId++, info: { flags: 0, snrDb: NaN }, dropped: 0 };
    this.#chains.set(c.id, c);
    slot.chains.add(c.id);
    this.#post(c, { op: 'open', id: c.id, opts, ring: ring.sab, inSlot: ring.inSlot, outSlot: ring.outSlot });
    let closed = false;
    return {
      delayMs: this.#delayOf(opts),
      info: c.info,
      push: (pcm, arrivalMs) => {
        if (closed) return true;
        let ok = true;
        for (let off = 0; off < pcm.length && ok; off += inSlot) ok = ring.write(pcm, off, Math.min(inSlot, pcm.length - off), arrivalMs);
        // A doorbell only for a worker that sleeps: a busy one finds the input on its own.
        if (c.slot.signals.claimWake()) this.#post(c, { op: 'wake' });
        return ok;
      },
      close: () => {
        if (closed) return;
        closed = true;
        c.slot.chains.delete(c.id);
        this.#chains.delete(c.id);
        this.#rings.closing(c.id, ring);
        this.#post(c, { op: 'close', id: c.id });
      },
    };
  }

  /** Per worker: V8 heap used, external (ArrayBuffer) memory and WASM memory, bytes; open chains. */
  async stats(): Promise<WorkerStats[]> {
    return Promise.all(this.#slots.map((s) => workerStats(s.worker)));
  }

  #onMessage(m: FromWorker, slot: WorkerSlot): void {
    switch (m.op) {
      case 'closed':
        this.#rings.closed(m.id);
        return;
      case 'error':
        this.#chains.get(m.id)?.events.failed(m.message);
        return;
      case 'frames':
        // later frames need a new message: say so before looking
        slot.signals.notified();
        for (const id of slot.chains) {
          const c = this.#chains.get(id);
          if (c !== undefined) this.#deliver(c);
        }
        return;
      default:
        return;
    }
  }

  /** Hands a chain's waiting frames to its sink, and reports its drops. */
  #deliver(c: ChainEntry): void {
    const ring = c.ring;
    for (let n = ring.frames(); n > 0; n--) {
      const meta = ring.meta();
      this.#vad[0] = meta[FrameMeta.vad0]!;
      this.#vad[1] = meta[FrameMeta.vad1]!;
      this.#levels[0] = meta[FrameMeta.level0]!;
      this.#levels[1] = meta[FrameMeta.level1]!;
      c.info.flags = meta[FrameMeta.flags]!;
      c.info.snrDb = meta[FrameMeta.snrDb]!;
      if ((c.info.flags & FrameFlags.shed) !== 0) this.lastShedAtMs = performance.now();
      c.sink(ring.frame(), this.#vad, this.#levels, meta[FrameMeta.arrivalMs]!);
      ring.releaseFrame();
    }
    const dropped = ring.dropped;
    for (; c.dropped < dropped; c.dropped++) c.events.overrun();
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
