import { BulkDelay } from './bulkDelay.js';
import { EchoLeak } from './echoLeak.js';
import { EchoSuppressor } from './echoSuppressor.js';
import { Fft } from './fft.js';
import { PowerFloor } from './powerFloor.js';

/**
 * Line echo canceller in the manner of ITU-T G.168: the far end (what we play) leaks back into
 * the near end (what we hear) through the caller's hybrid or handset: delayed, attenuated,
 * band-limited and smeared over several ms (G.168 Annex D models disperse over 8–16 ms).
 *
 * 1. Bulk delay (`BulkDelay`): cross-correlation of the near end with the reference finds where
 *    the echo sits in 0..maxDelayMs.
 * 2. A tailMs-long adaptive filter, starting leadMs before that delay, models the echo path and
 *    subtracts its estimate. It is a partitioned-block frequency-domain adaptive filter (MDF:
 *    Soo & Pang 1990) with 4 ms blocks: per-bin normalised steps converge on speech in a fraction
 *    of a second where a time-domain NLMS takes seconds, at a fraction of the cost for a 64 ms tail.
 * 3. Double talk (G.168 §6.4.2.4), as OSLEC and SpeexDSP handle it: two filters. A background
 *    filter adapts; its coefficients are copied to the foreground, which makes the output, only
 *    when it cancels clearly better, and it is reset from the foreground when it diverged. A
 *    Geigel detector on block powers, against the loss this line was measured to have, pauses
 *    adaptation and copying while the caller talks.
 * 4. Step control: each frequency bin learns at a step scaled by the share of its error that is
 *    echo still to learn, so the line's own noise is not learned as echo (`#stepShares`).
 * 5. The loss it measures (reference to residual, `lossDb`) tells the barge-in detector how much
 *    echo may be left; G.168 §6.4.2.7's non-divergence is guarded (a foreground that adds more
 *    than it removes is dropped).
 * 6. With `suppress`, a residual echo suppressor (`EchoSuppressor`) makes a second output for the
 *    barge-in detector, one block behind: the residual with what is left of the echo taken out
 *    per frequency bin (`suppressed`).
 *
 * Samples are placed on one sample clock by the caller (`atSample`). The echo estimate of a block
 * is computed as soon as the block starts (the reference it needs was played ≥ lead + 4 ms
 * earlier), so any frame length works and nothing is delayed.
 * Cost per block: 3 · partitions · (block + 1) complex multiply-adds, 5 FFTs of 2 · block and
 * about 30 operations a bin for the step control (CPU per call measured in bench/README.md); next
 * to nothing while nothing plays.
 */
export interface EchoCancellerOptions {
  /** Hz (8000 or 16000) */
  rate: number;
  /** longest echo delay searched, ms */
  maxDelayMs?: number;
  /** adaptive filter span, ms (covers the dispersion of the echo path) */
  tailMs?: number;
  /** the span starts this long before the bulk delay found, ms */
  leadMs?: number;
  /** background filter step size (0..1) */
  mu?: number;
  /** also make the residual-echo-suppressed output (`suppressed`) */
  suppress?: boolean;
}

/**
 * Loss measures: per window of this many far-end-active blocks (100 ms), kept for the last
 * LOSS_WINDOWS windows (3 s of far-end speech), and read at a high percentile: windows where the
 * caller talked (double talk) measure less loss than the path has, and must not make the
 * detector expect more echo than there is.
 */
const WINDOW_BLOCKS = 25;
const LOSS_WINDOWS = 30;
const LOSS_PERCENTILE = 0.7;
/**
 * ERLE (dB) from which the filter is taken to model the path where it is: the delay search then
 * moves it later only on confirmed evidence (BulkDelay's `holding`). Updated per loss window.
 * Placed off the path, a filter cancels 0–3 dB; on it, 6–10 dB a second into the agent's speech
 * while it converges (with 3 % of packets lost), 20 dB or more later. At 10 dB a converging filter
 * was moved to a handset's second reflection (held-out seed 11: at 9.7 dB, 34 ms late, and the echo
 * came back).
 */
