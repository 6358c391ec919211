/**
 * Bulk delay of a line echo: where in 0..maxDelay the far end (reference) reappears in the near
 * end. Every `everyMs` the last `windowMs` of near-end audio is cross-correlated with the
 * reference, coarse (every `dec`th sample, over contiguous copies, with the reference energy slid
 * along the lags) then refined at full rate. A dispersive path smears the peak over a few ms; the
 * echo canceller's filter spans that, so only a move out of its span counts as a new path. A
 * handset's or a hybrid's later reflection sometimes correlates best with a window of speech, and
 * a long voiced one a few pitch periods off the path: while the filter cancels (`holding`), a move
 * beyond its reach (later than its span, or so much earlier that its old place would fall out of
 * the new span) needs the old place to have stopped correlating, and a second search to agree.
 * While it does not cancel, a peak 4 ms or more earlier, found by two searches in a row, moves it
 * even inside its span, never more than `slackBefore` before where the lock put it (a first lock a
 * pitch period late); and two weaker peaks in a row before its span, which one span would cover,
 * move it to the earlier (a first lock far after the path).
 *
 * Cost: ≈ W/dec · maxDelay/dec multiply-adds per search (0.5 M at 8 kHz; twice that over a window
 * with a gap, whose reference energy is summed lag by lag), every 200 ms until locked, every second
 * after; searches back off while nothing is found. One with nothing to learn from (the near end
 * silent or mostly unheard, or nothing played) stops before correlating and leaves the back-off as
 * it was: the agent's first words, often seconds into a call, are searched at once, and a line
 * whose echo was not found is not searched more often for the agent's pauses. One over the far
 * end's first moments after a silence (`#farEndStarting`) leaves it as it was too: it can barely
 * have met the echo.
 */
export interface BulkDelayOptions {
  rate: number;
  /** samples */
  maxDelay: number;
  windowMs?: number;
  everyMs?: number;
}

/**
 * A peak this strong is the echo at once; a weaker one (≥ AGREE_CORR) must be found twice, ±2 ms,
 * with no other weaker one between (before a filter that does not cancel, twice within
 * `slackAfter`; while one cancels, with its own place not found between: see `near`).
 */
const LOCK_CORR = 0.5;
const AGREE_CORR = 0.25;
/** `#estimate` had nothing to learn from (near end silent, or nothing played): the back-off stays as it was. */
const IDLE = -2;
/** A peak this strong against the best one where the filter is keeps it there (see `holding`). */
const STAY_SHARE = 0.5;

export class BulkDelay {
  /** samples (−1: not locked) */
  delay = -1;
  /** normalised correlation at the delay found */
  corr = 0;
  /** the best normalised correlation any search has found, and how many searches had the far end to correlate with */
  peak = 0;
  searches = 0;
  /**
   * Echo return loss as the correlation reads it where the path is, dB (NaN until locked, and after
   * a move until a search peaks within the new span): −20·log10 of the reference's least-squares
   * gain in the near end at the search's peak (its correlation over the reference's energy). Unlike
   * a ratio of powers it does not read low while the caller talks: her voice and the line's noise do
   * not correlate with the reference. It reads high where the peak holds only part of the echo: a
   * dispersive path (G.168 D.8 at 15 dB: 22 dB), a lock off the path's peak, the coarse lags.
   */
  erlDb = NaN;
  /** the last search's reading (as `erlDb`) and the lag of its peak (−1: no peak to trust) */
  #reading = NaN;
  #readingLag = -1;
  readonly #maxDelay: number;
  readonly #win: number;
  readonly #every: number;
  readonly #dec: number;
  /** the near end by its clock (sample `s` at `s & mask`), and the span of it heard so far */
  readonly #near: Float32Array;
  /** which of those samples were heard (1: came, or a silence not sent) and which were lost (0) */
  readonly #heard: Uint8Array;
  /** of the gap before the next samples, how many at its end were lost (`lost`) */
  #lost = 0;
  #silenceUnsent = false;
  #nearFrom = NaN;
  #nearEnd = NaN;
  #since = 0;
  #backoff = 1;
  /** the last weaker peak (or, while the filter cancels, one beyond its reach), waiting for a later search to agree (−1: none) */
  #candidate = -1;
  /** the far end started within the last search's window, after a silence (`#estimate`) */
  #farEndStarting = false;
  readonly #agree: number;
  /** an earlier peak this far from the delay is another place, samples (4 ms) */
  readonly #refine: number;
  /** an earlier peak inside the span, waiting for the next search to agree (−1: none) */
  #earlier = -1;
  /** where the last lock or move out of the span put the delay (−1: not yet) */
  #placed = -1;
  readonly #nearC: Float32Array;
  readonly #heardC: Uint8Array;
  readonly #refC: Float32Array;
  /** where the caller's filter covers: a delay within [delay − slackBefore, delay + slackAfter] is the same path */
  slackBefore = 0;
  slackAfter = 0;
  /** the caller's filter cancels this path well: a move beyond its reach must be confirmed */
  holding = false;

