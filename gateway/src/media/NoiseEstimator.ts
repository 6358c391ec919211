/**
 * Measures a call's background noise and speech from its own audio, for `denoise: "auto"`
 * (AutoDenoise decides from these). Two inputs per 10 ms: the raw mean square of the caller's
 * audio (before any denoising, so the measure does not depend on the decision it drives), and,
 * while RNNoise runs, the mean squares of one RNNoise frame's input and output, aligned.
 *
 * Every 100 ms, over the last 3 s (WINDOW):
 * - **floor**: the mean of the quietest fifth of the 30 ms power means (between words: the
 *   background; below −60 dBFS a silent line). Under speech the background is tracked by the
 *   quietest tenth at its minimum since the background was last heard alone (minimum statistics,
 *   R. Martin, IEEE Trans. Speech Audio Process. 9(5), 2001), so continuous talking does not
 *   lift it; a quietest tenth 6 dB above the known background restarts it (the noise rose);
 * - **noise**: the background's mean power. While the window holds background alone it is the
 *   window's mean, and the ratio of that mean to the floor (babble and music swing several dB
 *   above their floor, pink noise 2 dB) is kept; while the caller talks it is floor × that ratio;
 * - **speech**: the caller's level, the loudest 30 % of the window less the noise, once a window
 *   has speech: its loudest 30 % at least SPEECH_OVER_NOISE_DB above the noise and, where RNNoise
 *   runs on steady noise, frames RNNoise lets through (a passing car is loud but RNNoise gates it);
 * - **cut**: how much of the background RNNoise removes, measured on background alone: ≥ 10 dB
 *   for steady noise (pink, car, traffic: 20–50 dB), 0–5 dB for babble, cafe and music, which
 *   RNNoise takes for speech. It tells whether RNNoise helps even at a moderate SNR;
 * - **gated SNR**: where RNNoise runs and cuts, the frames it gates (output ≥ 15 dB down) are
 *   background and the frames it passes (≤ 6 dB down) speech: their powers give an SNR that counts
 *   a passing car as noise, which the floor does not.
 *
 * Allocation-free after construction; the cost is a sort of 300 numbers every 100 ms.
 */

/** Levels kept: 3 s of 10 ms. */
const WINDOW = 300;
/** 10 ms levels in each power mean the statistics see. */
const SMOOTH = 3;
/** Levels between evaluations: 100 ms. */
export const EVERY = 10;
/** A window has speech when 30 % of it stands this far above the background, dB … */
const SPEECH_OVER_NOISE_DB = 10;
/** … and is background alone when its loudest 30 ms stay within this of it (music: up to 8), dB. */
const BACKGROUND_DB = 10;
/** The background has risen when the window's quietest tenth exceeds its mean by this, dB. */
const RISEN_DB = 6;
/**
 * Mean-over-floor ratio of a background not yet measured, dB: the widest of the tune set's (pink
 * and car 2.5–3.5, babble 4–5.5, music 6–7), so that a swinging background is taken for one.
 */
const DEFAULT_RATIO_DB = 6;
/** RNNoise gates a frame: output this far below its input, dB … */
const GATED_DB = 15;
/** … passes it: output within this of its input, dB. */
const PASSED_DB = 6;
/** Shares of the RNNoise frames in a window that must be gated, and passed, for a gated SNR. */
const MIN_SHARE = 0.05;
/** RNNoise frames a cut is measured on, at least (the first decision has 30). */
const MIN_CUT_FRAMES = 20;
/** A background RNNoise cuts by at least this much is steady (RNNoise helps up to a higher SNR), dB. */
export const STEADY_CUT_DB = 10;
/** A pause: the last levels all within this of the floor, dB … */
const PAUSE_MARGIN_DB = 4;
/** … for this many 10 ms levels. */
const PAUSE_LEVELS = 3;

const db = (p: number) => 10 * Math.log10(Math.max(p, 1e-10));

export class NoiseEstimator {
  readonly #levels = new Float64Array(WINDOW);
  readonly #sorted = new Float64Array(WINDOW);
  readonly #smooth = new Float64Array(SMOOTH);
  /** per RNNoise frame (10 ms, the same clock): input and output mean squares, NaN when it did not run */
  readonly #rnnIn = new Float64Array(WINDOW).fill(NaN);
  readonly #rnnOut = new Float64Array(WINDOW).fill(NaN);
  #count = 0;
  #rnnCount = 0;
  #quietRun = 0;
  /** powers below this are near the floor (a pause); none before the first estimate */
  #pauseBelow = -1;
  #ratio = 10 ** (DEFAULT_RATIO_DB / 10);
  /** the background's mean power, and its quietest tenth as tracked under speech */
  #noise = NaN;
  #floor = Infinity;

  /** ms of audio measured */
  ms = 0;
  /** the floor (quietest fifth of the window), dBFS; NaN before the first evaluation */
  floorDb = NaN;
  /** the background's mean power, dBFS */
  noiseDb = NaN;
  /** the caller's speech (loudest 30 % of a window with speech, less the noise), dBFS; NaN until heard */
  speechDb = NaN;
  /** the last window had speech */
  speaking = false;
  /** a window has held the background alone (until then the noise is inferred from speech) */
  heardAlone = false;
  /** RNNoise's cut of the background alone, dB; NaN until measured */
  cutDb = NaN;
  /** SNR from the frames RNNoise gates and passes, dB; NaN unless this window allowed it */
  gatedSnrDb = NaN;

  /** The background is one RNNoise removes (null: not measured). */
  get steady(): boolean | null {
    return Number.isNaN(this.cutDb) ? null : this.cutDb >= STEADY_CUT_DB;
  }

