/**
 * Levels of the judged caller audio per 10 ms slot of media time (slot = endMs / 10 − 1), kept
 * for SLOTS slots: 2.56 s covers the speech model's longest lag (SileroVad: ≈ 2 s queued), so a
 * chunk judged late still finds the levels of its own samples.
 */
const SLOTS = 256;
const SILENT_DB = -100;

export class MediaLevels {
  /** dBFS per slot (ring) */
  readonly #db = new Float32Array(SLOTS).fill(SILENT_DB);
  #last = -1;

  /** The level (dBFS) of the 10 ms ending at media time `endMs` (ms); slots skipped were silent. */
  set(endMs: number, db: number): void {
    const slot = Math.round(endMs / 10) - 1;
    for (let s = this.#last + 1; s < slot; s++) this.#db[ring(s)] = SILENT_DB;
    this.#db[ring(slot)] = db;
    this.#last = Math.max(this.#last, slot);
  }

  /** Mean power level of slots [first, last], dBFS (slots not yet heard, or long gone, are silent). */
  meanDb(first: number, last: number): number {
    let pow = 0;
    for (let s = first; s <= last; s++) pow += 10 ** ((s > this.#last || s <= this.#last - SLOTS ? SILENT_DB : this.#db[ring(s)]!) / 10);
    return 10 * Math.log10(pow / Math.max(1, last - first + 1) + 1e-12);
  }
}

const ring = (s: number): number => ((s % SLOTS) + SLOTS) % SLOTS;
