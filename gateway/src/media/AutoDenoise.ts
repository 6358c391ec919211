import { EVERY, NoiseEstimator } from './NoiseEstimator.js';

/**
 * The decision of `denoise: "auto"`: whether RNNoise makes this call's audio better, from what
 * NoiseEstimator measures of it.
 *
 * What decides (measured through the gateway on the tune set: speech at −24 dBFS, SI-SDR against
 * the clean speech; bench/README.md "Denoise"): RNNoise gains 2–12 dB at input SNRs of 0–10 dB
 * whatever the noise; above that it helps while the noise it removes outweighs the distortion it
 * adds to the speech. The crossover is at about 22 dB input SNR for steady noise it cuts by 20–50
 * dB (pink, car, traffic) and at about 18 dB for babble, cafe and music, which it barely cuts. On
 * clean speech it costs 7 dB. So: RNNoise when the estimated SNR is below the crossover of the
 * background's kind, with hysteresis.
 *
 * When: a call starts with RNNoise running, as `true` does: at 0 dB SNR every 100 ms of noise let
 * through unprocessed costs about 0.4 dB of the call's SI-SDR, so waiting to decide is what cost
 * `auto` most. The first decision comes at FIRST_MS, from the background alone (RNNoise has
 * measured its cut by then) and a nominal talker level (the prior), or at once (EARLIEST_MS) on a
 * line whose floor is digital silence; a caller who talks from the first packet, with no pause
 * yet, is decided at LATEST_MS. Once the caller's speech has been measured its level
 * replaces the nominal one; a decision is revised when the estimate has stayed beyond the
 * threshold ± HYSTERESIS_DB for HOLD_MS. A call turned off stops stepping RNNoise (it then costs
 * nothing); AutoDenoise only says what is wanted, DenoiseStage switches in a pause.
 */
export const AUTO_DENOISE = {
  /** a floor below this (dBFS) is a clean line whatever else is measured */
  cleanFloorDb: -60,
  /** nominal active speech level of a telephone talker, dBFS (−20 dBm0 in G.711: ITU-T G.711, P.56) */
  nominalSpeechDb: -26,
  /** the loudest 30 % of a window of speech sit this far above its active level (P.56), dB: measured on the tune set */
  loudOverActiveDb: 3,
  /**
   * Thresholds, dB of estimated input SNR: RNNoise below. Measured: at the crossovers. Prior (no
   * speech heard yet, the nominal level standing in for it): moved by its uncertainty toward the
   * cheaper mistake: steady noise stays denoised up to 28 dB (RNNoise gains up to 12 dB below the
   * crossover and loses 2–3 dB just above it), the others only below 15 dB (it gains at most 2 dB).
   */
  steadyDb: 21.5,
  speechlikeDb: 18,
  priorSteadyDb: 28,
  priorSpeechlikeDb: 15,
  /** a decision is revised only beyond threshold ± this, dB … */
  hysteresisDb: 2.5,
  /** … held this long, ms … */
  holdMs: 1500,
  /**
   * … or this long to turn RNNoise off on a steady background: traffic comes and goes within
   * seconds, and RNNoise kept a little too long on it costs at most 2–3 dB where one passing car
   * let through costs up to 12.
   */
  steadyOffHoldMs: 3000,
} as const;

/** First decision, once the background has been heard alone, ms of caller audio … */
export const FIRST_MS = 500;
/**
 * … or at the latest (a caller who talks from the first packet): until a pause, the noise can
 * only be inferred from the quietest tenth of speech, which reads 15–20 dB SNR on a clean line
 * and would turn RNNoise on for nothing. A silent line is known at its first pause (EARLIEST_MS).
 */
export const LATEST_MS = 1000;
/** A clean line is known as such from here on, ms. */
const EARLIEST_MS = 200;

export class AutoDenoise {
  readonly noise = new NoiseEstimator();
  /** decision: null until made (RNNoise runs meanwhile) */
  #want: boolean | null = null;
  /** ms the estimate has been on the other side of the hysteresis band */
  #otherMs = 0;
  #snrDb = NaN;
  /** the last gated SNR while RNNoise runs, dB */
  #gatedDb = NaN;

  /** The SNR estimate the last decision used, dB of input SNR (NaN before the first). */
  get snrDb(): number {
    return this.#snrDb;
  }

  /** Whether RNNoise is wanted; null until the first decision. */
  get want(): boolean | null {
    return this.#want;
  }

  /** RNNoise should run: as decided, or (before the first decision) yes. */
  get wantNow(): boolean {
    return this.#want ?? true;
  }

  /** One 10 ms raw mean square (full scale 1). `running`: RNNoise shapes the output now. */
  push(power: number, running: boolean): void {
    if (this.noise.push(power)) this.#decide(running);
  }

  #decide(running: boolean): void {
    const e = this.noise;
    const a = AUTO_DENOISE;
    const clean = e.floorDb < a.cleanFloorDb;
    const steady = e.steady === true;
    // A window without enough frames gated and passed keeps the last gated SNR.
    if (!running) this.#gatedDb = NaN;
    else if (!Number.isNaN(e.gatedSnrDb)) this.#gatedDb = e.gatedSnrDb;
    let snr: number;
    let threshold: number;
    if (Number.isNaN(e.speechDb)) {
      snr = a.nominalSpeechDb - e.noiseDb;
      threshold = steady ? a.priorSteadyDb : a.priorSpeechlikeDb;
    } else if (steady && running && !Number.isNaN(this.#gatedDb)) {
      // RNNoise's own split of a steady background: the floor misses what passes (traffic).
      snr = this.#gatedDb;
      threshold = a.steadyDb;
    } else {
      snr = e.speechDb - a.loudOverActiveDb - e.noiseDb;
      threshold = steady ? a.steadyDb : a.speechlikeDb;
    }
    this.#snrDb = snr;
    if (this.#want === null) {
      if (clean && e.ms >= EARLIEST_MS) this.#want = false;
      else if (e.ms >= (e.heardAlone ? FIRST_MS : LATEST_MS)) this.#want = !clean && snr < threshold;
      return;
    }
    // A clean line needs no hold: nothing RNNoise could remove.
    if (clean) {
      this.#want = false;
      this.#otherMs = 0;
      return;
    }
    const other = this.#want ? snr > threshold + a.hysteresisDb : snr < threshold - a.hysteresisDb;
    this.#otherMs = other ? this.#otherMs + EVERY * 10 : 0;
    if (this.#otherMs >= (this.#want && steady ? a.steadyOffHoldMs : a.holdMs)) {
      this.#want = !this.#want;
      this.#otherMs = 0;
    }
  }
}
