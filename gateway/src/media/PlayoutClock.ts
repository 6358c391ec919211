import { performance } from 'node:perf_hooks';

/** Something driven by the clock: one call's outbound media. */
export interface Tickable {
  /**
   * @param nowMs the scheduled time of this tick (performance.now() timeline)
   * @param slots frame slots elapsed since the previous tick (1 normally; more after a stall
   *   too long to catch up, so RTP timestamps stay on the wall clock)
   */
  tick(nowMs: number, slots: number): void;
}

export const FRAME_MS = 20;
/** A stall longer than this many frames is not caught up: slots are skipped instead. */
const MAX_CATCH_UP = 3;

/**
 * One drift-free 20 ms clock for every call (not a timer per call): ticks are scheduled on an
 * absolute timeline (start + k·20 ms), so timer lateness never accumulates. After a short stall
 * the missed ticks run back to back; after a long one, slots are skipped.
 */
export class PlayoutClock<T extends Tickable = Tickable> {
  readonly #subs = new Set<T>();
  #timer: NodeJS.Timeout | null = null;
  #next = 0;
  readonly #onLateness: (ms: number, skippedSlots: number) => void;
  readonly #onError: (t: T, err: unknown) => void;

  /**
   * @param onLateness told how late each tick fired, ms, and how many slots it skipped for it (0
   *   unless the stall was too long to catch up)
   * @param onError told when a subscriber throws; the clock keeps running for the others
   */
  constructor(onLateness: (ms: number, skippedSlots: number) => void = () => {}, onError: (t: T, err: unknown) => void = () => {}) {
    this.#onLateness = onLateness;
    this.#onError = onError;
  }

  get size(): number {
    return this.#subs.size;
  }

  add(t: T): void {
    this.#subs.add(t);
    if (this.#timer === null) {
      this.#next = performance.now() + FRAME_MS;
      this.#schedule();
    }
  }

  delete(t: T): void {
    this.#subs.delete(t);
    if (this.#subs.size === 0 && this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  stop(): void {
    this.#subs.clear();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    const delay = Math.max(0, this.#next - performance.now());
    this.#timer = setTimeout(this.#run, delay);
  }

  readonly #run = (): void => {
    const now = performance.now();
    const late = now - this.#next;
    let slots = 1;
    const behind = Math.floor(late / FRAME_MS);
    if (behind > MAX_CATCH_UP) {
      slots += behind;
      this.#next += behind * FRAME_MS;
    }
    this.#onLateness(late, slots - 1);
    let runs = 0;
    while (this.#next <= now && runs <= MAX_CATCH_UP) {
      for (const s of this.#subs) {
        try {
          s.tick(this.#next, runs === 0 ? slots : 1);
        } catch (err) {
          this.#onError(s, err);
        }
      }
      this.#next += FRAME_MS;
      runs++;
    }
    if (this.#subs.size > 0) this.#schedule();
    else this.#timer = null;
  };
}
