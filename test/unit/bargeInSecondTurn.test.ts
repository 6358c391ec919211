import { describe, expect, it } from 'vitest';
import { handsetPath, type EchoPath } from '../../bench/src/bargein/echoPaths.js';
import { firstWords, load, rng } from '../../bench/src/bargein/signals.js';
import { runTrial } from '../../bench/src/bargein/trial.js';
import { expectDuckedAndCleared, quietTrial, useTrialDeps } from '../helpers/bargeinTrial.js';

/**
 * Barge-in in the agent's second turn (`--prior-turn` in bench:bargein): the agent greeted the
 * caller for 4 s, the line ran alone for 3 s, and the agent speaks again. A real Call (echo
 * canceller, Silero VAD, judge, playout) in simulated time, the bench's trial runner. The turn a
 * caller interrupts has most often had one before it: by then the call's canceller has found and
 * measured the echo, where in the call's first turn the judge has only the prior until the delay
 * search finds it (p50 0.3 s) and half a second of the agent's speech measures it.
 */

const deps = useTrialDeps();
/** a handset line: 200–400 Hz high-pass, 2.8–3.4 kHz low-pass, dispersion and a second reflection */
const HANDSET: EchoPath = { kind: 'handset', ...handsetPath(rng(3)), delayMs: 64, erlDb: 8 };
const GREETING = () => firstWords(load('agent-2.wav'), 4);
const AFTER_MS = 3000;

describe('barge-in in the agent’s second turn, on an 8 dB ERL handset line', () => {
  it('ducks and clears for a caller 18 dB under the agent from 0.2 s into its speech', async () => {
    const t = quietTrial('interrupt-3-a.wav', -18, HANDSET, 0.2);
    const o = await runTrial(t, { ...deps(), agentAfterMs: AFTER_MS, priorTurn: GREETING() }, {});
    // Ducked 120 ms and cleared 760 ms after her onset (over the floor's noise drawn with seeds
    // 1–10: 120 ms and 720–760 ms, every time). The greeting taught the canceller the path (trial
    // time is from the second turn's start).
    expect(o.pathFoundMs).toBeLessThan(0);
    expectDuckedAndCleared(o, t.onset * 1000);
    // `playedMs` is the agent's audio the caller heard since the last clear: the greeting's 4 s too
    const { playedMs, truthMs } = o.clears[0]!;
    expect(truthMs).toBeGreaterThan(4000);
    expect(Math.abs(playedMs - truthMs)).toBeLessThanOrEqual(60);
    // The same caller in the call's first turn, for the record: there the judge has the prior alone
    // until the path is found, and her first words fall under the echo it predicts.
    const first = await runTrial(t, { ...deps(), agentAfterMs: AFTER_MS }, {});
    console.log(
      `caller at ${(t.onset * 1000).toFixed(0)} ms: second turn ducked at ${o.ducks.join(',')} cleared at ${o.clears.map((c) => c.atMs).join(',')}; ` +
        `first turn ducked at ${first.ducks.join(',')} cleared at ${first.clears.map((c) => c.atMs).join(',')}`,
    );
  }, 120_000);

  it('lets the second turn play whole on its echo alone, and counts only its own audio', async () => {
    const t = { ...quietTrial('interrupt-3-a.wav', -18, HANDSET), kind: 'echo-only' as const, event: null, onset: 0 };
    const o = await runTrial(t, { ...deps(), agentAfterMs: AFTER_MS, priorTurn: GREETING() }, {});
    expect(o.clears).toEqual([]);
    // no duck in the second turn (seeds 1–10: none); one in the greeting is the first turn's, before the path is found
    expect(o.ducks.filter((d) => d >= 0)).toEqual([]);
    // every 20 ms of the second turn reached the phone, and the greeting's are not counted with them
    expect(o.agentSamplesPlayed).toBe(o.agentSamplesDue);
    expect(o.agentSamplesDue).toBe(160 * Math.ceil(t.agentPcm.length / 160));
  }, 120_000);
});
