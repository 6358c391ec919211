import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** What the headroom is measured from: the DSP pool's workers (null: DSP runs inline). */
export interface LoadSource {
  /** total processing time of each worker so far, µs */
  busyUs(): number[];
  /** performance.now() of the last frame that had to shed RNNoise */
  readonly lastShedAtMs: number;
}

export interface HeadroomOptions {
  /** busy fraction (0..1) at which new calls are refused (ADMIT_MAX_LOAD); 1: admission by headroom off */
  maxLoad: number;
  /** cores this process may run on (its affinity) */
  cores: number;
}

/** Samples kept: the load is measured over the last (SAMPLES − 1) × SAMPLE_MS = 1 s. */
const SAMPLES = 5;
export const SAMPLE_MS = 250;
/** After a call had to shed RNNoise, new calls wait this long (ms) even if the load looks fine. */
const SHED_HOLD_MS = 5000;

interface Sample {
  atMs: number;
  elu: EventLoopUtilization;
  busyUs: number[];
}

/**
 * The gateway's measured DSP headroom, which decides admission (`/readyz`, AT_CAPACITY): not a
 * call count but what the calls cost. Load is the largest of
 *   - the main thread's event-loop utilisation (sockets, playout, echo cancelling),
 *   - the least busy DSP worker's busy fraction (where the next call would go),
 *   - all of them together over the cores the process may use (threads sharing a core);
 * each over the last second, as wall time, so CPU taken by other processes counts as load too.
 * Headroom is spent at `maxLoad`, or for a while after any call had to shed RNNoise (the load is
 * lower while calls shed, and must not be taken as room for more).
 */
export class Headroom {
  readonly #src: LoadSource | null;
  readonly #o: HeadroomOptions;
  readonly #samples: Sample[] = [];
  /** main, least busy worker, all together over cores (0..1 each) */
  readonly load = { main: 0, dsp: 0, total: 0 };

  constructor(src: LoadSource | null, opts: HeadroomOptions) {
    this.#src = src;
    this.#o = opts;
    this.sample();
  }

  /** Takes a sample (every SAMPLE_MS) and updates `load`. */
  sample(): void {
    const s: Sample = { atMs: performance.now(), elu: performance.eventLoopUtilization(), busyUs: this.#src?.busyUs() ?? [] };
    this.#samples.push(s);
    if (this.#samples.length > SAMPLES) this.#samples.shift();
    const first = this.#samples[0]!;
    const wallMs = s.atMs - first.atMs;
    if (wallMs <= 0) return;
    const main = performance.eventLoopUtilization(s.elu, first.elu).utilization;
    const workers = s.busyUs.map((b, i) => (b - (first.busyUs[i] ?? b)) / 1000 / wallMs);
    this.load.main = main;
    this.load.dsp = workers.length > 0 ? Math.min(...workers) : 0;
    this.load.total = (main + workers.reduce((a, b) => a + b, 0)) / Math.max(1, this.#o.cores);
  }

  /** The load that admission compares with maxLoad. */
  get value(): number {
    return Math.max(this.load.main, this.load.dsp, this.load.total);
  }

  /** Why no new call can be taken now, or null when one can. */
  spent(): string | null {
    if (this.#o.maxLoad >= 1) return null;
    const shedAgo = performance.now() - (this.#src?.lastShedAtMs ?? -Infinity);
    if (shedAgo < SHED_HOLD_MS) return `calls had to bypass RNNoise ${Math.round(shedAgo)} ms ago (DSP behind)`;
    const v = this.value;
    if (v >= this.#o.maxLoad) return `measured load ${v.toFixed(2)} ≥ ${this.#o.maxLoad} (ADMIT_MAX_LOAD)`;
    return null;
  }
}
