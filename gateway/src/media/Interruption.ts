import { SILENT_DB, type BargeInOptions } from './BargeIn.js';
import {
  BACKGROUND_QUANTILE,
  HOLD_NOISE_DB,
  SPEECH_SHARE,
  CLEAR_DB,
  SURE_P,
  SURE_ECHO_MARGIN_DB,
  CONFIRM_SPAN_DB,
  CONFIRM_WINDOW_MS,
} from './interruptionRules.js';

/**
 * Duck, then decide: is the caller talking over the agent, and is it an interruption?
 *
 * It judges the echo-cancelled caller audio, its residual echo suppressed (EchoSuppressor: what the
 * canceller leaves of the agent's voice is taken out bin by bin, so the speech model does not hear
 * it as the caller), in the 32 ms chunks of the speech model (Silero VAD), whose results come back
 * after their chunk: each is taken at its own media time, with the level of those very samples (or,
 * without Silero, per 10 ms with RNNoise's voice probability). A chunk is caller speech when the
 * model says so (≥ sileroThreshold, or vadThreshold) and its level stands clear of the echo that
 * may be left (the echo canceller's measured loss applied to what was played then: `echoMarginDb`,
 * none for a chunk the model is sure of once the loss is measured), of the caller's own background
 * (`noiseMarginDb`) and of `minLevelDb`. So residual echo is not speech, whatever it sounds like.
 *
 * While the agent is audible, an utterance of the caller (pauses up to `gapMs` bridged; one under
 * way when the agent starts a turn, after `gapMs` or more of silence, is taken as beginning then)
 *   - with `duckMs` of speech (a chunk well over every margin counts twice) → duck: the agent's
 *     playout drops by duckDb at once (`barge_in_suspected`);
 *   - still speaking `shortUtteranceMs` after its onset (`minSpeechMs` of speech), not trailing
 *     off (CONFIRM_SPAN_DB), on a chunk `noiseMarginDb` over the background → confirm: barge-in;
 *   - that ends before → resume: the volume comes back, nothing was dropped (`barge_in_resumed`);
 *   - neither confirmed nor ended `shortUtteranceMs + gapMs` after its onset → resume as well
 *     (speech-like noise keeps it open with too little speech in it); it can still be confirmed.
 * Backchannels ("uh-huh", "okay"), coughs and bursts of noise are shorter than an interruption.
 */
export interface InterruptionEvents {
  duck(runStartMs: number): void;
  confirm(runStartMs: number): void;
  /** the utterance ended at `endMs` without being an interruption (after a duck) */
  resume(endMs: number): void;
  /** the caller stopped after a confirmed interruption (the duck, if any, can go) */
  release(): void;
}

/** What the detector needs of the echo and background model (BargeInDetector keeps both). */
export interface EchoModel {
  /** predicted residual echo at 10 ms slot `slot`, dBFS */
  predictedEcho(slot: number): number;
  /** a quantile of the caller's recent levels, dBFS (−100, silence, until any has been heard) */
  percentileDb(q: number): number;
  /** the predicted echo is taken as this line's (BargeInDetector: measured, or no echo found) */
  readonly pathMeasured: boolean;
  /** the echo canceller has found the echo path (absent: taken as found, as before ShownLoss) */
  readonly echoFound?: boolean;
}

/** chunk levels kept for CONFIRM_WINDOW_MS: RNNoise's 10 ms chunks need 7 */
const RECENT = 8;
/** 10 ms levels kept: 2.56 s covers the speech model's longest lag (SileroVad: ≈ 2 s queued) */
const SLOTS = 256;

/** What one chunk was judged on. */
export interface JudgedChunk {
  /** the chunk's level, the loudest echo predicted in it and the background it must clear, dBFS */
  levelDb: number;
  echoDb: number;
  backgroundDb: number;
  /** by how much it cleared the tightest of its margins, dB (below 0: no caller speech) */
  headroomDb: number;
}

