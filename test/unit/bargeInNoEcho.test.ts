import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import { setLogLevel } from '../../gateway/src/log.js';
import { DspPool } from '../../gateway/src/media/DspPool.js';
import { SileroModel } from '../../gateway/src/media/SileroVad.js';
import { Metrics } from '../../gateway/src/metrics.js';
import { noEchoPath } from '../../bench/src/bargein/echoPaths.js';
import { activeRms, dbToGain, load, onsetIndex, rng } from '../../bench/src/bargein/signals.js';
import { runTrial, type Trial } from '../../bench/src/bargein/trial.js';

/**
 * Barge-in on a line with no echo at all, the common case of a mobile or softphone caller (its own
 * canceller took the echo out) and of a 4-wire trunk: a real Call (echo canceller, Silero VAD,
 * judge, playout) in simulated time, the bench's trial runner. The canceller finds no echo, and the
 * judge must not go on assuming the prior's (erlPriorDb under the agent's loudest): a caller 16 dB
 * under the agent was caught only in the agent's pauses, seconds late (bench/README.md).
 */

setLogLevel('silent');
let deps: Parameters<typeof runTrial>[1];

beforeAll(async () => {
  const [speex, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
  deps = { pool: await DspPool.create({ speex, rnnoise }, 0), speex, metrics: new Metrics(), rng: rng(7), vad: await SileroModel.load() };
});

afterAll(async () => {
  await deps.pool.close();
});

/** The agent's utterance on a no-echo line at a −60 dBFS floor, the caller saying `clip` `callerDb` under the agent from 1.5 s. */
function noEchoTrial(clip: string, callerDb: number): Trial {
  const agentPcm = load('agent-1.wav');
  const talk = load(clip);
  const gain = (activeRms(agentPcm) * dbToGain(callerDb)) / activeRms(talk);
  const event = talk.map((v) => v * gain);
  const eventAt = 1.5;
  return {
    kind: 'interruption',
    agentPcm,
    agent: 'agent-1.wav',
    event,
    eventAt,
    onset: eventAt + onsetIndex(event) / 8000,
    path: noEchoPath(60),
    h: Float32Array.of(0),
    noise: 'none',
    noiseRms: 0,
    floorRms: 32768 * dbToGain(-60),
    label: 'none',
    seed: 7,
    babblePrefix: 'interrupt-',
  };
}

describe('barge-in on a line with no echo', () => {
  it('clears for a caller 16 dB under the agent within a second of the onset, ducking first', async () => {
    const t = noEchoTrial('interrupt-1-a.wav', -16);
    const o = await runTrial(t, deps, {});
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

  it('ducks a backchannel there and brings the agent back, with no clear', async () => {
    const o = await runTrial(noEchoTrial('backchannel-en-us-okay.wav', -16), deps, {});
    expect(o.clears).toEqual([]);
    expect(o.ducks.length).toBeGreaterThanOrEqual(1);
    expect(o.resumes.length).toBe(o.ducks.length);
    expect(o.agentSamplesPlayed).toBe(o.agentSamplesDue); // nothing lost
  }, 60_000);
});