const HOLD_ERLE_DB = 6;
/**
 * The echo left (`echoLossDb`, `suppressedEchoLossDb`): the residual's power over the loss windows
 * kept, less the line's noise. Under noise a loss measured to the residual can be no more than the
 * agent's level over the noise, however little echo is left, and the barge-in judge, which weighs
 * the caller's background apart, took the noise for echo as well.
 *   - The noise is the floor (PowerFloor: the least power smoothed over LINE_FLOOR_SMOOTHING, τ 32
 *     ms, over the last 1.5–2 s of blocks fed, LINE_FLOOR_SUBWINDOWS × LINE_FLOOR_BLOCKS) of the
 *     line in 4 ms blocks no echo can reach: no reference block at −60 dBFS or more within the
 *     filter's start, its span and ECHO_MARGIN_MS before (the whole echo window before the path is
 *     found). The blocks fed need not be recent: the agent may have talked since.
 *   - It is never taken as more than the floor of the residual itself over the blocks the loss
 *     windows count (the same PowerFloor): echo left and noise together are no quieter than the
 *     noise. That bounds a line floor that read the caller (her turn with no pause before the
 *     agent's) or a line that has since grown quieter.
 *   - It is taken out of the windows' powers summed, not window by window: the windows that read
 *     the most loss are those the noise limits, and the 70th percentile of losses each raised picks
 *     them (window by window, with a floor smoothed over 100 ms, the bench kept 2 backchannels fewer
 *     and cleared once more on noise: bench/README.md, thirty-ninth pass).
 *   - At most NOISE_HIDES_DB: the most a floor gone wrong can claim.
 *   - ECHO_MARGIN_MS: the bench's paths end within the filter's span (G.168 D.2–D.9 within 15 ms of
 *     their start, the handset paths within 48 ms); it leaves room for a longer acoustic tail.
 *   - Nothing is taken out on a line that has left out samples it did not tell lost (BulkDelay
 *     `silenceUnsent`): a phone that does not send its silence sends its line only while someone
 *     talks, and the floor read the caller (a scratch run of such a phone claimed the full 10 dB).
 *   - The suppressed output's loss takes the same share out: its suppressor, which takes out echo
 *     and keeps the caller, is taken to cut the echo no less than the noise.
 */
const LINE_FLOOR_BLOCKS = 125;
const LINE_FLOOR_SUBWINDOWS = 4;
const LINE_FLOOR_SMOOTHING = 0.875;
const NOISE_HIDES_DB = 10;
const ECHO_MARGIN_MS = 100;
/** Reference power per sample from which a block may echo over the line's noise: −60 dBFS. */
const ECHOES_FROM = 1e3;
/** searches that must have had the far end before `searchPeak` is stated (the first is often all but empty) */
const PEAK_SEARCHES = 2;
/** Per-bin power of a 2B-sample block of white noise at RMS 100 (≈ −50 dBFS), per sample of B. */
const REG = 2 * 100 * 100;
/**
 * Step control. At a fixed step the background filter learns the line's noise along with the
 * echo (misadjustment): under noise as loud as the echo it left more echo than the path had (D.5,
 * ERL 10 dB, white noise at −30 dBFS: 6.7 dB under the reference against the path's 10.4; with
 * the step control 12.1). Each bin's step is μ times the share of its error that is echo still to
 * learn, the larger of two estimates (at most 1):
 *   - 2 · leak · |Y|² / |E|², the echo the filter misses (`EchoLeak`; SpeexDSP's MDF caps that
 *     share at 1/2, the factor 2 makes it the full step);
 *   - 1 − NOISE_FLOOR_OVER · N / |E|², N the least smoothed |E|² over the last FLOOR_SUBWINDOWS ×
 *     FLOOR_SUBWINDOW_BLOCKS adapting blocks (1.5 s; minimum statistics, Martin 2001), what the
 *     error comes down to when only the line's noise is left (a minimum of a smoothed power reads
 *     low: the factor makes up for that, with a margin); it keeps the full step where the error
 *     stands well above that, which the leak estimate alone does not (a bin the filter has not
 *     learned has no |Y|²: after tones, or a path that changed).
 * A bin learns at the full step until the reference has excited it (≥ −50 dBFS) for WARM_BLOCKS
 * blocks since the path was found (1.5 s), and never below MIN_SHARE of it. The G.168 tests keep
 * passing with less room: convergence 21.1 dB at worst (was 21.4, limit 20), after double talk
 * 15.7 dB (was 16.4, limit 15), after tones 22.4 dB (was 23.1, limit 20).
 * Measured in echoCanceller.test.ts and bench/README.md (twenty-fifth pass).
 */
const NOISE_FLOOR_OVER = 8;
const FLOOR_SUBWINDOWS = 4;
const FLOOR_SUBWINDOW_BLOCKS = 96;
const WARM_BLOCKS = 375;
/** no bin stops learning: a path that changes where the filter has no |Y|² is still followed */
const MIN_SHARE = 0.05;
/** smoothing of |E|² per bin (per adapting block) for the step control */
const ERROR_AVERAGE = 0.5;

