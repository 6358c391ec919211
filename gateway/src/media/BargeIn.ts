import { rmsDbfs } from '../../../codecs/src/index.js';
import { CallerLevels, SILENT_DB } from './CallerLevels.js';
import { ShownLoss } from './ShownLoss.js';

export { SILENT_DB };

/**
 * The echo and background model of one call's barge-in, and its per-10 ms speech gate for the
 * speech_started/stopped events (the barge-in decision itself is InterruptionDetector's, which
 * reads `predictedEcho` and `percentileDb` here).
 *
 * The gateway plays the agent's audio, so it knows the reference that may echo back through the
 * caller's phone (6–30 dB quieter, 20–250 ms later); the call's echo canceller removes most of it
 * and measures what is left. Per 10 ms of (echo-cancelled, denoised) caller audio the gate says
 * "caller speech" when all hold:
 *   - RNNoise's voice probability ≥ vadThreshold (noise-only input is removed by RNNoise),
 *   - the level is ≥ minLevelDb,
 *   - while the agent's audio may be echoing: the level exceeds the predicted residual echo by
 *     echoMarginDb. Predicted = reference level at the echo delay minus the measured loss (echo
 *     return loss + the canceller's enhancement; until measured, no less than the delay search's
 *     correlation reads, less a margin, up to erlPriorDb: CORRELATED_MARGIN_DB); before the
 *     canceller has locked on, the loudest reference in the echo window minus erlPriorDb, or minus
 *     the more loss the line itself has shown (ShownLoss), and once it has found no echo in a
 *     second of the agent's speech (or in half a second, with no search peak of QUIET_PEAK), no
 *     more than the caller's line itself (UNFOUND_OVER_LINE_DB) unless its shown loss says more.
 * (speech_started is then the call's voice-activity detector's, after onsetMs.) The options are
 * all of barge-in's: the route's `bargeIn`.
 */
export interface BargeInOptions {
  enabled: boolean;
  /** drop the agent's queued audio at once on barge-in (native dialect default) */
  autoClear: boolean;
  /** RNNoise voice probability, 0..1 */
  vadThreshold: number;
  /** ms of caller speech before barge-in is decided */
  minSpeechMs: number;
  /** ms of caller speech (voice probability over the VAD's start threshold) before speech_started is reported */
  onsetMs: number;
  /** dB the caller must exceed the predicted echo by */
  echoMarginDb: number;
  /** dB, echo return loss assumed until one is learned or found absent (echo paths seen: 15–30 dB) */
  erlPriorDb: number;
  /** dBFS below which nothing counts as speech */
  minLevelDb: number;
  /** ms the echo may trail the reference (echo tail) */
  echoWindowMs: number;
  /**
   * dB a barge-in must rise above the caller's own background (babble, music, TV); within an
   * utterance a chunk goes on at this less HOLD_NOISE_DB (interruptionRules.ts). 5, not the 4 of the
   * fourth pass: chosen on three tune draws (replayed: 1 interruption fewer of 384, 10 more
   * backchannels kept of 480, clears on noise 8 → 5); held out on four draws, 2 interruptions
   * fewer of 512, 7 more backchannels kept of 640, clears on noise 6 → 1 (bench/README.md,
   * thirty-first pass).
   */
  noiseMarginDb: number;
  /** judge speech with Silero VAD on the echo-cancelled audio (else RNNoise's voice probability) */
  silero: boolean;
  /** Silero speech probability, 0..1 */
  sileroThreshold: number;
  /** dB the agent's playout is lowered by on early evidence (0: no ducking) */
  duckDb: number;
  /** ms of caller speech before ducking (a chunk well over every margin counts twice: Interruption.ts) */
  duckMs: number;
  /**
   * ms from its onset before an utterance can clear (pauses up to gapMs bridged): shorter ones (a
   * backchannel, a cough) only duck. 650, not the 700 chosen before utterances that trail off
   * stopped being confirmed (interruptionRules.ts, CONFIRM_SPAN_DB): on the tune split 650 cleared no
   * more backchannels, one more interruption, and the clear a 32 ms chunk sooner (625: 2–6 more
   * backchannels of 160 cleared); held out on three codecs, 2 more interruptions of 576 and 3 more
   * backchannels of 720 cleared, the clear p50 7–32 ms sooner (bench/README.md, nineteenth pass).
   */
  shortUtteranceMs: number;
  /** ms of pause bridged within one utterance */
  gapMs: number;
  /** send barge_in_suspected / barge_in_resumed to the agent (native dialect default) */
  duckEvents: boolean;
}

