import { performance } from 'node:perf_hooks';

/** How far behind its schedule a test peer still sends at once, ms: what network jitter would bring together. */
const MAX_BURST_MS = 100;

/**
 * A test peer's send clock: item k is due `periodMs`·k after the start, on an absolute schedule, so
 * timer lateness never accumulates.
 *
 * Held back by the event loop, which test peers share with the gateway (a loaded machine), it lets
 * up to `MAX_BURST_MS` of items go at once; further behind, it resumes its pace from the next item,
 * the rest that much later: a delay spike, not a flood. A whole stall's RTP packets at once are, past
 * the per-call rate limit's burst (75 packets, 1.5 s of a call's), cut as a flood, as a real phone's
 * would be after a gateway stall that long; that is the rate limit's test (faults.test), not every
 * test's.
 */
export class SendClock {
  readonly #periodMs: number;
  #t0: number;

  /** @param startInMs when item 0 is due, ms from now */
  constructor(periodMs: number, startInMs = 0) {
    this.#periodMs = periodMs;
    this.#t0 = performance.now() + startInMs;
  }

  /** Resolves when item `k` is due. */
  async due(k: number): Promise<void> {
    const wait = this.#t0 + k * this.#periodMs - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    else if (wait > 0) await new Promise((r) => setImmediate(r));
    else if (wait < -MAX_BURST_MS) this.#t0 -= wait;
  }
}
