import type { InboundDspOptions } from './InboundDsp.js';

/**
 * Messages between the main thread and a DSP worker. Audio never travels in them: each call has
 * a DspRing in shared memory, allocated once, and messages only say "slot ready" (they are tiny
 * structured clones). Slots are implied by order: the k-th push uses input slot k mod SLOTS, the
 * k-th frame output slot k mod SLOTS.
 */
export type ToWorker =
  | { op: 'open'; id: number; opts: InboundDspOptions; ring: SharedArrayBuffer; inSlot: number; outSlot: number }
  | { op: 'push'; id: number; n: number; arrivalMs: number }
  | { op: 'close'; id: number }
  | { op: 'stats' };

export type FromWorker =
  | { op: 'ready' }
  /** a frame is in the output slot; its voice probabilities and raw input levels (dBFS) per 10 ms */
  | { op: 'frame'; id: number; vad0: number; vad1: number; level0: number; level1: number; arrivalMs: number }
  /** the main thread fell a whole ring behind: the worker dropped a frame */
  | { op: 'overrun'; id: number }
  /** the chain is gone: its ring may be reused */
  | { op: 'closed'; id: number }
  | { op: 'error'; id: number; message: string }
  /** the worker's V8 heap and its WASM linear memories, bytes (answers 'stats') */
  | { op: 'stats'; heapUsed: number; external: number; wasm: number; chains: number };

/**
 * Slots per ring, 20 ms each: either side may fall 1 s behind (an edge releasing a burst after a
 * network stall, a busy event loop) before audio is dropped and counted (DSP_OVERLOAD).
 */
export const RING_SLOTS = 50;
const CONSUMED = 0; // worker: pushes read and released
const READ = 1; // main: frames read and released
const COUNTERS = 2;

/**
 * One call's shared buffers: an input ring (decoded edge PCM, main → worker) and an output ring
 * (20 ms agent-rate frames, worker → main), with the counters each side publishes (Atomics) so
 * neither overwrites a slot the other has not read.
 */
export class DspRing {
  readonly sab: SharedArrayBuffer;
  readonly #counters: Int32Array;
  readonly #in: Int16Array;
  readonly #out: Int16Array;
  /** local counts: pushes (main) / frames produced (worker) */
  #pushed = 0;
  #produced = 0;

  constructor(
    readonly inSlot: number,
    readonly outSlot: number,
    sab?: SharedArrayBuffer,
  ) {
    this.sab = sab ?? new SharedArrayBuffer(4 * COUNTERS + 2 * RING_SLOTS * (inSlot + outSlot));
    this.#counters = new Int32Array(this.sab, 0, COUNTERS);
    this.#in = new Int16Array(this.sab, 4 * COUNTERS, RING_SLOTS * inSlot);
    this.#out = new Int16Array(this.sab, 4 * COUNTERS + 2 * RING_SLOTS * inSlot, RING_SLOTS * outSlot);
  }

  /** Main: makes a ring whose worker side has closed ready for another call. */
  reset(): void {
    Atomics.store(this.#counters, CONSUMED, 0);
    Atomics.store(this.#counters, READ, 0);
    this.#pushed = 0;
    this.#produced = 0;
  }

  /** Main: copies pcm[from, from + n) into the next input slot; false (nothing written) when the worker is a ring behind. */
  write(pcm: Int16Array, from: number, n: number): boolean {
    if (this.#pushed - Atomics.load(this.#counters, CONSUMED) >= RING_SLOTS || n > this.inSlot) return false;
    const base = (this.#pushed % RING_SLOTS) * this.inSlot;
    for (let i = 0; i < n; i++) this.#in[base + i] = pcm[from + i]!;
    this.#pushed++;
    return true;
  }

  /** Worker: the next pushed input, `n` samples (a view, valid until the slot is released). */
  takeInput(n: number): Int16Array {
    const k = Atomics.load(this.#counters, CONSUMED);
    return this.#in.subarray((k % RING_SLOTS) * this.inSlot, (k % RING_SLOTS) * this.inSlot + n);
  }

  /** Worker: done with the input taken last. */
  releaseInput(): void {
    Atomics.add(this.#counters, CONSUMED, 1);
  }

  /** Worker: copies a frame into the next output slot; false when the main thread is a ring behind. */
  produce(frame: Int16Array): boolean {
    if (this.#produced - Atomics.load(this.#counters, READ) >= RING_SLOTS) return false;
    this.#out.set(frame, (this.#produced % RING_SLOTS) * this.outSlot);
    this.#produced++;
    return true;
  }

  /** Main: the next frame (a view, valid until releaseFrame). */
  frame(): Int16Array {
    const k = Atomics.load(this.#counters, READ) % RING_SLOTS;
    return this.#out.subarray(k * this.outSlot, (k + 1) * this.outSlot);
  }

  /** Main: done with the frame; the worker may reuse its slot. */
  releaseFrame(): void {
    Atomics.add(this.#counters, READ, 1);
  }
}