  constructor(o: BulkDelayOptions) {
    this.#maxDelay = o.maxDelay;
    this.#win = Math.round(((o.windowMs ?? 300) * o.rate) / 1000);
    this.#every = Math.round(((o.everyMs ?? 200) * o.rate) / 1000);
    this.#dec = Math.max(1, Math.round(o.rate / 2000));
    this.#agree = Math.round(o.rate / 500);
    this.#refine = Math.round(o.rate / 250);
    this.#near = new Float32Array(1 << Math.ceil(Math.log2(this.#win + o.rate / 5)));
    this.#heard = new Uint8Array(this.#near.length);
    this.#nearC = new Float32Array(Math.floor(this.#win / this.#dec));
    this.#heardC = new Uint8Array(this.#nearC.length);
    this.#refC = new Float32Array(Math.floor(this.#win / this.#dec) + Math.floor(this.#maxDelay / this.#dec) + 1);
  }

  /**
   * Adds near-end samples; returns true when the delay was found, moved out of the filter's span,
   * or moved earlier inside it while the filter does not cancel.
   */
  near(x: Int16Array, atSample: number, refAt: (s: number) => number): boolean {
    const nmask = this.#near.length - 1;
    if (Number.isNaN(this.#nearEnd)) this.#nearFrom = this.#nearEnd = atSample;
    if (atSample - this.#lost > this.#nearEnd) this.#silenceUnsent = true;
    // What the near end did not send (a phone's silence between talkspurts, RFC 3551 §4.1; a loss
    // the line does not conceal) is silence where it was due: spliced out, the window's older
    // audio met the reference of a later time, and the delay found was off by the gaps (held-out
    // seed 10 with the phone suppressing silence: 326 ms for a 94 ms path).
    // But a loss (`lost`) is not a silence the echo fell into: the correlation does not count the
    // reference against it. As silence it moved the peak to a later part of the path (G.168 D.5, 3 %
    // of packets lost: 17 ms late, and the canceller's ERLE 25 → 15 dB). A silence the phone did not
    // send is one: its phone heard too little there to send (with it unheard, an Opus phone with DTX
    // had 7 more false ducks of 8, held-out seed 10).
    for (let s = Math.max(this.#nearEnd, atSample - this.#near.length); s < atSample; s++) {
      this.#near[s & nmask] = 0;
      this.#heard[s & nmask] = s < atSample - this.#lost ? 1 : 0;
    }
    this.#lost = 0;
    for (let i = 0; i < x.length; i++) {
      this.#near[(atSample + i) & nmask] = x[i]!;
      this.#heard[(atSample + i) & nmask] = 1;
    }
    this.#nearEnd = Math.max(this.#nearEnd, atSample + x.length);
    this.#since += x.length;
    // Searches back off (×2 per fruitless one, to 5×) and, once locked, run 5× less often: echo
    // paths move rarely (a handset moved), and a line with no echo should cost next to nothing.
    if (this.#since < this.#every * this.#backoff || this.#nearEnd - this.#nearFrom < this.#win) return false;
    this.#since = 0;
    const was = this.delay;
    let found = this.#estimate(atSample + x.length, refAt);
    const idle = found === IDLE;
    if (idle) found = -1;
    const locked = found >= 0 && was >= 0;
    const outside = locked && !this.#inSpan(found);
    const away = locked && this.#beyondReach(found);
    if (was >= 0 && this.#placed < 0) this.#placed = was;
    // While the filter cancels, a search that finds its own place again (±2 ms, as two searches
    // agree; or its place still correlating, `#estimate`'s STAY_SHARE) ends a waiting peak's wait:
    // the path is back, and a move beyond its reach must be found twice with the path away. Left
    // waiting, a moment of the path elsewhere met its like seconds later as the second search that
    // agreed. Otherwise a waiting peak is only replaced by the next weaker one found, as before
    // (other ends tried cost paths found and moved later: bench/README.md, fortieth pass).
    const candidate = this.#candidate;
    if (locked && this.holding && Math.abs(found - was) <= this.#agree) this.#candidate = -1;
    // A filter that does not cancel may have locked late, on a peak a pitch period after the
    // path's (a first search over a little voiced speech), where its lead no longer covers the
    // path's head, and inside its span nothing would move it. There a peak 4 ms or more earlier,
    // found by two searches in a row, moves it (a move earlier keeps the old place in the span);
    // never more than `slackBefore` before where the lock put it, or peaks scattered by noise would
    // walk it earlier, a few ms at a time, off the path's tail.
    const earlier = locked && !outside && !this.holding && found <= was - this.#refine && found >= this.#placed - this.slackBefore;
    if (earlier) {
      const agreed = this.#earlier >= 0 && Math.abs(found - this.#earlier) <= this.#agree;
      this.#earlier = agreed ? -1 : found;
      if (!agreed) found = -1;
    } else {
      this.#earlier = -1;
      // While the filter cancels well (`holding`), a move beyond its reach must be found twice too,
      // however strong: a path that moved stays moved (see `#estimate`). A filter that does not
      // cancel moves out of its span on the first strong peak, and one that does moves a little
      // earlier on it (keeping its old place in the span, and what it learned, by whole blocks).
      // One that does not cancel and lies after the path (a first lock over a flat profile, every
      // lag of a little speech correlating about alike) may meet it under LOCK_CORR alone: under
      // noise, or a codec's, a dispersive path scatters its weaker peaks over its dispersion and
      // its second reflection, never two within 2 ms in a row (held-out seed 11 on Opus: locked at
      // 129 ms on a 30 ms handset path, moved there 8.4 s into the agent's speech, after its echo
      // had cleared the agent). Two in a row before its span, no more than `slackAfter` apart (the
      // earlier's span covers the later), move it to the earlier of the two.
      if (found >= 0 && (this.corr < LOCK_CORR || (away && this.holding))) {
        const before = (s: number) => locked && !this.holding && s >= 0 && s < was - this.slackBefore;
        const spanned = before(found) && before(candidate);
        const agreed = candidate >= 0 && Math.abs(found - candidate) <= (spanned ? Math.max(this.#agree, this.slackAfter) : this.#agree);
        this.#candidate = found;
        if (!agreed) found = -1;
        else if (spanned) found = Math.min(found, candidate);
      }
    }
    let moved = false;
    if (found >= 0 && (was < 0 || outside || earlier)) {
      this.delay = found;
      if (!earlier) this.#placed = found;
      moved = true;
    }
    if (idle) return moved;
    // A search over the far end's first moments found too little of its echo to call the line
    // fruitless: doubled there, the next search came 400 ms on, over echo that had been there
    // since (the agent's first words: bench/README.md, forty-eighth pass).
    const nothing = found < 0 && this.#candidate < 0;
    this.#backoff = this.delay >= 0 ? 5 : !nothing ? 1 : Math.min(5, this.#backoff * (this.#farEndStarting ? 1 : 2));
    // the reading where the path now is: a peak within the filter's span (after a move elsewhere, none)
    const lag = this.#readingLag;
    if (this.delay >= 0 && lag >= 0 && this.#inSpan(lag)) this.erlDb = this.#reading;
    else if (moved) this.erlDb = NaN;
    return moved;
  }

  /**
   * Whether the near end has left out samples it did not tell lost: a phone that does not send its
   * silence (RFC 3551 §4.1), or a burst the line did not conceal. Such a line is heard only while
   * someone talks.
   */
  get silenceUnsent(): boolean {
    return this.#silenceUnsent;
  }

  /** The last `samples` of the gap before the next near-end samples were lost, not a silence. */
  lost(samples: number): void {
    this.#lost += samples;
  }

  /** `lag` lies within the filter's span where it is: [delay − slackBefore, delay + slackAfter]. */
  #inSpan(lag: number): boolean {
    return lag >= this.delay - this.slackBefore && lag <= this.delay + this.slackAfter;
  }

  /** A peak at `lag` is out of the filter's reach: its span there would not cover where it is. */
  #beyondReach(lag: number): boolean {
    return Math.abs(lag - this.delay) > this.slackAfter;
  }

  /** The delay of the correlation peak, −1 when there is none to trust, IDLE when nothing could be. */
  #estimate(end: number, refAt: (s: number) => number): number {
    const W = this.#win;
    const D = this.#dec;
    const nmask = this.#near.length - 1;
    const start = end - W;
    const Wc = this.#nearC.length;
    const nearC = this.#nearC;
    const heardC = this.#heardC;
    let nearE = 0;
    let heard = 0;
    for (let j = 0; j < Wc; j++) {
      const v = this.#near[(start + D * j) & nmask]!;
      nearC[j] = v;
      nearE += v * v;
      heardC[j] = this.#heard[(start + D * j) & nmask]!;
      heard += heardC[j]!;
    }
    // near end silent, or mostly not heard: nothing to learn
    if (nearE < Wc * 16 || 2 * heard < Wc) return IDLE;
    const Lc = Math.floor(this.#maxDelay / D);
    const refC = this.#refC;
    // the far end from maxDelay before the window to a third into it (`#farEndStarting`)
    const headEnd = Lc + Math.floor(Wc / 3);
    let refAny = 0;
    let head = 0;
    for (let m = 0; m < Wc + Lc; m++) {
      const r = refAt(start - D * Lc + D * m);
      refC[m] = r;
      refAny += r * r;
      if (m < headEnd) head += r * r;
    }
    if (refAny < Wc) return IDLE; // nothing played in the span: no echo to find
    // The far end started a third or more into the window after maxDelay or more of silence (40 dB
    // under what the span holds, or digital): its echo, up to maxDelay later, may barely have come.
    // (A far end that only paused or stopped has played within maxDelay before: echo is there.)
    this.#farEndStarting = head < 1e-4 * refAny + headEnd;
    let best = -1;
    let bestLag = -1;
    let bestRe = 0;
    let bestNum = 0;
    let re = 0;
    // the best correlation within the filter's span where it is (stays 0 when not holding)
    const held = this.holding && this.delay >= 0;
    const from = held ? Math.floor((this.delay - this.slackBefore) / D) : 0;
    const to = held ? Math.ceil((this.delay + this.slackAfter) / D) : -1;
    let here = 0;
    const gaps = heard < Wc;
    for (let j = 0; j < Wc; j++) re += refC[Lc + j]! ** 2;
    for (let q = 0; q <= Lc; q++) {
      const o = Lc - q; // lag = D·q
      if (gaps) {
        // the reference's energy against the samples heard alone
        re = 0;
        for (let j = 0; j < Wc; j++) if (heardC[j] === 1) re += refC[o + j]! ** 2;
      } else if (q > 0) re += refC[o]! ** 2 - refC[o + Wc]! ** 2;
      if (re < heard) continue;
      let num = 0;
      for (let j = 0; j < Wc; j++) num += nearC[j]! * refC[o + j]!;
      // |c|: a hybrid may invert the echo
      const c = Math.abs(num) / Math.sqrt(nearE * re);
      if (q >= from && q <= to && c > here) here = c;
      if (c > best) {
        best = c;
        bestLag = D * q;
        bestRe = re;
        bestNum = num;
      }
    }
    this.corr = best;
    this.peak = Math.max(this.peak, best);
    this.searches++;
    this.#readingLag = -1;
    if (best < AGREE_CORR) return -1;
    // (|num| > 0: c ≥ AGREE_CORR; re ≥ heard > 0)
    this.#reading = 20 * Math.log10(bestRe / Math.abs(bestNum));
    this.#readingLag = bestLag;
    // While the filter models the path where it is, a better peak beyond its reach (farther than
    // `slackAfter` either way) moves it only if the path's own place no longer correlates
    // (STAY_SHARE of the best). One window of speech now and then correlates best with a later
    // reflection, which the filter models already, or, over a long voiced stretch, a few pitch
    // periods before or after the path: a filter moved there misses the path (held-out seed 8: a
    // handset line whose filter cancelled was moved 50 ms early on one search of 0.54, where its own
    // place had had 0.56 a second before, and its echo came back).
    if (held && this.#beyondReach(bestLag) && here >= STAY_SHARE * best) return this.delay;
    let fine = bestLag;
    let fineC = -1;
    for (let lag = Math.max(0, bestLag - D); lag <= bestLag + D; lag++) {
      let num = 0;
      let rE = 0;
      let ne = 0;
      for (let j = 0; j < W; j++) {
        if (this.#heard[(start + j) & nmask] === 0) continue;
        const r = refAt(start + j - lag);
        const v = this.#near[(start + j) & nmask]!;
        num += v * r;
        rE += r * r;
        ne += v * v;
      }
      const c = Math.abs(num) / Math.sqrt(ne * rE + 1e-9);
      if (c > fineC) {
        fineC = c;
        fine = lag;
      }
    }
    return fine;
  }
}