export class EchoCanceller {
  readonly rate: number;
  readonly #B: number;
  readonly #K: number;
  readonly #P: number;
  readonly #lead: number;
  readonly #mu: number;
  readonly #fft: Fft;
  readonly #search: BulkDelay;
  /** reference ring, indexed by absolute sample mod size */
  readonly #ref: Float32Array;
  #refEnd = 0;
  /** the sample after the last reference block at ECHOES_FROM or more (−∞: none yet) */
  #refLoudEnd = -Infinity;
  /** the latest echo delay the search looks at, samples */
  readonly #maxDelay: number;
  /** the filter's span and ECHO_MARGIN_MS, samples: how far after the filter's start an echo may reach */
  readonly #spanAndMargin: number;
  #refStart = -1;
  /** partition spectra of the reference (K bins each), a ring over blocks */
  readonly #xr: Float64Array;
  readonly #xi: Float64Array;
  #xHead = 0;
  /** foreground and background filters, P × K complex */
  readonly #fr: Float64Array;
  readonly #fi: Float64Array;
  readonly #br: Float64Array;
  readonly #bi: Float64Array;
  readonly #pxx: Float64Array;
  readonly #prop: Float64Array;
  /** step control: |Y|² and smoothed |E|² of the background, per bin */
  readonly #py: Float64Array;
  readonly #pe: Float64Array;
  readonly #es: Float64Array;
  readonly #leak: EchoLeak;
  /** least #es per sub-window (FLOOR_SUBWINDOWS × K), adapting blocks seen, and each bin's excitation since the path was found */
  readonly #floorMin: Float64Array;
  #adapted = 0;
  readonly #excited: Int32Array;
  /** the step share of each bin (0..1) */
  readonly #share: Float64Array;
  /** scratch, N = 2B */
  readonly #tr: Float64Array;
  readonly #ti: Float64Array;
  /** echo estimates of the current block (foreground, background) and its near samples */
  readonly #yf: Float32Array;
  readonly #yb: Float32Array;
  readonly #d: Float32Array;
  /** block being filled: its index on the clock (−1: none), samples in */
  #block = -1;
  #fill = 0;
  #blockLive = false;
  /** the block has samples that never came (it began after a gap, `#beginBlock`): zeros, not the line */
  #blockHoled = false;
  /** window start: bulk delay − lead, samples (−1: not locked) */
  #start = -1;
  /** smoothed block error power of the foreground, and near-end power */
  #aF = 0;
  #aD = 0;
  #dAvg = 0;
  #dVar = 0;
  /** reference power of the last P blocks, and the double-talk hangover (blocks) */
  readonly #refPow: Float64Array;
  #dtHold = 0;
  /** consecutive blocks in which the foreground added echo rather than removing it */
  #worse = 0;
  /** smoothed powers over far-end-active blocks: reference at the echo's position, near, residual */
  #wX = 0;
  #wD = 0;
  #wE = 0;
  #wN = 0;
  /** the residual's power over the window, not clamped to the near end's as `#wE` is: the noise in it is the line's, whole */
  #wF = 0;
  readonly #erl = new Float32Array(LOSS_WINDOWS);
  readonly #loss = new Float32Array(LOSS_WINDOWS);
  /** the same for the suppressed output: its power over the window, per window, the last block's */
  #wS = 0;
  readonly #supLoss = new Float32Array(LOSS_WINDOWS);
  #supPow = 0;
  /** the line's noise (its power where no echo reaches), the residual's floor (the blocks the windows count), the residual's power per loss window */
  readonly #lineFloor = new PowerFloor(LINE_FLOOR_BLOCKS, LINE_FLOOR_SUBWINDOWS, LINE_FLOOR_SMOOTHING);
  readonly #residFloor = new PowerFloor(LINE_FLOOR_BLOCKS, LINE_FLOOR_SUBWINDOWS, LINE_FLOOR_SMOOTHING);
  readonly #resid = new Float64Array(LOSS_WINDOWS);
  readonly #sorted = new Float32Array(LOSS_WINDOWS);
  #windows = 0;
  /** residual echo suppressor, its output ring (by absolute sample) and how far that is complete */
  readonly #sup: EchoSuppressor | null;
  readonly #supRing: Float32Array;
  readonly #supBlock: Float32Array;
  readonly #eBlock: Float32Array;
  #supEnd = 0;