export const DEFAULT_BARGE_IN: BargeInOptions = {
  enabled: true,
  autoClear: true,
  vadThreshold: 0.8,
  minSpeechMs: 120,
  onsetMs: 30,
  echoMarginDb: 6,
  erlPriorDb: 18,
  minLevelDb: -55,
  echoWindowMs: 300,
  noiseMarginDb: 5,
  silero: true,
  sileroThreshold: 0.5,
  duckDb: 12,
  duckMs: 64,
  shortUtteranceMs: 650,
  gapMs: 400,
  duckEvents: true,
};

/**
 * Reference history kept, in 10 ms slots (5.12 s): the echo window of a chunk the speech model
 * judges up to ≈ 2 s late (SileroVad's queue), with room to spare.
 */
const REF_SLOTS = 512;
/**
 * When the predicted echo is taken as this line's (`pathMeasured`): once the canceller's loss rests
 * on MEASURED_MS of the agent's speech (fewer 100 ms windows made residual echo exceed the
 * prediction in the first second on the tune split), or, where it has found no echo at all, once
 * UNFOUND_MS of the agent's speech has played (dBFS ≥ SPEECH_DB per 10 ms): the delay search
 * finds an echo that stands out of the caller's line within 0.3–0.7 s of speech (tune split: p50
 * 0.3 s, p90 0.7 s), so one it has not found in a second lies in the caller's own noise, well
 * under the prior's estimate (erlPriorDb under the loudest reference of the echo window).
 */
const MEASURED_MS = 500;
const UNFOUND_MS = 1000;
/**
 * A line is taken as having no echo sooner, after QUIET_MS of the agent's speech, when no search
 * of the delay search has found a correlation of QUIET_PEAK with it (EchoCanceller `searchPeak`,
 * stated from its second search on: the first often comes over the agent's first few ms). On the
 * tune split with the caller in the agent's first second (bench/README.md, forty-sixth pass), the
 * best peak by then was under 0.15 on 341 of 455 lines with no echo (p50 0.11, p90 0.20: a
 * caller's voice, babble or music correlates with the agent's now and then), and on 21 of 459 lines
 * with an echo not yet locked on; under 0.2, on 413 and 86. At 0.2 the default times had two clears
 * before the caller spoke (an echo the search could not find under brown noise, and babble); at
 * 0.15, none.
 */
const QUIET_MS = 500;
const QUIET_PEAK = 0.15;
/**
 * dB over the median of the caller's line (its last 1.5 s, echo and background included) that an
 * echo the delay search has not found may reach: a no-echo line (a mobile or softphone whose own
 * canceller took it out, a 4-wire trunk) is quiet, and the prior (erlPriorDb under the agent's
 * loudest) would ask a quiet caller to out-talk an echo that is not there. On the tune split's
 * no-echo lines 6 dB caught 30 of 32 interruptions within a second (the prior alone: 16; 10 dB:
 * 27); 0 dB let a loud background through on lines whose echo it hides (replayed: 2 interruptions
 * fewer, 3 more clears on noise in 912 trials), 6 dB changed nothing there.
 */
const UNFOUND_OVER_LINE_DB = 6;
/**
 * Until the canceller's loss is taken as the line's (`pathMeasured`), a line whose echo was found is
 * taken to have at least the echo return loss the delay search's correlation reads there
 * (EchoCanceller `correlatedErlDb`) less CORRELATED_MARGIN_DB, up to erlPriorDb (and no less than
 * erlPriorDb / 2, as before). The loss measured over its first few windows is a ratio of powers:
 * with the caller talking in the agent's first second, her voice reads as echo, and the judge asked
 * her to out-talk herself (before the first window the canceller reports 6 dB, and the floor of
 * erlPriorDb / 2 asked as much). Her voice does not correlate with the agent's, so the correlation
 * does not read it. It reads high where its peak holds only part of the echo: the margin covers a
 * few dB of that, and erlPriorDb caps the rest (G.168 D.8 at 15 dB reads 22). With the caller in
 * the agent's first second (bench/README.md, forty-seventh pass), recall 257 → 267 of 384 on the
 * tune split, 259 → 269 held out, 1 backchannel of 480 more cleared on each; 0 dB cleared once on
 * echo alone, once more on noise and 4 more backchannels; 6 dB once on echo alone.
 */
