/**
 * The interruption judge's tuned rules (Interruption.ts): what a chunk and an utterance must show,
 * each chosen on the bench's tune split and checked held out (bench/README.md).
 */

/**
 * The caller's background is the median level of the last 1.5 s, taken when an utterance starts
 * (so the caller's own speech does not raise it): babble, music or a TV must be exceeded by
 * noiseMarginDb, not merely their quiet moments.
 */
export const BACKGROUND_QUANTILE = 0.5;

/**
 * Hysteresis within an utterance: once it has begun, a chunk continues it with a level this much
 * (dB) less above the caller's background. At 5–10 dB of speech over car, pink or brown noise the
 * quieter syllables of an interruption fall short of the full margin, and the utterance broke
 * into pieces that never lasted shortUtteranceMs (chosen on the tune split, bench/README.md).
 */
export const HOLD_NOISE_DB = 4;
/**
 * Speech must fill this share of an utterance (pauses bridged) for it to be confirmed: a noise
 * that now and then sounds like speech does not; a caller speaking over noise, with syllables lost
 * in it, does (0.5 lost a third of those on the tune split).
 */
export const SPEECH_SHARE = 0.35;
/**
 * A speech chunk with clear evidence counts twice towards `duckMs`: its level CLEAR_DB (dB) over
 * every margin it must clear, as an interruption's first syllables often are and residual echo or
 * background seldom, so a clear onset ducks one chunk (32 ms) sooner. How sure the model is does not
 * matter beyond its threshold: asking p ≥ 0.8 as well (fourth pass) held the duck back on human
 * voices, which the model is sure of later than espeak's (tune split: duck p50 8–21 ms sooner with
 * 2 more false ducks in 17; bench/README.md, forty-fourth pass).
 */
export const CLEAR_DB = 3;
/**
 * A chunk the model is sure of (probability ≥ SURE_P) need only reach the predicted echo, not
 * stand echoMarginDb over it, once that prediction is taken as the line's (`pathMeasured`). The
 * prediction is a ceiling, and the residual echo suppressor leaves little that Silero is sure is
 * speech; a caller over the agent on a line of 6–10 dB ERL stands only 0–6 dB over it for much of
 * the first second (tune split, bench/README.md, seventh pass).
 */
export const SURE_P = 0.9;
export const SURE_ECHO_MARGIN_DB = 0;
/**
 * An utterance is confirmed only while it still goes strong: one of its chunks within the last
 * CONFIRM_WINDOW_MS (ms; two of Silero's 32 ms chunks) stands within CONFIRM_SPAN_DB (dB) of its
 * loudest speech chunk so far. An interruption is mid-sentence at shortUtteranceMs; a backchannel
 * that lasts that long ("okay, sure…") is trailing off, though the model still calls it speech.
 * Chosen on the tune split, checked held out (bench/README.md, seventeenth pass).
 */
export const CONFIRM_SPAN_DB = 10;
export const CONFIRM_WINDOW_MS = 64;