  /** The caller is in a pause: the last 30 ms stayed near the floor (never before a floor is known). */
  get quiet(): boolean {
    return this.#quietRun >= PAUSE_LEVELS;
  }

  /**
   * One 10 ms raw mean square, full scale 1 (what the level in dBFS is 10·log10 of). Returns true
   * when it completed an evaluation (every 100 ms): the estimates are new.
   */
  push(power: number): boolean {
    // Statistics on 30 ms power means: 10 ms levels of steady noise spread too widely (±3 dB for
    // pink noise at 8 kHz) to tell the floor from speech. Kept linear: no log per level.
    this.#smooth[this.#count % SMOOTH] = power;
    this.#levels[this.#count % WINDOW] = (this.#smooth[0]! + this.#smooth[1]! + this.#smooth[2]!) / SMOOTH;
    this.#count++;
    this.ms = 10 * this.#count;
    this.#quietRun = power <= this.#pauseBelow ? this.#quietRun + 1 : 0;
    if (this.#count % EVERY !== 0) return false;
    this.#evaluate();
    return true;
  }

  /** One RNNoise frame: its input's and output's mean squares (NaN: RNNoise did not run on it). */
  rnnoise(inPower: number, outPower: number): void {
    const i = this.#rnnCount++ % WINDOW;
    this.#rnnIn[i] = inPower;
    this.#rnnOut[i] = outPower;
  }

  #evaluate(): void {
    const n = Math.min(this.#count, WINDOW);
    const s = this.#sorted.subarray(0, n);
    s.set(this.#levels.subarray(0, n));
    s.sort();
    const q20 = mean(s, 0, Math.max(1, Math.floor(n / 5)));
    this.floorDb = db(q20);
    this.#pauseBelow = q20 * 10 ** (PAUSE_MARGIN_DB / 10);
    // The background under speech: the quietest tenth (300 ms of 3 s: the gaps between words,
    // even in fluent talk), at its lowest since the background was last heard alone, times the
    // background's mean-over-that ratio. Speech lifts the quietest tenth, never lowers it.
    const q10 = mean(s, 0, Math.max(1, Math.floor(n / 10)));
    this.#floor = Math.min(this.#floor, q10);
    // A louder background: even the quietest tenth stands well above the background as known.
    const risen = !(q10 <= this.#noise * 10 ** (RISEN_DB / 10));
    if (risen) this.#floor = q10;
    const noiseRef = this.#floor * this.#ratio;
    const r = this.#rnnStats(Math.min(this.#rnnCount, WINDOW));
    const rnnCovers = r.valid >= n / 2;
    // Against that, a window is background alone when even its loudest 30 ms stay within
    // BACKGROUND_DB (one syllable is enough to tell), and has speech when 30 % of it stands out
    // by SPEECH_OVER_NOISE_DB (so that its loudest 30 % are speech, not the pauses around a
    // first word) and, where RNNoise runs on noise it cuts, it lets some frames through.
    const background = s[n - 1]! < noiseRef * 10 ** (BACKGROUND_DB / 10);
    this.speaking =
      !background &&
      !risen &&
      s[Math.floor(n * 0.7)]! >= noiseRef * 10 ** (SPEECH_OVER_NOISE_DB / 10) &&
      (!rnnCovers || this.steady !== true || r.passed >= MIN_SHARE * r.valid);
    if (background) {
      this.heardAlone = true;
      // Background alone: its mean, its swing over its quietest tenth, what RNNoise does to it.
      this.#noise = mean(s, 0, n);
      this.#floor = q10;
      this.#ratio = Math.max(1, this.#noise / q10);
      if (r.valid >= MIN_CUT_FRAMES && r.sumOut > 0) this.cutDb = db(r.sumIn / r.sumOut);
    } else this.#noise = noiseRef;
    if (this.speaking) this.speechDb = db(Math.max(mean(s, Math.floor(n * 0.7), n) - this.#noise, 1e-10));
    this.noiseDb = db(this.#noise);
    this.gatedSnrDb =
      this.speaking && rnnCovers && r.gated >= MIN_SHARE * r.valid && r.passed >= MIN_SHARE * r.valid
        ? db(Math.max(r.passedIn / r.passed - r.gatedIn / r.gated, 1e-10)) - db(r.gatedIn / r.gated)
        : NaN;
  }

  /** Sums over the RNNoise frames of the window. Reuses one object: no allocation. */
  #rnnStats(n: number): typeof STATS {
    const t = STATS;
    t.valid = t.gated = t.passed = t.sumIn = t.sumOut = t.gatedIn = t.passedIn = 0;
    for (let i = 0; i < n; i++) {
      const a = this.#rnnIn[i]!;
      const b = this.#rnnOut[i]!;
      if (Number.isNaN(a)) continue;
      t.valid++;
      t.sumIn += a;
      t.sumOut += b;
      if (b * 10 ** (GATED_DB / 10) <= a) {
        t.gated++;
        t.gatedIn += a;
      } else if (b * 10 ** (PASSED_DB / 10) >= a) {
        t.passed++;
        t.passedIn += a;
      }
    }
    return t;
  }
}

/** Scratch of #rnnStats (one per thread: evaluations never interleave). */
const STATS = { valid: 0, gated: 0, passed: 0, sumIn: 0, sumOut: 0, gatedIn: 0, passedIn: 0 };

/** Mean of powers [from, to), floored at −100 dBFS. */
function mean(powers: Float64Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += powers[i]!;
  return Math.max(sum / Math.max(1, to - from), 1e-10);
}
