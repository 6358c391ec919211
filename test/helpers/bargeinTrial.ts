import { afterAll, beforeAll, expect } from 'vitest';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import { setLogLevel } from '../../gateway/src/log.js';
import { DspPool } from '../../gateway/src/media/DspPool.js';
import { SileroModel } from '../../gateway/src/media/SileroModel.js';
import { Metrics } from '../../gateway/src/metrics.js';
import { scaledResponse, type EchoPath } from '../../bench/src/bargein/echoPaths.js';
import { activeRms, dbToGain, fixtureBeds, load, onsetIndex, rng } from '../../bench/src/bargein/signals.js';
import type { runTrial, Trial } from '../../bench/src/bargein/trial.js';

type Deps = Parameters<typeof runTrial>[1];
type Outcome = Awaited<ReturnType<typeof runTrial>>;

/**
 * What `runTrial` needs (the inline DSP chain, speex, Silero VAD), set up before the file's tests
 * and closed after them; the returned function gives it to a test, each call with random draws of
 * its own (seed 7: a trial's noise does not depend on which ran before it). Logging is silenced.
 */
export function useTrialDeps(): () => Deps {
  let deps: Omit<Deps, 'rng'> | undefined;
  setLogLevel('silent');
  beforeAll(async () => {
    const [speex, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
    deps = { pool: await DspPool.create({ speex, rnnoise }, 0), speex, metrics: new Metrics(), vad: await SileroModel.load() };
  });
  afterAll(async () => {
    await deps?.pool.close();
  });
  return () => ({ ...deps!, rng: rng(7) });
}

/**
 * One trial of the barge-in bench on `path`, in a quiet room (the phone's floor at −60 dBFS): the
 * agent's utterance `agent-1.wav`, the caller saying `clip` `callerDb` under the agent from
 * `eventAt` (s after the agent starts).
 */
export function quietTrial(clip: string, callerDb: number, path: EchoPath, eventAt = 1.5): Trial {
  const agentPcm = load('agent-1.wav');
  const talk = load(clip);
  const gain = (activeRms(agentPcm) * dbToGain(callerDb)) / activeRms(talk);
  const event = talk.map((v) => v * gain);
  return {
    kind: clip.startsWith('backchannel') ? 'backchannel' : 'interruption',
    agentPcm,
    agent: 'agent-1.wav',
    event,
    eventAt,
    onset: eventAt + onsetIndex(event) / 8000,
    path,
    h: scaledResponse(agentPcm, path),
    noise: 'none',
    noiseRms: 0,
    floorRms: 32768 * dbToGain(-60),
    label: 'none',
    seed: 7,
    beds: fixtureBeds('interrupt-'),
  };
}

/**
 * The trial's caller was caught as the bench counts it: one clear, after her onset and within the
 * recall window (1 s), and a duck within half of it first. Simulated time, on the 20 ms grid.
 */
export function expectDuckedAndCleared(o: Outcome, onsetMs: number): void {
  expect(o.clears.length).toBe(1);
  expect(o.clears[0]!.atMs).toBeGreaterThan(onsetMs);
  expect(o.clears[0]!.atMs).toBeLessThanOrEqual(onsetMs + 1000);
  const duck = o.ducks.find((d) => d >= onsetMs);
  expect(duck).toBeDefined();
  expect(duck!).toBeLessThanOrEqual(onsetMs + 500);
}