const CORRELATED_MARGIN_DB = 3;
/** reference level from which the agent is taken to be speaking, dBFS per 10 ms (where the canceller adapts) */
const SPEECH_DB = -50;

export class BargeInDetector {
  readonly o: BargeInOptions;
  /** reference level per 10 ms slot, dBFS; slot = floor(t / 10 ms) */
  readonly #ref = new Float32Array(REF_SLOTS).fill(SILENT_DB);
  #refSlot = -1;
  /**
   * echo path from the echo canceller: loss from the reference to the cancelled audio (the
   * speech gate's frames) and to the echo left in the judge's audio (residual echo suppressed too,
   * the line's noise taken out), dB; delay (slots)
   */
  #lossDb = -1;
  #judgedLossDb = -1;
  #delaySlots = -1;
  /** agent speech the loss was measured over, and agent speech played, ms */
  #measuredMs = 0;
  #playedMs = 0;
  /** the delay search's best correlation with the agent's audio (NaN: not stated yet) */
  #searchPeak = NaN;
  /** the echo return loss its correlation reads where the path is, dB (NaN: none found) */
  #correlatedErlDb = NaN;
  /** the caller's line: her background (`percentileDb`), and what a frame her phone did not send stands for */
  readonly caller = new CallerLevels();
  /** the loss the caller's line has shown wherever the echo is, read until it is found */
  readonly #shown: ShownLoss;
  readonly #refDb = (slot: number): number => this.#refAt(slot);

  constructor(opts: Partial<BargeInOptions> = {}) {
    this.o = { ...DEFAULT_BARGE_IN, ...opts };
    this.#shown = new ShownLoss(Math.ceil(this.o.echoWindowMs / 10), SPEECH_DB);
  }

  /** The `q` quantile (0..1) of the caller's levels over the last 1.5 s (so far), dBFS. */
  percentileDb(q: number): number {
    return this.caller.percentileDb(q);
  }

