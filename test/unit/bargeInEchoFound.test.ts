import { describe, it } from 'vitest';
import { g168Path } from '../../bench/src/bargein/echoPaths.js';
import { runTrial } from '../../bench/src/bargein/trial.js';
import { expectDuckedAndCleared, quietTrial, useTrialDeps } from '../helpers/bargeinTrial.js';

/**
 * Barge-in in the agent's first second on a line whose echo the canceller finds: a real Call (echo
 * canceller, Silero VAD, judge, playout) in simulated time, the bench's trial runner. From the
 * moment the path is found until the canceller's loss is measured over half a second of the agent's
 * speech, the judge takes the echo to be no louder than the delay search's correlation reads it
 * (BargeIn.ts CORRELATED_MARGIN_DB). The loss measured meanwhile is a ratio of powers, and read the
 * caller's voice as echo: the louder she talked over the agent, the louder the echo she had to
 * out-talk.
 */

const deps = useTrialDeps();

describe('barge-in in the agent’s first second, on a line whose echo is found', () => {
  it('ducks and clears for a caller 10 dB under the agent on G.168 D.3 at 20 dB ERL, from 0.4 s into its speech', async () => {
    const path = { kind: 'g168' as const, name: 'D3', h: g168Path('D3'), delayMs: 120, erlDb: 20 };
    const t = quietTrial('interrupt-1-a.wav', -10, path, 0.4);
    const o = await runTrial(t, deps(), {});
    // Ducked 0.12 s and cleared 0.76 s after her onset; with the loss measured over her voice
    // (before), 0.7 s and 1.34 s.
    expectDuckedAndCleared(o, t.onset * 1000);
  }, 60_000);
});
