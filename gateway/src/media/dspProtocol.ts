import type { InboundDspOptions } from './InboundDsp.js';

/**
 * Messages between the main thread and a DSP worker. Audio never travels in them: each call has
 * a DspRing in shared memory (samples and per-slot metadata), allocated once, and each worker a
 * WorkerSignals block. Messages are only doorbells, and only when the other side sleeps: the
 * main thread wakes an idle worker ('wake'); a worker tells the main thread that frames wait
 * ('frames') once until the main thread has looked. A busy worker or a busy main thread receives
 * no message at all, so the per-packet cost of crossing threads is two Atomics at load.
 */
export type ToWorker =
  | { op: 'open'; id: number; opts: InboundDspOptions; ring: SharedArrayBuffer; inSlot: number; outSlot: number }
  /** the worker's WorkerSignals, and how long input may wait (ms) before it is dropped */
  | { op: 'signals'; sab: SharedArrayBuffer; deadlineMs: number }
  | { op: 'wake' }
  | { op: 'close'; id: number }
  | { op: 'stats' };

export type FromWorker =
  | { op: 'ready' }
  /** frames wait in some of this worker's output rings */
  | { op: 'frames' }
  /** the chain is gone: its ring may be reused */
  | { op: 'closed'; id: number }
  | { op: 'error'; id: number; message: string }
  /** the worker's V8 heap and its WASM linear memories, bytes (answers 'stats') */
  | { op: 'stats'; heapUsed: number; external: number; wasm: number; chains: number };

/**
 * Input slots per ring, 20 ms each: an edge may release a burst of up to 1 s at once (after a
 * network stall) without a refusal. How long input may wait is bounded by time, not by slots:
 * see DSP_DEADLINE_MS.
 */
export const RING_SLOTS = 50;
/**
 * Audio that has waited this long (ms) for the DSP is dropped, never processed late (counted as
 * DSP_OVERLOAD): each call's DSP backlog is capped at about three packets (DSP_DEADLINE_MS).
 * Input that has waited a third of it makes its chain shed (bypass RNNoise; see DenoiseStage).
 */
export const DSP_DEADLINE_MS = 60;

/** Int32 counters at the start of a ring; each is written by one side only. */
const PUSHED = 0; // main: inputs written
const CONSUMED = 1; // worker: inputs read and released (processed or dropped)
const PRODUCED = 2; // worker: frames written
const READ = 3; // main: frames read and released
const STALE = 4; // worker: inputs dropped past DSP_DEADLINE_MS
const OVERRUN = 5; // worker: frames dropped, the output ring being full
const COUNTERS = 8;
/** Float64 metadata per input slot: samples, packet arrival (ms, main clock), pushed at (ms, epoch). */
const IN_META = 3;
/** Float64 metadata per output slot: see FrameMeta. */
export const OUT_META = 8;

/** What travels with each frame, besides its samples (indices into a frame's Float64 metadata). */
export const FrameMeta = {
  vad0: 0,
  vad1: 1,
  level0: 2,
  level1: 3,
  arrivalMs: 4,
  /** FrameFlags */
  flags: 5,
  /** the call's estimated SNR, dB (NaN until estimated) */
  snrDb: 6,
} as const;

/** Bits of FrameMeta.flags. */
export const FrameFlags = {
  /** RNNoise shaped (part of) this frame */
  denoised: 1,
  /** the chain is shedding: RNNoise bypassed because the DSP fell behind */
  shed: 2,
  /** the auto-denoise decision has been made */
  decided: 4,
  /** the route or the auto decision wants RNNoise (it may still be warming up or waiting for a pause) */
  wanted: 8,
} as const;

/** Milliseconds on a clock every thread shares (performance.now() has a per-thread origin). */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One call's shared buffers: an input ring (decoded edge PCM, main → worker) and an output ring
 * (20 ms agent-rate frames, worker → main), with per-slot metadata and the counters each side
 * publishes (Atomics), so neither overwrites a slot the other has not read.
 */
export class DspRing {
  readonly sab: SharedArrayBuffer;
  readonly #c: Int32Array;
  readonly #inMeta: Float64Array;
  readonly #outMeta: Float64Array;
  readonly #in: Int16Array;
  readonly #out: Int16Array;

  constructor(
    readonly inSlot: number,
    readonly outSlot: number,
    sab?: SharedArrayBuffer,
  ) {
    const metaBytes = 8 * RING_SLOTS * (IN_META + OUT_META);
    this.sab = sab ?? new SharedArrayBuffer(4 * COUNTERS + metaBytes + 2 * RING_SLOTS * (inSlot + outSlot));
    this.#c = new Int32Array(this.sab, 0, COUNTERS);
    this.#inMeta = new Float64Array(this.sab, 4 * COUNTERS, RING_SLOTS * IN_META);
    this.#outMeta = new Float64Array(this.sab, 4 * COUNTERS + 8 * RING_SLOTS * IN_META, RING_SLOTS * OUT_META);
    this.#in = new Int16Array(this.sab, 4 * COUNTERS + metaBytes, RING_SLOTS * inSlot);
    this.#out = new Int16Array(this.sab, 4 * COUNTERS + metaBytes + 2 * RING_SLOTS * inSlot, RING_SLOTS * outSlot);
  }

