/**
 * The echo return loss a caller's line has shown (BargeInDetector reads it until the echo is found).
 * What came back while the agent spoke holds its echo and more (the caller, her noise): for an echo
 * d 10 ms slots late, each window of SHOWN_SLOTS slots (50 ms) of the line shows a loss of about
 * the power the agent played d slots before it over the line's power, or more (the window's echo is
 * no louder than the window). The most any of the last SHOWN_WINDOWS windows at d showed is the
 * loss shown at d; the least of those over the echo window's delays, once every delay has one, is
 * the loss shown wherever the echo is (at most MOST_SHOWN_DB). The detector takes it where it is
 * more than erlPriorDb: the loudest reference of the echo window less it, where the prior's
 * estimate was the loudest less erlPriorDb.
 * So a line with no echo, or one far quieter than the prior (a mobile or softphone that cancels its
 * own, a 4-wire trunk, a handset of 25 dB ERL), lets a quiet caller through from 0.35 s into the
 * agent's speech, where she had to out-talk the prior until the echo was found or a second of the
 * agent's speech had found none (`pathMeasured`).
 *   - The most over windows: her voice only lowers what a window shows. A window bounds an echo
 *     that falls whole within it; a delay between slots, a tail, the agent's onsets and ends spill
 *     echo over its edges: a window can show a few dB more than the path has. The line's levels
 *     come on its own clock, not the judged audio's, a suppressor block (4–8 ms) behind it
 *     (LineEcho `lineAtMs`): so stamped, with the caller in the agent's first second, recall rose
 *     301 → 303 of 384 on the tune split, 316 → 319 held out (bench/README.md, fiftieth pass).
 *   - The least over delays, not each delay's own (the echo predicted from each delay's reference
 *     less its loss): a window whose agent audio lay mostly out of the line's band (a hum under a
 *     handset's 200–400 Hz high-pass) shows more loss than the path has for speech in the band.
 *     Each delay's own let such echo over the prediction on band-limited lines, where the loudest
 *     of the echo window no longer covered it: with the caller in the agent's first second
 *     (bench/README.md, forty-ninth pass), recall 281 → 317 of 384 on the tune split, but false
 *     ducks 43 → 49; the least over delays, 301 and 43.
 *   - A window with a slot not heard (lost, or not sent: a phone's DTX) shows nothing.
 *   - Once the line is taken as having no echo (`pathMeasured`), the detector holds the echo to the
 *     line's median + 6 dB as before (UNFOUND_OVER_LINE_DB) where that asks more: a scratch variant
 *     that went on with the bound alone made two more clears on music and babble 7–9 s into the
 *     agent's speech (ibid.). Where the line showed less loss than the prior, the prior stands: so
 *     does an echo the search finds late under noise (the median there cleared the agent once
 *     before the caller spoke: fiftieth pass).
 * Cost: every 50 ms until the echo is found (on a line with none, all call long), 40 powers, 155
 * additions and 620 comparisons.
 */
const SHOWN_SLOTS = 5;
const SHOWN_WINDOWS = 20;
/**
 * The most loss shown, dB: as much as the canceller's measure is believed (LineEcho
 * `reportedLoss`). A line of digital silence, or a phone's own suppressor and comfort noise, shows
 * 60–80 dB, and the echo its suppressor lets through as the agent starts would stand over that.
 */
const MOST_SHOWN_DB = 40;

/**
 * One caller's line, 10 ms at a time, against what the agent played: the loss it has shown
 * wherever the echo is, dB (NaN until every delay of the echo window has had a window of it; at
 * most MOST_SHOWN_DB).
 */
export class ShownLoss {
  readonly #delays: number;
  readonly #speechPower: number;
  /** the line per 10 ms slot over the window being filled (ring of SHOWN_SLOTS; NaN: not heard), dBFS, and its last slot */
  readonly #line: Float32Array;
  #lineSlot = -1;
  /** per echo delay d (slots, 0..`#delays`): the loss the last SHOWN_WINDOWS windows showed there (ring, dB), and how many did */
  readonly #at: Float32Array;
  readonly #count: Int32Array;
  /** the reference's power per slot a window reads, from the longest delay's first slot (scratch) */
  readonly #played: Float64Array;
  #erlDb = NaN;

  /**
   * `delays`: the longest echo delay, 10 ms slots; `speechDb`: the reference level from which the
   * agent is taken to be speaking, dBFS per 10 ms.
   */
  constructor(delays: number, speechDb: number) {
    this.#delays = delays;
    this.#speechPower = SHOWN_SLOTS * 10 ** (speechDb / 10);
    this.#line = new Float32Array(SHOWN_SLOTS).fill(NaN);
    this.#at = new Float32Array((delays + 1) * SHOWN_WINDOWS);
    this.#count = new Int32Array(delays + 1);
    this.#played = new Float64Array(delays + SHOWN_SLOTS);
  }

  /** The loss the line has shown wherever the echo is, dB (NaN: not yet). */
  get erlDb(): number {
    return this.#erlDb;
  }

  /** The line's level over 10 ms slot `slot` (dBFS), and the reference's level at any slot (`played`, dBFS). */
  line(slot: number, db: number, played: (slot: number) => number): void {
    if (slot <= this.#lineSlot) return;
    // slots skipped (lost, not sent) within the window are not heard; a window reads only its own
    for (let s = Math.max(this.#lineSlot + 1, slot - SHOWN_SLOTS + 1); s < slot; s++) this.#line[s % SHOWN_SLOTS] = NaN;
    this.#line[slot % SHOWN_SLOTS] = db;
    this.#lineSlot = slot;
    if ((slot + 1) % SHOWN_SLOTS === 0) this.#window(slot - SHOWN_SLOTS + 1, played);
  }

  /** The window of the line from slot `s0`: the loss it shows at each delay the agent spoke at. */
  #window(s0: number, played: (slot: number) => number): void {
    if (s0 < 0) return;
    let line = 0;
    for (let s = s0; s < s0 + SHOWN_SLOTS; s++) {
      const l = this.#line[s % SHOWN_SLOTS]!;
      if (Number.isNaN(l)) return;
      line += 10 ** (l / 10);
    }
    // each slot's power once: the delays' windows overlap (slot s0 − D + i at index i)
    const first = s0 - this.#delays;
    for (let i = 0; i < this.#played.length; i++) this.#played[i] = 10 ** (played(first + i) / 10);
    let least = Infinity;
    for (let d = 0; d <= this.#delays; d++) {
      let power = 0;
      for (let i = this.#delays - d; i < this.#delays - d + SHOWN_SLOTS; i++) power += this.#played[i]!;
      const ring = d * SHOWN_WINDOWS;
      // a window the agent was speaking d slots before
      if (power >= this.#speechPower) this.#at[ring + (this.#count[d]!++ % SHOWN_WINDOWS)] = 10 * Math.log10(power / (line + 1e-12));
      let most = -Infinity;
      for (let i = 0; i < Math.min(this.#count[d]!, SHOWN_WINDOWS); i++) most = Math.max(most, this.#at[ring + i]!);
      least = Math.min(least, most);
    }
    this.#erlDb = least > -Infinity ? Math.min(MOST_SHOWN_DB, least) : NaN;
  }
}