export class InterruptionDetector {
  readonly #o: Readonly<BargeInOptions>;
  readonly #echo: EchoModel;
  readonly #ev: InterruptionEvents;
  /** residual level (dBFS; NaN: a lost packet's) per 10 ms slot of media time */
  readonly #levels = new Float32Array(SLOTS).fill(SILENT_DB);
  #lastSlot = -1;
  #run = false;
  #runStart = 0;
  #speechMs = 0;
  /** speech towards duckMs: clear chunks count twice */
  #duckEvidenceMs = 0;
  #lastSpeech = 0;
  #ducked = false;
  /** this utterance was ducked and the volume came back while it went on: no second duck */
  #duckSpent = false;
  #confirmed = false;
  /** the agent was audible at the last chunk; if not, since when it has not been (media time, ms) */
  #audible = false;
  #silentFromMs = -Infinity;
  /** the loudest speech chunk of the current utterance, dBFS */
  #peakDb = SILENT_DB;
  /** the levels of the last RECENT chunks, dBFS (ring, `#chunks` is the next to write) */
  readonly #recentDb = new Float32Array(RECENT).fill(SILENT_DB);
  #chunks = 0;
  /** the caller's background when the current utterance began, dBFS */
  #background = SILENT_DB;
  /** what the last chunk was judged on (its background is the one `chunk` starts an utterance with) */
  readonly #judged: JudgedChunk = { levelDb: SILENT_DB, echoDb: SILENT_DB, backgroundDb: SILENT_DB, headroomDb: 0 };
  /** `maySpeak`'s scratch: it judges nothing */
  readonly #may: JudgedChunk = { ...this.#judged };

  constructor(o: Readonly<BargeInOptions>, echo: EchoModel, events: InterruptionEvents) {
    this.#o = o;
    this.#echo = echo;
    this.#ev = events;
  }

  /** An utterance of the caller is open: it may yet duck, be confirmed or end. */
  get inUtterance(): boolean {
    return this.#run;
  }

  /** What the last chunk was judged on (a tuning aid's trace: bench/src/bargein/replay.ts). */
  get lastJudged(): Readonly<JudgedChunk> {
    return this.#judged;
  }

