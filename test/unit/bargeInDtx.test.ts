import { describe, expect, it } from 'vitest';
import { noEchoPath } from '../../bench/src/bargein/echoPaths.js';
import { activeRms, dbToGain, load, onsetIndex } from '../../bench/src/bargein/signals.js';
import { runTrial, type Outcome, type Trial } from '../../bench/src/bargein/trial.js';
import { quietTrial, useTrialDeps } from '../helpers/bargeinTrial.js';

/**
 * Barge-in from a phone that suppresses silence (RFC 3551 §4.1 talkspurts, an RFC 3389 comfort-noise
 * packet as each silence begins): while the caller is quiet it sends nothing.
 * A real Call in simulated time, the bench's trial runner. The caller talks first (her turn, the
 * agent silent), then listens while the agent speaks, then interrupts it, a little quieter than she spoke.
 */

const deps = useTrialDeps();
const RATE = 8000;
/** the agent starts this long into the call, after the caller's turn (ms) */
const AGENT_AFTER_MS = 3000;
/**
 * She interrupts this much (dB) quieter than she took her turn. The phone sent nothing while she
 * listened, and that silence is her background, not her turn: judged against her turn's level, an
 * interruption at that very level cleared the margin by a decibel (noiseMarginDb 4; at 5 it was
 * cleared 3.1 s after its onset), and one 3 dB quieter was never cleared.
 */
const QUIETER_DB = 3;

function turnThenInterruption(): Trial {
  const base = quietTrial('interrupt-2-a.wav', -6, noEchoPath(60));
  const turn = load('interrupt-3-a.wav').subarray(0, 2 * RATE);
  const talk = load('interrupt-2-a.wav');
  const gainOf = (x: Float32Array, db = -6) => (activeRms(base.agentPcm) * dbToGain(db)) / activeRms(x);
  // the caller's turn from the call's start; the interruption 1.5 s after the agent starts
  const at = ((AGENT_AFTER_MS + 1500) * RATE) / 1000;
  const event = new Float32Array(at + talk.length);
  event.set(turn.map((v) => v * gainOf(turn)));
  event.set(
    talk.map((v) => v * gainOf(talk, -6 - QUIETER_DB)),
    at,
  );
  expect(turn.length).toBeLessThan((AGENT_AFTER_MS * RATE) / 1000);
  return { ...base, event, eventAt: -AGENT_AFTER_MS / 1000, onset: 1.5 + onsetIndex(talk) / RATE };
}

/**
 * The interruption of trial `t` cleared within a second of its onset (simulated time on the 20 ms
 * grid, from the agent's start).
 */
function expectClearedInTime(o: Outcome, t: Trial, label?: string): void {
  const onsetMs = t.onset * 1000;
  expect(o.clears.length, label).toBeGreaterThanOrEqual(1);
  expect(o.clears[0]!.atMs, label).toBeGreaterThan(onsetMs);
  expect(o.clears[0]!.atMs, label).toBeLessThanOrEqual(onsetMs + 1000);
}

/** The backchannel of trial `t` ducked, never cleared, and back within a second of its last word, nothing lost. */
function expectResumedInTime(o: Outcome, t: Trial, label?: string): void {
  expect(o.clears, label).toEqual([]);
  expect(o.ducks.length, label).toBeGreaterThanOrEqual(1);
  expect(o.resumes.length, label).toBe(o.ducks.length);
  expect(o.resumes.at(-1)!, label).toBeLessThanOrEqual((t.eventAt + t.event!.length / RATE) * 1000 + 1000);
  expect(o.agentSamplesPlayed, label).toBeGreaterThanOrEqual(o.agentSamplesDue);
}

