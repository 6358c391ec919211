/** RFC 3261 §17.1.1.1 timer bases, in ms. Tests shrink them. */
export interface TimerConfig {
  /** RTT estimate (default 500). */
  t1: number;
  /** Cap on non-INVITE request and INVITE response retransmit intervals (default 4000). */
  t2: number;
  /** Longest time a message stays in the network (default 5000). */
  t4: number;
}

export const DEFAULT_TIMERS: Readonly<TimerConfig> = { t1: 500, t2: 4000, t4: 5000 };

/** Owns a set of timers (a transaction's, a dialog's), so one call releases them all. */
export class Timers {
  readonly #set = new Set<NodeJS.Timeout>();
  /** Runs `fn` after `ms` milliseconds; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void {
    const t = setTimeout(() => {
      this.#set.delete(t);
      fn();
    }, ms);
    this.#set.add(t);
    return () => {
      clearTimeout(t);
      this.#set.delete(t);
    };
  }
  clear(): void {
    for (const t of this.#set) clearTimeout(t);
    this.#set.clear();
  }
}