  constructor(o: EchoCancellerOptions) {
    this.rate = o.rate;
    this.#B = Math.round(o.rate / 250); // 4 ms blocks: divide any multiple of 4 ms... and 10/20 ms frames
    this.#K = this.#B + 1;
    this.#P = Math.max(1, Math.round((o.tailMs ?? 64) / 4));
    this.#lead = Math.round(((o.leadMs ?? 12) * o.rate) / 1000);
    this.#mu = o.mu ?? 0.5;
    const N = 2 * this.#B;
    this.#fft = new Fft(N);
    const maxDelay = Math.round(((o.maxDelayMs ?? 400) * o.rate) / 1000);
    this.#search = new BulkDelay({ rate: o.rate, maxDelay });
    this.#maxDelay = maxDelay;
    this.#spanAndMargin = this.#P * this.#B + Math.round((ECHO_MARGIN_MS * o.rate) / 1000);
    // A peak that moves within the filter's span is the same path (dispersion, a second reflection).
    this.#search.slackBefore = this.#lead - (this.#B >> 1);
    this.#search.slackAfter = (this.#P * this.#B) >> 1;
    this.#ref = new Float32Array(1 << Math.ceil(Math.log2(maxDelay + this.#P * this.#B + 4 * N + o.rate)));
    const PK = this.#P * this.#K;
    this.#xr = new Float64Array(PK);
    this.#xi = new Float64Array(PK);
    this.#fr = new Float64Array(PK);
    this.#fi = new Float64Array(PK);
    this.#br = new Float64Array(PK);
    this.#bi = new Float64Array(PK);
    this.#pxx = new Float64Array(this.#K);
    this.#refPow = new Float64Array(this.#P);
    this.#prop = new Float64Array(this.#P).fill(1 / this.#P);
    this.#py = new Float64Array(this.#K);
    this.#pe = new Float64Array(this.#K);
    this.#es = new Float64Array(this.#K);
    this.#leak = new EchoLeak(this.#K);
    this.#floorMin = new Float64Array(FLOOR_SUBWINDOWS * this.#K).fill(Infinity);
    this.#excited = new Int32Array(this.#K);
    this.#share = new Float64Array(this.#K);
    this.#tr = new Float64Array(N);
    this.#ti = new Float64Array(N);
    this.#yf = new Float32Array(this.#B);
    this.#yb = new Float32Array(this.#B);
    this.#d = new Float32Array(this.#B);
    this.#sup = o.suppress === true ? new EchoSuppressor({ block: this.#B }) : null;
    // ≥ 0.5 s, a power of two: the longest Opus packet (120 ms) four times over
    this.#supRing = new Float32Array(this.#sup === null ? 0 : 1 << Math.ceil(Math.log2(o.rate / 2)));
    this.#supBlock = new Float32Array(this.#sup === null ? 0 : this.#B);
    this.#eBlock = new Float32Array(this.#sup === null ? 0 : this.#B);
  }

