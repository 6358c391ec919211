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

describe('barge-in on a line with no echo', () => {
  it('clears for a caller 16 dB under the agent within a second of the onset, ducking first', async () => {
    const t = quietTrial('interrupt-1-a.wav', -16, noEchoPath(60));
    const o = await runTrial(t, deps(), {});
    const onsetMs = t.onset * 1000;
    expect(Number.isNaN(o.erlDb)).toBe(true); // the canceller found no echo
    expect(o.clears.length).toBe(1);
    // simulated time on the 20 ms grid: the decision after the onset, within the bench's recall window
    expect(o.clears[0]!.atMs).toBeGreaterThan(onsetMs);
    expect(o.clears[0]!.atMs).toBeLessThanOrEqual(onsetMs + 1000);
    const duck = o.ducks.find((d) => d >= onsetMs);
    expect(duck).toBeDefined();
    expect(duck!).toBeLessThan(o.clears[0]!.atMs);
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

  it('ducks a backchannel there and brings the agent back, with no clear', async () => {
    const o = await runTrial(quietTrial('backchannel-en-us-okay.wav', -16, noEchoPath(60)), deps(), {});
    expect(o.clears).toEqual([]);
    expect(o.ducks.length).toBeGreaterThanOrEqual(1);
    expect(o.resumes.length).toBe(o.ducks.length);
    expect(o.agentSamplesPlayed).toBe(o.agentSamplesDue); // nothing lost
  }, 60_000);
});