  /** Main: makes a ring whose worker side has closed ready for another call. */
  reset(): void {
    for (let i = 0; i < COUNTERS; i++) Atomics.store(this.#c, i, 0);
  }

  // main → worker

  /** Main: copies pcm[from, from + n) into the next input slot; false (nothing written) when the ring is full. */
  write(pcm: Int16Array, from: number, n: number, arrivalMs: number): boolean {
    const k = Atomics.load(this.#c, PUSHED);
    if (k - Atomics.load(this.#c, CONSUMED) >= RING_SLOTS || n > this.inSlot) return false;
    const slot = k % RING_SLOTS;
    const base = slot * this.inSlot;
    for (let i = 0; i < n; i++) this.#in[base + i] = pcm[from + i]!;
    this.#inMeta[slot * IN_META] = n;
    this.#inMeta[slot * IN_META + 1] = arrivalMs;
    this.#inMeta[slot * IN_META + 2] = epochMs();
    Atomics.store(this.#c, PUSHED, k + 1);
    return true;
  }

  /** Worker: inputs waiting. */
  pending(): number {
    return Atomics.load(this.#c, PUSHED) - Atomics.load(this.#c, CONSUMED);
  }

  /** Worker: the next input's samples (a view, valid until released). */
  input(): Int16Array {
    const slot = Atomics.load(this.#c, CONSUMED) % RING_SLOTS;
    return this.#in.subarray(slot * this.inSlot, slot * this.inSlot + this.#inMeta[slot * IN_META]!);
  }

  /** Worker: the next input's packet arrival time (ms, main clock). */
  inputArrivalMs(): number {
    return this.#inMeta[(Atomics.load(this.#c, CONSUMED) % RING_SLOTS) * IN_META + 1]!;
  }

  /** Worker: how long the next input has waited (ms). */
  inputWaitMs(nowEpochMs: number): number {
    return nowEpochMs - this.#inMeta[(Atomics.load(this.#c, CONSUMED) % RING_SLOTS) * IN_META + 2]!;
  }

  /** Worker: done with the next input; `stale`: dropped unprocessed, past its deadline. */
  release(stale: boolean): void {
    if (stale) Atomics.add(this.#c, STALE, 1);
    Atomics.add(this.#c, CONSUMED, 1);
  }

  // worker → main

  /** Worker: copies a frame and its metadata (FrameMeta) into the next output slot; false when full (counted). */
  produce(frame: Int16Array, meta: Float64Array): boolean {
    const k = Atomics.load(this.#c, PRODUCED);
    if (k - Atomics.load(this.#c, READ) >= RING_SLOTS) {
      Atomics.add(this.#c, OVERRUN, 1);
      return false;
    }
    const slot = k % RING_SLOTS;
    this.#out.set(frame, slot * this.outSlot);
    this.#outMeta.set(meta, slot * OUT_META);
    Atomics.store(this.#c, PRODUCED, k + 1);
    return true;
  }

  /** Main: frames waiting. */
  frames(): number {
    return Atomics.load(this.#c, PRODUCED) - Atomics.load(this.#c, READ);
  }

  /** Main: the next frame (a view, valid until releaseFrame). */
  frame(): Int16Array {
    const k = Atomics.load(this.#c, READ) % RING_SLOTS;
    return this.#out.subarray(k * this.outSlot, (k + 1) * this.outSlot);
  }

  /** Main: the next frame's metadata (FrameMeta indices; a view, valid until releaseFrame). */
  meta(): Float64Array {
    const k = Atomics.load(this.#c, READ) % RING_SLOTS;
    return this.#outMeta.subarray(k * OUT_META, (k + 1) * OUT_META);
  }

  /** Main: done with the frame; the worker may reuse its slot. */
  releaseFrame(): void {
    Atomics.add(this.#c, READ, 1);
  }

  /** Inputs dropped past their deadline and frames dropped on a full output ring, so far. */
  get dropped(): number {
    return Atomics.load(this.#c, STALE) + Atomics.load(this.#c, OVERRUN);
  }
}

/** Int32 flags and BigInt64 counters of one worker, shared with the main thread. */
const SLEEPING = 0; // worker: 1 while it waits for a 'wake'
const NOTIFIED = 1; // worker: 1 once a 'frames' message is on its way, until main has looked

/**
 * The doorbells and the load of one worker. The worker publishes the total time it has spent
 * processing (µs), from which the main thread derives its busy fraction over any window.
 */
export class WorkerSignals {
  readonly sab: SharedArrayBuffer;
  readonly #flags: Int32Array;
  readonly #busy: BigInt64Array;

  constructor(sab?: SharedArrayBuffer) {
    this.sab = sab ?? new SharedArrayBuffer(16);
    this.#flags = new Int32Array(this.sab, 0, 2);
    this.#busy = new BigInt64Array(this.sab, 8, 1);
  }

  /** Worker: about to wait for a wake. */
  sleep(): void {
    Atomics.store(this.#flags, SLEEPING, 1);
  }

  /** Worker: awake again (before it looks for work). */
  awake(): void {
    Atomics.store(this.#flags, SLEEPING, 0);
  }

  /** Main: true when the worker slept and this caller must wake it (exactly one caller wins). */
  claimWake(): boolean {
    return Atomics.compareExchange(this.#flags, SLEEPING, 1, 0) === 1;
  }

  /** Worker: true when this caller must post 'frames' (none is on its way). */
  claimNotify(): boolean {
    return Atomics.compareExchange(this.#flags, NOTIFIED, 0, 1) === 0;
  }

  /** Main: about to look at the frames (later ones need a new message). */
  notified(): void {
    Atomics.store(this.#flags, NOTIFIED, 0);
  }

  /** Worker: adds processing time, µs. */
  addBusy(us: number): void {
    Atomics.add(this.#busy, 0, BigInt(Math.round(us)));
  }

  /** Total processing time so far, µs. */
  get busyUs(): number {
    return Number(Atomics.load(this.#busy, 0));
  }
}
