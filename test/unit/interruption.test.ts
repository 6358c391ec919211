import { describe, expect, it } from 'vitest';
import { DEFAULT_BARGE_IN } from '../../gateway/src/media/BargeIn.js';
import { InterruptionDetector, type EchoModel } from '../../gateway/src/media/Interruption.js';

/**
 * Duck, then decide, on the 32 ms chunk grid of the speech model: what the detector does with a
 * given sequence of speech probabilities and levels (the signal side is measured by
 * bench:bargein and the integration test).
 */

const CHUNK = 32;
const quiet: EchoModel = { predictedEcho: () => -100, percentileDb: () => -70, pathMeasured: false };

function harness(echo: EchoModel = quiet, opts: Partial<typeof DEFAULT_BARGE_IN> = {}) {
  const events: string[] = [];
  const d = new InterruptionDetector({ ...DEFAULT_BARGE_IN, ...opts }, echo, {
    duck: (t) => events.push(`duck@${t}`),
    confirm: (t) => events.push(`confirm@${t}`),
    resume: (t) => events.push(`resume@${t}`),
    release: () => events.push('release'),
  });
  let t = 0;
  /** `ms` of chunks at `db` with speech probability `p` */
  const feed = (ms: number, p: number, db: number, audible = true) => {
    for (const end = t + ms; t < end; t += CHUNK) {
      for (let s = t + 10; s <= t + CHUNK; s += 10) d.level(s, db);
      d.chunk(t + CHUNK, CHUNK, p, 0.5, audible);
    }
  };
  return { events, feed, at: () => t, d };
}

/** where an unconfirmed duck resumes: the first chunk end shortUtteranceMs + gapMs after `onsetMs` */
const resumeUnconfirmed = (onsetMs: number) =>
  onsetMs + Math.ceil((DEFAULT_BARGE_IN.shortUtteranceMs + DEFAULT_BARGE_IN.gapMs) / CHUNK) * CHUNK;