  /** Records what was played at wall time `tMs` (one 20 ms frame at any rate, as two 10 ms levels). */
  reference(tMs: number, frame: Int16Array): void {
    const half = frame.length >> 1;
    for (let h = 0; h < 2; h++) {
      const slot = Math.floor(tMs / 10) + h;
      // slots skipped since the last frame were silent
      for (let s = Math.max(this.#refSlot + 1, slot - REF_SLOTS + 1); s < slot; s++) this.#ref[s % REF_SLOTS] = SILENT_DB;
      const db = levelDb(frame, h * half, (h + 1) * half);
      this.#ref[slot % REF_SLOTS] = db;
      if (db >= SPEECH_DB) this.#playedMs += 10;
      if (slot > this.#refSlot) this.#refSlot = slot;
    }
  }

  /**
   * The echo path as the echo canceller measured it: total loss from the reference to the
   * cancelled audio and to the echo left in the judge's (residual echo suppressed; the line's noise
   * taken out: EchoCanceller `suppressedEchoLossDb`), dB, and its delay in 10 ms slots, and the
   * agent speech it was measured over (ms), the best correlation the delay search has found
   * (`searchPeak`), and the echo return loss its correlation reads at the path (dB,
   * `correlatedErlDb`). A delay of −1: no echo found yet. Until set, the detector assumes
   * erlPriorDb anywhere in the echo window.
   */
  setEchoPath(lossDb: number, judgedLossDb: number, delaySlots: number, measuredMs: number, searchPeak = NaN, correlatedErlDb = NaN): void {
    this.#lossDb = lossDb;
    this.#judgedLossDb = judgedLossDb;
    this.#delaySlots = delaySlots;
    this.#measuredMs = measuredMs;
    this.#searchPeak = searchPeak;
    this.#correlatedErlDb = correlatedErlDb;
  }

  /**
   * The caller's line (echo-cancelled, not denoised, residual echo not suppressed) over the 10 ms
   * ending at media time `endMs` (its own, on the reference's clock: LineEcho `lineAtMs`), dBFS: her
   * background, and until the echo is found the loss it shows (ShownLoss).
   */
  line(endMs: number, db: number): void {
    this.caller.push(db);
    if (this.#delaySlots < 0) this.#shown.line(Math.round(endMs / 10) - 1, db, this.#refDb);
  }

  /** Whether the echo canceller has found the echo path (`setEchoPath` with a delay). */
  get echoFound(): boolean {
    return this.#delaySlots >= 0;
  }

  /** Whether the predicted echo is taken as this line's (MEASURED_MS, UNFOUND_MS, QUIET_MS). */
  get pathMeasured(): boolean {
    if (this.#delaySlots >= 0) return this.#measuredMs >= MEASURED_MS;
    return this.#playedMs >= UNFOUND_MS || (this.#playedMs >= QUIET_MS && this.#searchPeak < QUIET_PEAK);
  }

  #refAt(slot: number): number {
    return slot > this.#refSlot || slot <= this.#refSlot - REF_SLOTS || slot < 0 ? SILENT_DB : this.#ref[slot % REF_SLOTS]!;
  }

  /** Loudest reference level in slots [from, to], dBFS. */
  #refMax(from: number, to: number): number {
    let max = SILENT_DB;
    for (let s = from; s <= to; s++) max = Math.max(max, this.#refAt(s));
    return max;
  }

  /** Loudest reference (agent audio as played) over [fromMs, toMs], dBFS: the live page's meter reads it once a second. */
  referencePeakDb(fromMs: number, toMs: number): number {
    return this.#refMax(Math.floor(fromMs / 10), Math.floor(toMs / 10));
  }

  /** Predicted level of the echo in the judge's audio (residual echo suppressed) at `slot`, dBFS (−100 when none). */
  predictedEcho(slot: number): number {
    return this.#predicted(slot, this.#judgedLossDb);
  }

  /** Predicted echo at `slot` after a loss of `lossDb` from the reference, dBFS. */
  #predicted(slot: number, lossDb: number): number {
    if (this.#delaySlots >= 0) {
      const half = this.o.erlPriorDb / 2;
      const correlated = this.#correlatedErlDb - CORRELATED_MARGIN_DB;
      const least = this.pathMeasured || !(correlated > half) ? half : Math.min(correlated, this.o.erlPriorDb);
      return this.#refMax(slot - this.#delaySlots - 2, slot - this.#delaySlots + 2) - Math.max(lossDb, least);
    }
    // The loudest echo the window could hold: its loudest reference less the prior's loss, or less
    // the loss the line has shown wherever the echo is, where that is more (ShownLoss).
    const loudest = this.#refMax(slot - Math.ceil(this.o.echoWindowMs / 10), slot);
    const shown = loudest - (this.#shown.erlDb > this.o.erlPriorDb ? this.#shown.erlDb : this.o.erlPriorDb);
    if (!this.pathMeasured) return shown;
    // No echo found in UNFOUND_MS of the agent's speech, or in QUIET_MS with no search peak of
    // QUIET_PEAK (`pathMeasured`): it would have stood out, so the echo is no louder than the line
    // itself (UNFOUND_OVER_LINE_DB) but no quieter than the loss shown predicts; a line that showed
    // less loss than the prior (her voice, or an echo found late under noise) keeps the prior.
    return Math.max(shown, Math.min(loudest - this.o.erlPriorDb, this.percentileDb(0.5) + UNFOUND_OVER_LINE_DB));
  }

  /**
   * One 10 ms piece of caller audio arriving at wall time `tMs`: its denoised level (dBFS) and
   * voice probability. Whether it is caller speech (not residual echo), for the speech events.
   */
  push(tMs: number, level: number, vad: number): boolean {
    const predicted = this.#predicted(Math.floor(tMs / 10), this.#lossDb);
    const echoRisk = predicted + this.o.erlPriorDb > this.o.minLevelDb;
    return vad >= this.o.vadThreshold && level >= this.o.minLevelDb && (!echoRisk || level >= predicted + this.o.echoMarginDb);
  }
}

/** Level of samples [from, to) in dBFS, floored at −100 dBFS (the detector's "silent"). */
export function levelDb(x: Int16Array, from: number, to: number): number {
  return Math.max(SILENT_DB, rmsDbfs(x, from, to));
}
