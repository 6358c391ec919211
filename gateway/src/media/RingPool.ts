import { DspRing } from './dspProtocol.js';

/**
 * Rings of closed calls, by shape, for the next calls: a worker allocates almost nothing, so it
 * rarely collects garbage, and fresh SharedArrayBuffers per call would pile up (measured: ~40 KB
 * per call ended, until the worker's next GC). Reused, they are bounded by the peak call count.
 */
export class RingPool {
  readonly #free = new Map<string, DspRing[]>();
  /** rings whose worker side is still closing, by chain id */
  readonly #closing = new Map<number, DspRing>();

  /** A ring for a new chain: a free one of that shape, or a new one. */
  take(inSlot: number, outSlot: number): DspRing {
    return this.#free.get(`${inSlot}/${outSlot}`)?.pop() ?? new DspRing(inSlot, outSlot);
  }

  /** The chain `id` is closing: its ring comes back once the worker says it is closed. */
  closing(id: number, ring: DspRing): void {
    this.#closing.set(id, ring);
  }

  /** The worker closed chain `id`: its ring is free for another call. */
  closed(id: number): void {
    const ring = this.#closing.get(id);
    this.#closing.delete(id);
    if (ring === undefined) return;
    ring.reset();
    const key = `${ring.inSlot}/${ring.outSlot}`;
    const free = this.#free.get(key) ?? [];
    free.push(ring);
    this.#free.set(key, free);
  }
}