describe('InterruptionDetector', () => {
  it("maySpeak: a chunk that clears its margins at the model's surest may be speech; within an utterance any may", () => {
    /** the level (dBFS, all its 10 ms) a chunk needs for maySpeak, to 1 dB, under `echo` */
    const needs = (echo: EchoModel) => {
      for (let db = -90; db <= 0; db++) {
        const { d } = harness(echo);
        for (let s = 10; s <= CHUNK; s += 10) d.level(s, db);
        if (d.maySpeak(CHUNK, CHUNK)) return db;
      }
      return NaN;
    };
    const echo = (e: number, measured: boolean, background = -70): EchoModel => ({
      predictedEcho: () => e,
      percentileDb: () => background,
      pathMeasured: measured,
    });
    // at p = 1 the echo margin is 0 once the path is measured (SURE_P), echoMarginDb (6) before
    expect(needs(echo(-40, true))).toBe(-40);
    expect(needs(echo(-40, false))).toBe(-34);
    // the background's margin (noiseMarginDb), and minLevelDb (-55)
    expect(needs(echo(-100, true, -50))).toBe(-50 + DEFAULT_BARGE_IN.noiseMarginDb);
    expect(needs(echo(-100, true, -90))).toBe(-55);
    // within an utterance every chunk may be speech: it may end it, or be confirmed on
    const h = harness(echo(-40, true));
    h.feed(96, 0.95, -30);
    for (let s = h.at() + 10; s <= h.at() + CHUNK; s += 10) h.d.level(s, -90);
    expect(h.d.maySpeak(h.at() + CHUNK, CHUNK)).toBe(true);
  });

  it('ducks on early evidence and resumes when the utterance is short (a backchannel)', () => {
    const h = harness();
    h.feed(320, 0.05, -60); // agent talking, caller quiet
    h.feed(288, 0.95, -30); // "uh-huh": ≈ 290 ms
    h.feed(640, 0.05, -60);
    expect(h.events).toEqual(['duck@320', 'resume@608']); // resumed: when the utterance ended
  });

  it('ducks, then confirms an utterance that goes on past shortUtteranceMs, and releases when it ends', () => {
    const h = harness();
    h.feed(320, 0.05, -60);
    h.feed(1024, 0.95, -30);
    h.feed(640, 0.05, -60);
    expect(h.events).toEqual(['duck@320', 'confirm@320', 'release']);
  });

  it('brings the volume back when an utterance neither confirms nor ends (speech-like noise), and can still confirm it', () => {
    const h = harness();
    h.feed(320, 0.05, -60);
    h.feed(96, 0.95, -30); // ducked on its first chunks
    // then one speech-like chunk in every 320 ms: never a 400 ms pause, a tenth of it speech
    for (let i = 0; i < 6; i++) {
      h.feed(288, 0.05, -60);
      h.feed(32, 0.95, -30);
    }
    // not confirmed; at the first chunk ending shortUtteranceMs + gapMs after its onset the volume came back
    const back = resumeUnconfirmed(320);
    expect(h.events).toEqual(['duck@320', `resume@${back}`]);
    h.feed(1024, 0.95, -30); // the caller now talks: confirmed, not ducked again
    h.feed(640, 0.05, -60);
    expect(h.events).toEqual(['duck@320', `resume@${back}`, 'confirm@320', 'release']);
  });

  it('judges an utterance under way when the agent starts from the agent’s start, not from where it began', () => {
    // the caller (or a TV) talks through the agent's silence, and on when the agent starts
    const h = harness();
    h.feed(320, 0.05, -60, false);
    h.feed(1024, 0.95, -30, false);
    expect(h.events).toEqual([]); // nothing to duck or clear while the agent is silent
    // ducked at once, with the agent's start (1 344 ms) as the onset; confirmed on the chunk that
    // ends shortUtteranceMs after it, not at it
    const confirmAt = 1344 + Math.ceil(DEFAULT_BARGE_IN.shortUtteranceMs / CHUNK) * CHUNK;
    h.feed(confirmAt - 1344 - CHUNK, 0.95, -30, true);
    expect(h.events).toEqual(['duck@1344']);
    h.feed(CHUNK, 0.95, -30, true);
    expect(h.events).toEqual(['duck@1344', 'confirm@1344']);
    h.feed(1024 - (confirmAt - 1344), 0.95, -30, true);
    expect(h.events).toEqual(['duck@1344', 'confirm@1344']);
  });

  it('a gap in the agent’s audio shorter than gapMs is no new turn: the utterance goes on', () => {
    const h = harness();
    h.feed(320, 0.05, -60);
    h.feed(320, 0.95, -30); // ducked
    h.feed(96, 0.95, -30, false); // the agent's stream ran dry for 96 ms
    h.feed(608, 0.95, -30);
    // (the duck is let go while nothing plays, and taken again) confirmed with its own onset
    expect(h.events).toEqual(['duck@320', 'resume@672', 'duck@320', 'confirm@320']);
  });

  it('does not bring the volume back under a confirmed interruption, however long', () => {
    const h = harness();
    h.feed(320, 0.05, -60);
    h.feed(3200, 0.95, -30);
    expect(h.events).toEqual(['duck@320', 'confirm@320']);
  });

  it('ducks one chunk sooner on clear evidence (speech well over every margin) than on marginal speech', () => {
    const duckedAfter = (p: number, db: number): number => {
      const h = harness({ predictedEcho: () => -100, percentileDb: () => -40, pathMeasured: false });
      h.feed(320, 0.05, -60);
      for (let chunks = 1; chunks <= 4; chunks++) {
        h.feed(CHUNK, p, db);
        if (h.events.length > 0) return chunks;
      }
      return Infinity;
    };
    // a −40 dBFS background: −25 dBFS clears its margin (noiseMarginDb) by far, `just` by 1 dB
    const just = -40 + DEFAULT_BARGE_IN.noiseMarginDb + 1;
    expect(duckedAfter(0.95, -25)).toBe(1);
    expect(duckedAfter(0.6, -25)).toBe(1); // the model only fairly sure: speech all the same
    expect(duckedAfter(0.95, just)).toBe(2); // only just over the background
    expect(duckedAfter(0.6, just)).toBe(2);
  });

  it('does not confirm an utterance that goes on past shortUtteranceMs trailing off (a long backchannel)', () => {
    const h = harness();
    h.feed(320, 0.05, -60);
    h.feed(320, 0.95, -30); // "okay, sure…"
    h.feed(640, 0.95, -44); // …still speech to the model, 14 dB under its peak
    h.feed(640, 0.05, -60);
    // never confirmed: the agent's volume came back, nothing dropped
    expect(h.events).toEqual(['duck@320', `resume@${resumeUnconfirmed(320)}`]);
  });

  it('confirms an interruption with a quiet stretch at shortUtteranceMs once it is strong again', () => {
    // 700 ms, so that the quiet word below spans it whatever the default
    const h = harness(quiet, { shortUtteranceMs: 700 });
    h.feed(320, 0.05, -60);
    h.feed(640, 0.95, -30);
    h.feed(192, 0.95, -44); // a quiet word, past shortUtteranceMs: not yet
    expect(h.events).toEqual(['duck@320']);
    h.feed(CHUNK, 0.95, -32); // within 10 dB of its peak again: confirmed on this chunk
    expect(h.events).toEqual(['duck@320', 'confirm@320']);
  });

  it('bridges pauses shorter than gapMs within one utterance', () => {
    const h = harness(quiet, { gapMs: 200 });
    h.feed(320, 0.05, -60);
    h.feed(256, 0.95, -30);
    h.feed(160, 0.05, -60); // a comma
    h.feed(512, 0.95, -30);
    expect(h.events.filter((e) => e.startsWith('confirm'))).toEqual(['confirm@320']);
  });

  it('takes nothing that does not stand clear of the predicted echo, however speech-like, until the path is measured', () => {
    const echo: EchoModel = { predictedEcho: () => -32, percentileDb: () => -70, pathMeasured: false };
    const h = harness(echo);
    h.feed(2000, 0.99, -30); // residual echo: 2 dB above the prediction, margin 6 dB
    expect(h.events).toEqual([]);
  });

  it('once the path is measured, takes a chunk the model is sure of that reaches the predicted echo, and only such a chunk', () => {
    const outcome = (p: number, db: number): string[] => {
      const h = harness({ predictedEcho: () => -32, percentileDb: () => -70, pathMeasured: true });
      h.feed(2000, p, db);
      return h.events;
    };
    // a caller talking over the agent, 2 dB above the echo predicted to be left (margin 6 dB)
    expect(outcome(0.95, -30)).toEqual(['duck@0', 'confirm@0']);
    expect(outcome(0.7, -30)).toEqual([]); // the model only fairly sure: the margin holds
    expect(outcome(0.99, -33)).toEqual([]); // under the prediction
  });

  it('takes nothing that does not rise above the caller background', () => {
    // 1 dB short of the margin over a −34 dBFS background
    const h = harness({ predictedEcho: () => -100, percentileDb: () => -34, pathMeasured: false });
    h.feed(2000, 0.99, -34 + DEFAULT_BARGE_IN.noiseMarginDb - 1);
    expect(h.events).toEqual([]);
  });

  it('confirms only on a chunk the whole noise margin over the background, not on noise at its median that carries the utterance', () => {
    const background = -50;
    const h = harness({ predictedEcho: () => -100, percentileDb: () => background, pathMeasured: false });
    h.feed(320, 0.05, -60);
    h.feed(96, 0.95, background + 10); // a burst clear of every margin: an utterance begins
    // then speech-like babble 1 dB over its median for a second: within the utterance's held
    // margin (noiseMarginDb − 4 dB), so it goes on; never the full margin, so never confirmed
    h.feed(960, 0.95, background + 1);
    expect(h.events).toEqual(['duck@320', `resume@${resumeUnconfirmed(320)}`]);
    // the caller, the whole margin over it: confirmed on its first chunk
    h.feed(CHUNK, 0.95, background + DEFAULT_BARGE_IN.noiseMarginDb);
    expect(h.events).toEqual(['duck@320', `resume@${resumeUnconfirmed(320)}`, 'confirm@320']);
  });

  it('judges a chunk with lost packets in it on the level of the rest, not as if the loss were silence', () => {
    // background −50 dBFS: a chunk must reach −45 (noiseMarginDb); its third 10 ms is −43
    const background: EchoModel = { predictedEcho: () => -100, percentileDb: () => -50, pathMeasured: true };
    const chunk = (first: number) => {
      const { d } = harness(background);
      d.level(10, first);
      d.level(20, first);
      d.level(30, -43);
      return d.maySpeak(CHUNK, CHUNK);
    };
    // its first 20 ms a lost packet (NaN: no level): judged at −43, it may be speech
    expect(chunk(NaN)).toBe(true);
    // the same 20 ms a silence the phone did not send: 4.8 dB lower, it is not
    expect(chunk(-100)).toBe(false);
    // every slot lost: nothing to judge, no speech
    const { d } = harness(background);
    for (let s = 10; s <= 30; s += 10) d.level(s, NaN);
    expect(d.maySpeak(CHUNK, CHUNK)).toBe(false);
  });

  it('holds an utterance that began before any background was heard to the background once there is one', () => {
    // BargeInDetector knows no background in the call's first 50 ms (SILENT_DB, −100 dBFS)
    const fromCallStart = (backgroundDb: number, ms: number, db: number): string[] => {
      const h = harness({ predictedEcho: () => -100, percentileDb: () => (h.at() < 50 ? -100 : backgroundDb), pathMeasured: false });
      h.feed(ms, 0.95, db);
      return h.events;
    };
    // speech-like babble from the first instant, 1 dB under its own median: ducked on its first
    // two chunks (no background yet), then no speech, and brought back; never confirmed
    expect(fromCallStart(-34, 2000, -35)).toEqual(['duck@0', 'resume@64']);
    // a caller talking from the first instant over a quiet line is still an interruption
    expect(fromCallStart(-70, 1024, -30)).toEqual(['duck@0', 'confirm@0']);
  });

  it('neither ducks nor clears while the agent is silent', () => {
    const h = harness();
    h.feed(1500, 0.95, -30, false);
    expect(h.events).toEqual([]);
  });

  it('with duckDb 0 only confirms', () => {
    const h = harness(quiet, { duckDb: 0 });
    h.feed(1024, 0.95, -30);
    expect(h.events).toEqual(['confirm@0']);
  });
});
