/**
 * Where each of a service's audio items (OpenAI Realtime's assistant message items) lies in what
 * the call's playout has taken since its last clear, so that, when the caller interrupts, each
 * item can be truncated at exactly what the caller heard of it.
 *
 * The playout's `heardMs()` counts the agent audio heard since its last clear (queued and
 * in-flight audio excluded). Items are queued back to back in that same count: an item starts at
 * the ms of audio queued before its first delta. The truncation point of an item is then
 * `heard − start`, bounded by what the item has delivered (the service refuses a point beyond its
 * audio: `conversation.item.truncate`, "audio_end_ms greater than the actual audio duration").
 */
interface Item {
  id: string;
  /** ms of audio queued since the last clear before this item's first delta */
  startMs: number;
  /** ms of this item's audio queued */
  ms: number;
  /** the service said the item's audio is complete */
  done: boolean;
}

export interface Cut {
  itemId: string;
  /** integer ms of the item's audio the caller heard */
  audioEndMs: number;
}

/** Items cut once are remembered this many at most (their late deltas are dropped). */
const CUT_MEMORY = 64;

export class PlayedItems {
  #items: Item[] = [];
  /** ms of audio queued since the last clear */
  #queuedMs = 0;
  readonly #cut: string[] = [];

  /** Whether an item was cut: its further audio is dropped. */
  wasCut(id: string): boolean {
    return this.#cut.includes(id);
  }

  /** Whether any item's audio is queued or playing since the last clear. */
  get any(): boolean {
    return this.#items.length > 0;
  }

  /** `ms` of item `id` queued; `heardMs` (now) lets items fully heard and complete be forgotten. */
  add(id: string, ms: number, heardMs: number): void {
    let last = this.#items.at(-1);
    if (last?.id !== id) {
      this.#items = this.#items.filter((it) => !(it.done && it.startMs + it.ms <= heardMs));
      last = { id, startMs: this.#queuedMs, ms: 0, done: false };
      this.#items.push(last);
    }
    last.ms += ms;
    this.#queuedMs += ms;
  }

  done(id: string): void {
    const it = this.#items.find((x) => x.id === id);
    if (it !== undefined) it.done = true;
  }

  /**
   * The caller interrupted having heard `heardMs` since the last clear: the truncation point of
   * every item not wholly heard and complete (0 for items not reached), which are then dropped
   * with the rest of the queue (the playout is cleared: counts start again from zero).
   */
  cut(heardMs: number): Cut[] {
    const out: Cut[] = [];
    for (const it of this.#items) {
      const heard = Math.min(it.ms, Math.max(0, heardMs - it.startMs));
      if (it.done && heard >= it.ms) continue;
      out.push({ itemId: it.id, audioEndMs: Math.floor(heard) });
      this.#cut.push(it.id);
    }
    if (this.#cut.length > CUT_MEMORY) this.#cut.splice(0, this.#cut.length - CUT_MEMORY);
    this.clear();
    return out;
  }

  /** The playout was cleared: counts start again. */
  clear(): void {
    this.#items = [];
    this.#queuedMs = 0;
  }
}