describe('barge-in from a phone that suppresses silence', () => {
  it('clears within a second of the onset when her interruption is the first the phone sends', async () => {
    // A quiet room: the phone sent nothing while the agent spoke, nor before, and no comfort noise
    // (none began a silence). Her first words stood for her background, as her turn did in the
    // test below: here `interrupt-6` was cleared 1.26 s after its onset (and in a sweep of ten
    // clips 6–18 dB under the agent, 20 of 30 were cleared late or never).
    for (const clip of ['interrupt-2-a.wav', 'interrupt-6.wav', 'interrupt-8.wav']) {
      const t = quietTrial(clip, -12, noEchoPath(60));
      const o = await runTrial(t, { ...deps(), agentAfterMs: AGENT_AFTER_MS, dtx: true }, {});
      expect(o.packets.in).toBeLessThan(o.packets.frames / 2);
      expectClearedInTime(o, t, clip);
    }
  }, 60_000);

  it('brings the agent back after a backchannel the phone sends nothing after', async () => {
    // A quiet room: after her "okay" the phone sends nothing. Her utterance ended only with a chunk
    // that came after it, so none came, and the agent stayed ducked to the trial's end (held-out
    // seed 10 with --dtx: 10 of 149 ducked backchannels, the no-echo line's 7 of them).
    for (const clip of ['backchannel-en-us-okay.wav', 'backchannel-en+f3-uh-huh.wav', 'backchannel-en-gb+m3-mm-hmm.wav']) {
      const t = quietTrial(clip, -12, noEchoPath(60));
      const o = await runTrial(t, { ...deps(), agentAfterMs: AGENT_AFTER_MS, dtx: true }, {});
      expect(o.packets.in).toBeLessThan(o.packets.frames / 2);
      expectResumedInTime(o, t, clip);
    }
  }, 60_000);

  it('brings the agent back after a backchannel without the speech model too (RNNoise judges)', async () => {
    // The judge takes RNNoise's probability per frame as the frames come: none came after the
    // "okay", and the agent stayed ducked. ("mm-hmm" is left: its pause, unsent, is not heard, and
    // it is cleared as one utterance.)
    for (const clip of ['backchannel-en-us-okay.wav', 'backchannel-en+f3-uh-huh.wav']) {
      const t = quietTrial(clip, -12, noEchoPath(60));
      const o = await runTrial(t, { ...deps(), agentAfterMs: AGENT_AFTER_MS, dtx: true }, { silero: false });
      expectResumedInTime(o, t, clip);
    }
  }, 60_000);

  it('on Opus, whose encoder transmits discontinuously: clears an interruption, brings the agent back after a backchannel', async () => {
    // libopus' DTX (RFC 7587 §3.1.3): in silence one frame in 21 (420 ms), nothing between, no RFC 3389
    const opus = { ...deps(), agentAfterMs: AGENT_AFTER_MS, dtx: true, codec: 'opus' as const };
    const talk = quietTrial('interrupt-6.wav', -12, noEchoPath(60));
    const o = await runTrial(talk, opus, {});
    expect(o.packets.in).toBeLessThan(o.packets.frames / 2);
    expectClearedInTime(o, talk);
    const bc = quietTrial('backchannel-en-us-okay.wav', -12, noEchoPath(60));
    const b = await runTrial(bc, opus, {});
    expectResumedInTime(b, bc);
    console.log(
      `opus dtx: ${o.packets.in} of ${o.packets.frames} frames sent; clear ${o.clears[0]!.atMs - talk.onset * 1000} ms after onset; backchannel ducks ${b.ducks.join(',')}, resumes ${b.resumes.join(',')}`,
    );
  }, 60_000);

  it('clears within a second of the onset: her earlier turn is no background for it', async () => {
    const t = turnThenInterruption();
    const o = await runTrial(t, { ...deps(), agentAfterMs: AGENT_AFTER_MS, dtx: true }, {});
    // the phone sent under half its frames (and a comfort-noise packet at each silence): none was lost
    expect(o.packets.in).toBeLessThan(o.packets.frames / 2);
    expect(o.packets.lost).toBe(0);
    expectClearedInTime(o, t);
  }, 60_000);
});
