/**
 * Decides, for a call with `denoise: "auto"`, whether RNNoise helps, from the call's own raw
 * audio levels (mean square per 10 ms, before any denoising, so the estimate does not depend on the
 * decision it drives).
 *
 * Why a threshold on SNR: measured through the gateway (issue 17), RNNoise gains +2..+6 dB SI-SDR
 * on steady noise and +0.5..+2 dB on babble and music at input SNRs of 0–10 dB, and loses
 * 1–2.5 dB at 20 dB and 6 dB on clean speech. The crossover lies between 12 and 17 dB for every
 * kind, so the decision is an SNR threshold in that band, with hysteresis.
 *
 * The estimate, over the last WINDOW levels: the noise floor is the mean power of the quietest
 * fifth (between words and sentences: the background), the speech power that of the loudest
 * 30 % less the floor; SNR = speech / floor. Without any speech yet (a loud line before the
 * caller talks), the nominal telephone speech level (PRIOR_SPEECH_DB) stands in. Cost: a sort of
 * at most 300 numbers every 100 ms.
 */
export const AUTO_DENOISE = {
  /** dB of estimated SNR below which RNNoise is wanted (the centre of the crossover band) */
  thresholdDb: 18,
  /** a decision is revised only beyond threshold ± this, dB */
  hysteresisDb: 3,
  /** a revision needs the other side to hold this long, ms */
  holdMs: 1500,
  /** the first decision once speech stands out from the floor, after at least this much caller audio, ms … */
  firstAfterMs: 1500,
  /** … or, with no speech yet, this long (the nominal speech level then stands in), ms */
  firstByMs: 2500,
  /** speech stands out: the loudest 30 % at least this far above the floor, dB */
  speechOverFloorDb: 6,
  /** a floor below this (dBFS) is a clean line whatever the speech does */
  cleanFloorDb: -60,
} as const;

/** Levels kept: 3 s of 10 ms. */
const WINDOW = 300;
/** No estimate from less audio than this, ms (a clean line is known as such from then on). */
const EARLIEST_MS = 500;
/** 10 ms levels in each power mean the statistics see. */
const SMOOTH = 3;
/** Levels between evaluations: 100 ms. */
const EVERY = 10;
/** Nominal active speech level on a telephone line, dBFS (ITU-T P.56 −26 dBov). */
const PRIOR_SPEECH_DB = -26;
/** A pause: the last levels all within this of the floor, dB … */
const PAUSE_MARGIN_DB = 4;
/** … for this many 10 ms levels. */
const PAUSE_LEVELS = 3;

export class NoiseEstimator {
  readonly #levels = new Float64Array(WINDOW);
  readonly #sorted = new Float64Array(WINDOW);
  readonly #smooth = new Float64Array(SMOOTH);
  #count = 0;
  #quietRun = 0;
  /** decision: null until made */
  #want: boolean | null = null;
  /** ms the estimate has been on the other side of the hysteresis band */
  #otherMs = 0;
  #snrDb = NaN;
  #floorDb = NaN;
  /** powers below this are near the floor (a pause); none before the first estimate */
  #pauseBelow = -1;

  /** The estimated SNR, dB (NaN before the first estimate). */
  get snrDb(): number {
    return this.#snrDb;
  }

  /** The noise floor, dBFS (NaN before the first estimate). */
  get floorDb(): number {
    return this.#floorDb;
  }

  /** Whether RNNoise is wanted; null until the first decision. */
  get want(): boolean | null {
    return this.#want;
  }

  /** The caller is in a pause: the last 30 ms stayed near the floor (never before a floor is known). */
  get quiet(): boolean {
    return this.#quietRun >= PAUSE_LEVELS;
  }

  /** One 10 ms raw mean square, full scale 1 (what the level in dBFS is 10·log10 of). */
  push(power: number): void {
    // Statistics on 30 ms power means: 10 ms levels of steady noise spread too widely (±3 dB for
    // pink noise at 8 kHz) to tell the floor from speech. Kept linear: no log per level.
    this.#smooth[this.#count % SMOOTH] = power;
    this.#levels[this.#count % WINDOW] = (this.#smooth[0]! + this.#smooth[1]! + this.#smooth[2]!) / SMOOTH;
    this.#count++;
    this.#quietRun = power <= this.#pauseBelow ? this.#quietRun + 1 : 0;
    if (this.#count % EVERY === 0 && this.#count * 10 >= EARLIEST_MS) this.#evaluate();
  }

  #evaluate(): void {
    const n = Math.min(this.#count, WINDOW);
    const s = this.#sorted.subarray(0, n);
    s.set(this.#levels.subarray(0, n));
    s.sort();
    const floor = mean(s, 0, Math.max(1, Math.floor(n / 5)));
    const loud = mean(s, Math.floor(n * 0.7), n);
    this.#floorDb = 10 * Math.log10(floor);
    this.#pauseBelow = floor * 10 ** (PAUSE_MARGIN_DB / 10);
    const a = AUTO_DENOISE;
    // Speech stands out from the floor, or there is none to measure yet (the prior stands in).
    const speaking = loud >= floor * 10 ** (a.speechOverFloorDb / 10);
    const speechDb = speaking ? 10 * Math.log10(loud - floor) : PRIOR_SPEECH_DB;
    this.#snrDb = speechDb - this.#floorDb;
    const clean = this.#floorDb < a.cleanFloorDb;
    if (this.#want === null) {
      const ms = this.#count * 10;
      if (clean || (speaking && ms >= a.firstAfterMs) || ms >= a.firstByMs) this.#want = !clean && this.#snrDb < a.thresholdDb;
      return;
    }
    const other = this.#want
      ? clean || this.#snrDb > a.thresholdDb + a.hysteresisDb
      : !clean && this.#snrDb < a.thresholdDb - a.hysteresisDb;
    this.#otherMs = other ? this.#otherMs + EVERY * 10 : 0;
    if (this.#otherMs >= a.holdMs) {
      this.#want = !this.#want;
      this.#otherMs = 0;
    }
  }
}

/** Mean of powers [from, to), floored at −100 dBFS. */
function mean(powers: Float64Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += powers[i]!;
  return Math.max(sum / Math.max(1, to - from), 1e-10);
}