  /** Absolute sample up to which `suppressed` is complete after `process` up to `processedTo` (one block behind, whole blocks). */
  suppressedEnd(processedTo: number): number {
    return (Math.floor(processedTo / this.#B) - 1) * this.#B;
  }

  /** The residual-echo-suppressed residual from absolute sample `from` into `out` (needs `suppress`). */
  suppressed(from: number, out: Int16Array): void {
    const ring = this.#supRing;
    const mask = ring.length - 1;
    for (let i = 0; i < out.length; i++) {
      const s = from + i;
      const v = s < this.#supEnd && s >= this.#supEnd - ring.length ? ring[s & mask]! : 0;
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : Math.round(v);
    }
  }

  /** Bulk delay to the start of the echo, samples (−1: not locked). */
  get delay(): number {
    return this.#search.delay;
  }

  get locked(): boolean {
    return this.#search.delay >= 0;
  }

  /**
   * The best correlation the delay search has found between the near end and the far end (0..1;
   * what it tells is whether a line not locked on has an echo), NaN until PEAK_SEARCHES searches
   * have had far-end audio to correlate with: the first often comes as the far end starts, its
   * window all but empty of echo. A near end that is silent throughout is never searched.
   */
  get searchPeak(): number {
    return this.#search.searches >= PEAK_SEARCHES ? this.#search.peak : NaN;
  }

  /**
   * Echo return loss as the delay search's correlation reads it where the path is, dB (NaN until
   * locked, and after a move until a search peaks there: BulkDelay `erlDb`). Unlike `erlDb`, a ratio
   * of powers over windows where the caller may be talking, her voice does not read it low; a
   * dispersive path, or a lock off the path's peak, reads high.
   */
  get correlatedErlDb(): number {
    return this.#search.erlDb;
  }

  /** Far-end speech the loss measures rest on, ms (100 ms windows of it, up to the 3 s kept). */
  get measuredMs(): number {
    return (Math.min(this.#windows, LOSS_WINDOWS) * WINDOW_BLOCKS * this.#B * 1000) / this.rate;
  }

  /** Echo return loss: reference to near end over far-end-only speech, dB (NaN until measured). */
  get erlDb(): number {
    return this.#percentile(this.#erl);
  }

  /** Echo return loss enhancement: near end to residual, dB (NaN until measured). */
  get erleDb(): number {
    return this.lossDb - this.erlDb;
  }

  /** Total loss from the reference to the residual, dB: what is left of the echo (NaN until measured). */
  get lossDb(): number {
    return this.#percentile(this.#loss);
  }

  /**
   * Total loss from the reference to the echo left in the residual, the line's noise taken out
   * (NOISE_HIDES_DB more than `lossDb` at most), dB (NaN until measured).
   */
  get echoLossDb(): number {
    return this.lossDb + this.#hiddenDb();
  }

  /** Total loss from the reference to the suppressed output (`suppress`), dB (NaN until measured). */
  get suppressedLossDb(): number {
    return this.#percentile(this.#supLoss);
  }

  /** The same to the echo left in it, the line's noise taken out as for `echoLossDb`, dB (NaN until measured). */
  get suppressedEchoLossDb(): number {
    return this.suppressedLossDb + this.#hiddenDb();
  }

  /**
   * How much of the residual over the loss windows kept is the line's noise, dB (0..NOISE_HIDES_DB):
   * their powers summed, so that windows where echo is left weigh as much as it does.
   */
  #hiddenDb(): number {
    // a line heard only while someone talks: its noise is not known
    if (this.#search.silenceUnsent) return 0;
    const n = Math.min(this.#windows, LOSS_WINDOWS);
    let resid = 0;
    for (let i = 0; i < n; i++) resid += this.#resid[i]!;
    const noise = Math.min(this.#lineFloor.floor, this.#residFloor.floor);
    const echo = Math.max(0, resid - n * WINDOW_BLOCKS * noise);
    return Math.min(NOISE_HIDES_DB, 10 * Math.log10((resid + 1) / (echo + 1)));
  }

  #percentile(ring: Float32Array): number {
    const n = Math.min(this.#windows, LOSS_WINDOWS);
    if (n === 0) return NaN;
    const s = this.#sorted.subarray(0, n);
    s.set(ring.subarray(0, n));
    s.sort();
    return s[Math.min(n - 1, Math.floor(LOSS_PERCENTILE * n))]!;
  }

  /** Records played samples starting at `atSample` on the shared clock. */
  playRef(x: Int16Array | Float32Array, atSample: number): void {
    const mask = this.#ref.length - 1;
    if (atSample > this.#refEnd)
      for (let s = Math.max(this.#refEnd, atSample - this.#ref.length); s < atSample; s++) this.#ref[s & mask] = 0;
    const B = this.#B;
    for (let b = 0; b < x.length; b += B) {
      const end = Math.min(x.length, b + B);
      let power = 0;
      for (let i = b; i < end; i++) {
        this.#ref[(atSample + i) & mask] = x[i]!;
        power += x[i]! * x[i]!;
      }
      if (power >= (end - b) * ECHOES_FROM) this.#refLoudEnd = Math.max(this.#refLoudEnd, atSample + end);
    }
    if (this.#refStart < 0) this.#refStart = atSample;
    this.#refEnd = Math.max(this.#refEnd, atSample + x.length);
  }

  #refAt(s: number): number {
    return s < this.#refEnd && s >= this.#refEnd - this.#ref.length && s >= this.#refStart ? this.#ref[s & (this.#ref.length - 1)]! : 0;
  }

  /**
   * The last `samples` of the gap before the next near-end samples were lost on the way (not a
   * silence the far end did not send): the delay search does not count them (BulkDelay).
   */
  lost(samples: number): void {
    this.#search.lost(samples);
  }

  /**
   * Cancels the echo in near-end samples `x` starting at `atSample`, writing the residual into
   * `out` (may be `x`).
   */
  process(x: Int16Array, atSample: number, out: Int16Array): void {
    const moved = this.#search.near(x, atSample, (s) => this.#refAt(s));
    if (moved) this.#relocate();
    const B = this.#B;
    for (let i = 0; i < x.length; i++) {
      const s = atSample + i;
      const blk = Math.floor(s / B);
      if (blk !== this.#block) this.#beginBlock(blk, s - blk * B);
      const j = s - blk * B;
      const v = x[i]!;
      this.#d[j] = v;
      const e = this.#blockLive ? v - this.#yf[j]! : v;
      out[i] = e > 32767 ? 32767 : e < -32768 ? -32768 : Math.round(e);
      if (++this.#fill === B) {
        if (this.#sup !== null) this.#suppress();
        this.#endBlock();
      }
    }
  }

  /** The block is complete: the suppressor's output for the block before it goes into the ring. */
  #suppress(): void {
    const B = this.#B;
    const e = this.#eBlock;
    const live = this.#blockLive;
    for (let j = 0; j < B; j++) e[j] = live ? this.#d[j]! - this.#yf[j]! : this.#d[j]!;
    this.#sup!.block(e, live ? this.#yf : null, this.#supBlock);
    const at = (this.#block - 1) * B;
    const mask = this.#supRing.length - 1;
    let pow = 0;
    for (let j = 0; j < B; j++) {
      const v = this.#supBlock[j]!;
      this.#supRing[(at + j) & mask] = v;
      pow += v * v;
    }
    this.#supPow = pow;
    this.#supEnd = at + B;
  }

  /**
   * The echo path was found, or moved out of the filter's span. A move by whole blocks keeps what
   * the filters learned (their partitions shift along); a new path starts afresh.
   */
  #relocate(): void {
    const B = this.#B;
    const want = Math.max(B, this.#search.delay - this.#lead);
    const m = this.#start < 0 ? this.#P : Math.round((this.#start - want) / B);
    this.#block = -1; // the reference spectra are recomputed at the next block
    if (Math.abs(m) >= this.#P) {
      this.#start = want;
      for (const w of [this.#fr, this.#fi, this.#br, this.#bi]) w.fill(0);
      this.#forgetPath();
      this.#wX = this.#wD = this.#wE = this.#wF = this.#wS = this.#wN = this.#windows = 0;
      this.#search.holding = false;
      return;
    }
    this.#start -= m * B;
    const K = this.#K;
    const PK = this.#P * K;
    for (const w of [this.#fr, this.#fi, this.#br, this.#bi]) {
      // partition p of the new window is partition p − m of the old one
      if (m > 0) {
        w.copyWithin(m * K, 0, PK - m * K);
        w.fill(0, 0, m * K);
      } else if (m < 0) {
        w.copyWithin(0, -m * K, PK);
        w.fill(0, PK + m * K);
      }
    }
  }

  /** Spectrum of the 2B reference samples that partition 0 of block `blk` reads, into ring slot `slot`. */
  #refSpectrum(blk: number, slot: number): number {
    const B = this.#B;
    const N = 2 * B;
    const from = blk * B - this.#start - B;
    let e = 0;
    for (let n = 0; n < N; n++) {
      const v = this.#refAt(from + n);
      this.#tr[n] = v;
      this.#ti[n] = 0;
      e += v * v;
    }
    this.#fft.transform(this.#tr, this.#ti);
    const K = this.#K;
    this.#xr.set(this.#tr.subarray(0, K), slot * K);
    this.#xi.set(this.#ti.subarray(0, K), slot * K);
    return e;
  }

  /** Starts block `blk` (possibly mid-block after a gap): the reference spectra and both echo estimates. */
  #beginBlock(blk: number, offset: number): void {
    const P = this.#P;
    const contiguous = this.#block >= 0 && blk === this.#block + 1 && offset === 0;
    this.#block = blk;
    this.#fill = offset;
    this.#blockLive = false;
    this.#blockHoled = offset > 0;
    if (!contiguous) {
      // after a gap: the samples before `offset` were never heard
      this.#d.fill(0, 0, offset);
      this.#sup?.reset();
    }
    if (this.#start < 0) return;
    if (contiguous) {
      this.#xHead = (this.#xHead + 1) % P;
      this.#refSpectrum(blk, this.#xHead);
    } else for (let p = 0; p < P; p++) this.#refSpectrum(blk - p, (this.#xHead - p + P) % P);
    const K = this.#K;
    const pxx = this.#pxx;
    const h = this.#xHead * K;
    let any = 0;
    for (let k = 0; k < K; k++) {
      const pw = this.#xr[h + k]! ** 2 + this.#xi[h + k]! ** 2;
      pxx[k] = 0.8 * pxx[k]! + 0.2 * pw;
      any += pw;
    }
    // Nothing played that could echo in this block (nor in the tail before it): pass through.
    for (let p = 1; p < P && any === 0; p++) {
      const o = ((this.#xHead - p + P) % P) * K;
      for (let k = 0; k < K; k++) any += this.#xr[o + k]! ** 2 + this.#xi[o + k]! ** 2;
    }
    if (any === 0) return;
    this.#blockLive = true;
    this.#estimate();
  }

  /**
   * Both echo estimates of the block by overlap-save: y = last B samples of IFFT(Σ_p W_p · X_p).
   * Two real signals share one complex inverse FFT (foreground + j · background).
   */
  #estimate(): void {
    const N = 2 * this.#B;
    const K = this.#K;
    const P = this.#P;
    const tr = this.#tr;
    const ti = this.#ti;
    const xr = this.#xr;
    const xi = this.#xi;
    const fr = this.#fr;
    const fi = this.#fi;
    const br = this.#br;
    const bi = this.#bi;
    for (let k = 0; k < K; k++) {
      let fre = 0;
      let fim = 0;
      let bre = 0;
      let bim = 0;
      for (let p = 0, wo = k; p < P; p++, wo += K) {
        const xo = ((this.#xHead - p + P) % P) * K + k;
        const a = xr[xo]!;
        const b = xi[xo]!;
        fre += fr[wo]! * a - fi[wo]! * b;
        fim += fr[wo]! * b + fi[wo]! * a;
        bre += br[wo]! * a - bi[wo]! * b;
        bim += br[wo]! * b + bi[wo]! * a;
      }
      // Z = F + jG for spectra F, G of real signals; Z(N − k) = conj(F(k)) + j conj(G(k))
      tr[k] = fre - bim;
      ti[k] = fim + bre;
      if (k > 0 && k < K - 1) {
        tr[N - k] = fre + bim;
        ti[N - k] = -fim + bre;
      }
    }
    this.#fft.transform(tr, ti, true);
    const B = this.#B;
    for (let j = 0; j < B; j++) {
      this.#yf[j] = tr[B + j]!;
      this.#yb[j] = ti[B + j]!;
    }
  }

  /** The block's near samples are all in: adapt, compare the two filters, update the loss measures. */
  #endBlock(): void {
    const B = this.#B;
    // No echo can reach this block: the line's noise (and the caller), for `#hiddenDb`.
    const reach = (this.#start < 0 ? this.#maxDelay : this.#start) + this.#spanAndMargin;
    if (!this.#blockHoled && this.#block * B >= this.#refLoudEnd + reach) {
      let p = 0;
      for (let j = 0; j < B; j++) p += this.#d[j]! ** 2;
      this.#lineFloor.push(p);
    }
    if (!this.#blockLive) return;
    this.#blockLive = false;
    let sff = 0;
    let see = 0;
    let sdd = 0;
    let sdb = 0;
    const tr = this.#tr;
    const ti = this.#ti;
    tr.fill(0, 0, B);
    ti.fill(0);
    for (let j = 0; j < B; j++) {
      const d = this.#d[j]!;
      const ef = d - this.#yf[j]!;
      const eb = d - this.#yb[j]!;
      sff += ef * ef;
      see += eb * eb;
      sdd += d * d;
      sdb += (this.#yf[j]! - this.#yb[j]!) ** 2;
      tr[B + j] = eb;
      ti[B + j] = this.#yb[j]!; // the background's echo estimate, for the step control
    }
    let sx = 0;
    const K = this.#K;
    const h = this.#xHead * K;
    for (let k = 0; k < K; k++) sx += this.#xr[h + k]! ** 2 + this.#xi[h + k]! ** 2;
    sx /= 2 * B; // Parseval: Σ|X|² over the K = B + 1 bins ≈ (2B)²/2 · mean x², so sx ≈ Σ x² over B samples
    // G.168 adapts while the far end talks (≥ −50 dBFS here); a pause teaches only the noise.
    const active = sx > B * 1e4;
    // Double talk (a Geigel detector on powers, with the loss measured on this line): the near end
    // is 6 dB above the loudest echo the last tail of reference could make. Adaptation pauses,
    // and nothing is copied to the foreground, for 40 ms after.
    this.#refPow[this.#block % this.#P] = sx;
    let peak = 0;
    for (const v of this.#refPow) peak = Math.max(peak, v);
    const erl = this.erlDb;
    if (Number.isFinite(erl) && sdd > 4 * (peak * 10 ** (-erl / 10) + B * 1e4)) this.#dtHold = 10;
    else if (this.#dtHold > 0) this.#dtHold--;
    const talk = this.#dtHold > 0;
    // A block begun after a gap (a loss, or a phone's silence between talkspurts, RFC 3551 §4.1)
    // holds zeros where the line's samples never came: there its error is the echo estimate itself.
    // Adapted on, compared or measured, it teaches the filters and the loss that the path echoes
    // nothing (the delay and the spectra are kept: the next whole block goes on from them).
    if (this.#blockHoled) return;
    if (active && !talk) this.#adapt();
    // Two-path control (after SpeexDSP's MDF): the background goes in front only when its error
    // is lower by more than the two estimates' difference can explain by chance: during double
    // talk the caller's voice (in both errors) makes that bar high, so a background that learned
    // the caller's voice is never copied; one that diverged is pulled back.
    const diff = sff - see;
    // (the estimates' difference has a floor, ≈ −50 dBFS: right after a copy they are equal)
    sdb += B * 1e4;
    this.#dAvg = 0.6 * this.#dAvg + 0.4 * diff;
    this.#dVar = 0.36 * this.#dVar + 0.16 * sff * sdb;
    this.#aF = 0.7 * this.#aF + 0.3 * sff;
    this.#aD = 0.7 * this.#aD + 0.3 * sdd;
    // (during double talk the background learned nothing: it is judged again after)
    if (!talk && (diff * Math.abs(diff) > sff * sdb || this.#dAvg * Math.abs(this.#dAvg) > 0.5 * this.#dVar)) {
      this.#fr.set(this.#br);
      this.#fi.set(this.#bi);
      this.#aF = see;
      this.#dAvg = this.#dVar = 0;
    } else if (!talk && -diff * Math.abs(diff) > 4 * sff * sdb) {
      this.#br.set(this.#fr);
      this.#bi.set(this.#fi);
      this.#dAvg = this.#dVar = 0;
    }
    // Non-divergence: a foreground that adds more than it removes is no model of this path.
    this.#worse = this.#aF > 4 * (this.#aD + B * 1e4) ? this.#worse + 1 : 0;
    if (this.#worse > 25) {
      this.#fr.fill(0);
      this.#fi.fill(0);
      this.#br.fill(0);
      this.#bi.fill(0);
      this.#forgetPath();
      this.#aF = 0;
      this.#worse = 0;
    }
    // Loss measures, over blocks where the reference is active.
    if (active) {
      this.#wX += sx;
      this.#wD += sdd;
      this.#wE += Math.min(sff, sdd);
      this.#wF += sff;
      this.#residFloor.push(sff);
      // (the suppressed output is one block behind: over a window, that is the same echo)
      this.#wS += this.#supPow;
      if (++this.#wN === WINDOW_BLOCKS) {
        const i = this.#windows++ % LOSS_WINDOWS;
        this.#erl[i] = 10 * Math.log10(this.#wX / (this.#wD + 1));
        this.#loss[i] = 10 * Math.log10(this.#wX / (this.#wE + 1));
        this.#supLoss[i] = 10 * Math.log10(this.#wX / (this.#wS + 1));
        this.#resid[i] = this.#wF;
        this.#wX = this.#wD = this.#wE = this.#wF = this.#wS = this.#wN = 0;
        this.#search.holding = this.erleDb >= HOLD_ERLE_DB;
      }
    }
  }

  /**
   * Background filter update (tr holds [0, e_bg], ti [0, y_bg] in time): W_p += μ · share · prop_p ·
   * X_p* E / P_xx, one partition constrained per block.
   */
  #adapt(): void {
    const tr = this.#tr;
    const ti = this.#ti;
    this.#fft.transform(tr, ti);
    this.#stepShares();
    const share = this.#share;
    const K = this.#K;
    const P = this.#P;
    const B = this.#B;
    const br = this.#br;
    const bi = this.#bi;
    // Proportionate steps (IPNLMS-like): partitions that hold the echo learn faster.
    if ((this.#block & 3) === 0) this.#proportions();
    // Regularisation: a reference bin below ≈ −50 dBFS teaches nothing but the near end's noise.
    const floor = REG * B;
    const X = this.#xr;
    const Xi = this.#xi;
    const pxx = this.#pxx;
    for (let p = 0; p < P; p++) {
      const xo = ((this.#xHead - p + P) % P) * K;
      const wo = p * K;
      const g = this.#mu * this.#prop[p]!;
      for (let k = 0; k < K; k++) {
        const s = (g * share[k]!) / (pxx[k]! + floor);
        const xr = X[xo + k]!;
        const xi = Xi[xo + k]!;
        const er = tr[k]!;
        const ei = ti[k]!;
        // conj(X) · E
        br[wo + k] = br[wo + k]! + s * (xr * er + xi * ei);
        bi[wo + k] = bi[wo + k]! + s * (xr * ei - xi * er);
      }
    }
    // Gradient constraint (the filter is B taps per partition, not 2B), one partition a block.
    const c = this.#block % P;
    const N = 2 * B;
    for (let k = 0; k < K; k++) {
      tr[k] = br[c * K + k]!;
      ti[k] = bi[c * K + k]!;
    }
    for (let k = 1; k < K - 1; k++) {
      tr[N - k] = tr[k]!;
      ti[N - k] = -ti[k]!;
    }
    this.#fft.transform(tr, ti, true);
    tr.fill(0, B);
    ti.fill(0);
    this.#fft.transform(tr, ti);
    br.set(tr.subarray(0, K), c * K);
    bi.set(ti.subarray(0, K), c * K);
  }

  /**
   * tr/ti hold the spectrum of [0, e_bg] + j [0, y_bg]: E (bins 0..B, in place) and |Y|² split out,
   * then each bin's step share (see "Step control" by the constants above).
   */
  #stepShares(): void {
    const K = this.#K;
    const pe = this.#pe;
    const py = this.#py;
    this.#fft.splitTwoReal(this.#tr, this.#ti, pe, py);
    const leak = this.#leak.update(pe, py);
    const es = this.#es;
    const mins = this.#floorMin;
    const sub = Math.floor(this.#adapted / FLOOR_SUBWINDOW_BLOCKS) % FLOOR_SUBWINDOWS;
    const fresh = this.#adapted % FLOOR_SUBWINDOW_BLOCKS === 0;
    this.#adapted++;
    const excitedFrom = REG * this.#B;
    for (let k = 0; k < K; k++) {
      es[k] = es[k] === 0 ? pe[k]! : (1 - ERROR_AVERAGE) * es[k]! + ERROR_AVERAGE * pe[k]!;
      if (fresh) mins[sub * K + k] = Infinity;
      mins[sub * K + k] = Math.min(mins[sub * K + k]!, es[k]!);
      let floor = Infinity;
      for (let w = 0; w < FLOOR_SUBWINDOWS; w++) floor = Math.min(floor, mins[w * K + k]!);
      if (this.#pxx[k]! > excitedFrom) this.#excited[k]!++;
      const toLearn = Math.max(1 - (NOISE_FLOOR_OVER * floor) / (es[k]! + 1e-9), (2 * leak * py[k]!) / (es[k]! + 1e-9));
      this.#share[k] = this.#excited[k]! <= WARM_BLOCKS ? 1 : Math.max(MIN_SHARE, Math.min(1, toLearn));
    }
  }

  /** The filters start afresh: every bin learns at the full step again, and the leak is learned anew. */
  #forgetPath(): void {
    this.#excited.fill(0);
    this.#leak.reset();
  }

  /** Step share of each partition: half uniform, half by its coefficients' norm. */
  #proportions(): void {
    const K = this.#K;
    const P = this.#P;
    const br = this.#br;
    const bi = this.#bi;
    let total = 0;
    for (let p = 0; p < P; p++) {
      let e = 0;
      for (let k = 0; k < K; k++) e += br[p * K + k]! ** 2 + bi[p * K + k]! ** 2;
      this.#prop[p] = Math.sqrt(e);
      total += this.#prop[p]!;
    }
    for (let p = 0; p < P; p++) this.#prop[p] = 0.5 / P + (total > 0 ? (0.5 * this.#prop[p]!) / total : 0.5 / P);
  }
}