  /** Level of the 10 ms of caller audio ending at media time `endMs` (ms, on the reference's clock); NaN: lost, unknown. */
  level(endMs: number, db: number): void {
    const slot = Math.round(endMs / 10) - 1;
    for (let s = this.#lastSlot + 1; s < slot; s++) this.#levels[((s % SLOTS) + SLOTS) % SLOTS] = SILENT_DB;
    this.#levels[((slot % SLOTS) + SLOTS) % SLOTS] = db;
    this.#lastSlot = Math.max(this.#lastSlot, slot);
  }

  /**
   * By how much (dB) the level of the chunk of `chunkMs` ending at `endMs` stands clear of the
   * predicted echo (echoMarginDb, or SURE_ECHO_MARGIN_DB at probability `p` ≥ SURE_P), the
   * caller's background (noiseMarginDb, less HOLD_NOISE_DB within an utterance) and minLevelDb, at
   * its tightest: a chunk below 0 is no caller speech whatever the model says.
   */
  #headroomDb(endMs: number, chunkMs: number, p: number, j = this.#judged): number {
    const o = this.#o;
    const last = Math.round(endMs / 10) - 1;
    const first = Math.round((endMs - chunkMs) / 10);
    let pow = 0;
    let known = 0;
    let echo = SILENT_DB;
    for (let s = first; s <= last; s++) {
      const l = s > this.#lastSlot || s <= this.#lastSlot - SLOTS ? SILENT_DB : this.#levels[((s % SLOTS) + SLOTS) % SLOTS]!;
      echo = Math.max(echo, this.#echo.predictedEcho(s));
      if (Number.isNaN(l)) continue; // a lost packet's slot has no level: the chunk's is that of the rest
      pow += 10 ** (l / 10);
      known++;
    }
    const level = known === 0 ? SILENT_DB : 10 * Math.log10(pow / known + 1e-12);
    const background = this.#run ? this.#background : this.#echo.percentileDb(BACKGROUND_QUANTILE);
    const noiseMargin = o.noiseMarginDb - (this.#run ? HOLD_NOISE_DB : 0);
    const echoMargin = p >= SURE_P && this.#echo.pathMeasured ? Math.min(SURE_ECHO_MARGIN_DB, o.echoMarginDb) : o.echoMarginDb;
    j.levelDb = level;
    j.echoDb = echo;
    j.backgroundDb = background;
    j.headroomDb = Math.min(level - o.minLevelDb, level - echo - echoMargin, level - background - noiseMargin);
    return j.headroomDb;
  }

  /**
   * Whether the chunk of `chunkMs` ending at `endMs` may be caller speech, whatever the model says:
   * within an utterance always (it may end it), else if its level clears its margins as they are
   * now at the model's surest (p = 1). The model need not run on one that may not at once.
   */
  maySpeak(endMs: number, chunkMs: number): boolean {
    return this.#run || this.#headroomDb(endMs, chunkMs, 1, this.#may) >= 0;
  }

  /**
   * The speech probability a chunk is judged on, from the model's `p` and whether its run was
   * `deferred` (`chunk`). A deferred chunk is no speech: judged now, its echo would be predicted
   * with a loss the canceller measured after it, on a line's first second lower than the prior it
   * was turned down with (car noise the model took for speech was confirmed 1.8 s before the caller
   * spoke: tune split, twenty-first pass). Unless the echo is still unfound: what lowered its echo
   * since is then the loss the line has shown (ShownLoss) or its being taken as having no echo
   * (`pathMeasured`), no canceller's measure, and the line was as quiet then. (A chunk that may not
   * be speech now, `maySpeak`, is none at any probability.) A caller who spoke in the agent's first
   * 0.35 s so counts once the line has shown no echo that loud: with the caller in the agent's
   * first second, the tune split's recall 296 → 301 of 384, nothing else changed (bench/README.md,
   * forty-ninth pass).
   */
  heard(p: number, deferred: boolean): number {
    return deferred && this.#echo.echoFound !== false ? 0 : p;
  }

  /**
   * The speech probability `p` (of Silero, or RNNoise's per 10 ms when Silero is off) for the chunk
   * of `chunkMs` ending at `endMs`, its threshold, whether the agent is audible now, and whether
   * the model's run on the chunk was `deferred` (`maySpeak` turned it down as it came: run later,
   * if at all, as a warm-up). (The background level moves on with every 10 ms the inbound chain
   * delivers: a chunk judged late is judged against a background a few frames younger, which
   * changes nothing that matters.)
   */
  chunk(endMs: number, chunkMs: number, p: number, threshold: number, agentAudible: boolean, deferred = false): void {
    const o = this.#o;
    p = this.heard(p, deferred);
    // An utterance under way when the agent starts a turn (after gapMs or more of silence, not a
    // gap in its audio) is judged afresh from there, as one that begins then: babble or a TV
    // carried an utterance open at its median while the agent was silent, and with the caller's
    // turn behind it it was confirmed the moment the agent spoke (tune split with the caller's
    // line 3 s before the agent, bench/README.md, twentieth pass). A caller still talking is
    // confirmed shortUtteranceMs after the agent starts, as anyone interrupting then.
    const startMs = endMs - chunkMs;
    if (agentAudible && !this.#audible && this.#run && startMs - this.#silentFromMs >= o.gapMs) this.#end();
    if (!agentAudible && this.#audible) this.#silentFromMs = startMs;
    this.#audible = agentAudible;
    // An utterance that began before any background was heard (the call's first 50 ms:
    // percentileDb has nothing yet) is held to the background as soon as there is one, not to
    // silence for as long as it lasts: babble from the call's first instant was confirmed 0.78 s
    // in as an interruption (tune split, bench/README.md, eighteenth pass).
    if (this.#run && this.#background <= SILENT_DB) this.#background = this.#echo.percentileDb(BACKGROUND_QUANTILE);
    const headroom = this.#headroomDb(endMs, chunkMs, p);
    const speech = headroom >= 0 && p >= threshold;
    const { levelDb, backgroundDb: background } = this.#judged;
    this.#recentDb[this.#chunks++ % RECENT] = levelDb;
    if (speech) {
      if (!this.#run) {
        this.#run = true;
        this.#background = background;
        this.#runStart = endMs - chunkMs;
        this.#speechMs = 0;
        this.#duckEvidenceMs = 0;
        this.#duckSpent = false;
        this.#peakDb = SILENT_DB;
      }
      this.#peakDb = Math.max(this.#peakDb, levelDb);
      this.#speechMs += chunkMs;
      this.#duckEvidenceMs += headroom >= CLEAR_DB ? 2 * chunkMs : chunkMs;
      this.#lastSpeech = endMs;
    } else if (this.#run && endMs - this.#lastSpeech > o.gapMs) {
      this.#end();
      return;
    }
    if (!this.#run || !o.enabled) return;
    if (!agentAudible) {
      // the agent finished (or was cleared) while the caller talks: nothing left to duck
      if (this.#ducked && !this.#confirmed) this.#ev.resume(this.#lastSpeech);
      this.#ducked = false;
      return;
    }
    if (!this.#ducked && !this.#duckSpent && !this.#confirmed && o.duckDb > 0 && this.#duckEvidenceMs >= o.duckMs) {
      this.#ducked = true;
      this.#ev.duck(this.#runStart);
    }
    // An utterance that still goes on after shortUtteranceMs (pauses bridged) is no backchannel;
    // and speech fills SPEECH_SHARE of it, and it has not trailed off. The chunk that confirms
    // clears the whole noiseMarginDb, not the held margin: babble, music or residual echo at their
    // median carry an utterance on, and confirmed it 0.6–1.6 dB over (bench/README.md, 23rd pass).
    const span = endMs - this.#runStart;
    if (
      !this.#confirmed &&
      speech &&
      levelDb - background >= o.noiseMarginDb &&
      this.#speechMs >= Math.max(o.minSpeechMs, span * SPEECH_SHARE) &&
      span >= o.shortUtteranceMs &&
      this.#strong(chunkMs)
    ) {
      this.#confirmed = true;
      this.#ev.confirm(this.#runStart);
    } else if (this.#ducked && !this.#confirmed && span >= o.shortUtteranceMs + o.gapMs) {
      // A duck that neither confirms nor ends: speech-like chunks of a background (babble just
      // over the margins) keep the utterance open, never a gapMs pause, with too little speech in
      // it to be confirmed. The caller must not hear the agent held down by the noise: once the
      // utterance has gone on shortUtteranceMs + gapMs, the volume comes back (held-out split: a
      // backchannel over babble kept the agent ducked 1.6 s, to the end of the trial, bench/README.md).
      this.#ducked = false;
      this.#duckSpent = true;
      this.#ev.resume(endMs);
    }
  }

  /** A chunk of the last CONFIRM_WINDOW_MS stands within CONFIRM_SPAN_DB of the utterance's peak. */
  #strong(chunkMs: number): boolean {
    const n = Math.min(RECENT, Math.ceil(CONFIRM_WINDOW_MS / chunkMs), this.#chunks);
    for (let k = 1; k <= n; k++) if (this.#recentDb[(this.#chunks - k) % RECENT]! >= this.#peakDb - CONFIRM_SPAN_DB) return true;
    return false;
  }

  #end(): void {
    if (this.#confirmed) this.#ev.release();
    else if (this.#ducked) this.#ev.resume(this.#lastSpeech);
    this.#run = false;
    this.#ducked = false;
    this.#confirmed = false;
  }
}
