import { describe, expect, it } from 'vitest';
import { noEchoPath } from '../../bench/src/bargein/echoPaths.js';
import { runTrial } from '../../bench/src/bargein/trial.js';
import { expectDuckedAndCleared, quietTrial, useTrialDeps } from '../helpers/bargeinTrial.js';

/**
 * Barge-in on a line with no echo at all, the common case of a mobile or softphone caller (its own
 * canceller took the echo out) and of a 4-wire trunk: a real Call (echo canceller, Silero VAD,
 * judge, playout) in simulated time, the bench's trial runner. The canceller finds no echo, and the
 * judge must not go on assuming the prior's (erlPriorDb under the agent's loudest): a caller 16 dB
 * under the agent was caught only in the agent's pauses, seconds late (bench/README.md).
 */

const deps = useTrialDeps();

/**
 * The canceller found no echo, and the caller was cleared once, after her onset and within the
 * bench's recall window (1 s), ducked first: simulated time, on the 20 ms grid.
 */
function expectClearedWithinASecond(o: Awaited<ReturnType<typeof runTrial>>, onsetMs: number): void {
  expect(Number.isNaN(o.erlDb)).toBe(true);
  expect(o.clears.length).toBe(1);
  expect(o.clears[0]!.atMs).toBeGreaterThan(onsetMs);
  expect(o.clears[0]!.atMs).toBeLessThanOrEqual(onsetMs + 1000);
  const duck = o.ducks.find((d) => d >= onsetMs);
  expect(duck).toBeDefined();
  expect(duck!).toBeLessThan(o.clears[0]!.atMs);
}

describe('barge-in on a line with no echo', () => {
  it('clears for a caller 16 dB under the agent within a second of the onset, ducking first', async () => {
    const t = quietTrial('interrupt-1-a.wav', -16, noEchoPath(60));
    expectClearedWithinASecond(await runTrial(t, deps(), {}), t.onset * 1000);
  }, 60_000);

  it("ducks and clears for her in the agent's first second too, once half a second of it has found no echo", async () => {
    // The line is taken as having no echo once the delay search has correlated the agent's first
    // half second with nothing (BargeIn QUIET_MS, QUIET_PEAK). Waiting UNFOUND_MS (a second of
    // the agent's speech) instead, she had to out-talk the prior's echo until then: ducked 0.7 s
    // and cleared 1.3 s after her onset here.
    const t = quietTrial('interrupt-1-a.wav', -16, noEchoPath(60), 0.4);
    const o = await runTrial(t, deps(), {});
    expect(Number.isNaN(o.erlDb)).toBe(true);
    expectDuckedAndCleared(o, t.onset * 1000);
  }, 60_000);

  it("clears for her within a second when she starts 0.15 s into the agent's turn, her first words counted once the line has shown it has no echo", async () => {
    // Until the line has been heard at every delay of the echo window (ShownLoss), her first words
    // could be the agent's echo: the model does not run on them then (`maySpeak`). Heard as no
    // echo since, they count, the model having run on them as a warm-up (InterruptionDetector
    // `chunk`, deferred): she is cleared 0.75 s after her onset (ducked 0.69 s after it, with the
    // first chunk that may be speech). Before both, 1.67 s after it; with the line's loss alone,
    // 1.33 s (the utterance taken to begin at her second word). Her first word's tail stands within
    // a dB of the margin and her pause is near gapMs: on the floor's noise drawn with seeds 1–12,
    // she is cleared 0.75 s after her onset on 11, on seed 2 at her second word (bench/README.md,
    // fiftieth pass). This test draws seed 7.
    const t = quietTrial('interrupt-1-a.wav', -16, noEchoPath(60), 0.15);
    const o = await runTrial(t, { ...deps(), agentAfterMs: 1000 }, {});
    console.log(
      `caller from ${t.onset * 1000} ms into the agent, no echo: ducks ${o.ducks.join(',')}, clears ${o.clears.map((c) => c.atMs).join(',')}`,
    );
    expectClearedWithinASecond(o, t.onset * 1000);
  }, 60_000);

  it('ducks a backchannel there and brings the agent back, with no clear', async () => {
    const o = await runTrial(quietTrial('backchannel-en-us-okay.wav', -16, noEchoPath(60)), deps(), {});
    expect(o.clears).toEqual([]);
    expect(o.ducks.length).toBeGreaterThanOrEqual(1);
    expect(o.resumes.length).toBe(o.ducks.length);
    expect(o.agentSamplesPlayed).toBe(o.agentSamplesDue); // nothing lost
  }, 60_000);
});
