import { describe, expect, it } from 'vitest';
import { activeRms, mixture, NOISES, RATE, SPEECH_DBFS, speechSet } from '../../bench/src/denoise/mixtures.js';
import { measure, noiseOnlyMask } from '../../bench/src/denoise/quality.js';
import { readChoice } from '../../bench/src/denoise/gateway.js';
import type { AgentSession } from '../../testkit/TestAgent.js';

// The denoise benchmark's material and yardsticks: if these are wrong, every figure it prints is.
const voice = speechSet('heldout')[0]!;
const dbfs = (rms: number) => 20 * Math.log10(rms / 32768);
const rmsOf = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);

describe('denoise bench mixtures', () => {
  it('puts the speech at -24 dBFS active level and the background at the asked SNR, for every noise', () => {
    for (const noise of NOISES) {
      const m = mixture(voice, noise, 5, 7);
      expect(dbfs(activeRms(m.clean))).toBeCloseTo(SPEECH_DBFS, 1);
      if (noise === 'none') expect(rmsOf(m.background)).toBe(0);
      else expect(dbfs(activeRms(m.clean)) - dbfs(rmsOf(m.background))).toBeCloseTo(5, 1);
      for (let i = 0; i < m.noisy.length; i += 997) expect(m.noisy[i]).toBeCloseTo(m.clean[i]! + m.background[i]!, 3);
    }
  });

  it('is the same mixture for the same seed and another for another seed', () => {
    const a = mixture(voice, 'babble', 0, 1);
    expect(mixture(voice, 'babble', 0, 1).noisy).toEqual(a.noisy);
    expect(mixture(voice, 'babble', 0, 2).noisy).not.toEqual(a.noisy);
  });

  it('marks as noise-only the lead-in after its first 0.5 s and never a sample of speech', () => {
    const m = mixture(voice, 'pink', 10, 1);
    const mask = noiseOnlyMask(m.clean);
    expect(mask[Math.round(0.4 * RATE)]).toBe(0);
    expect(mask[Math.round(1.0 * RATE)]).toBe(1);
    for (let i = 0; i < mask.length; i++) if (mask[i] === 1) expect(Math.abs(m.clean[i]!)).toBeLessThan(1);
  });
});

describe('denoise bench measures', () => {
  const m = mixture(voice, 'pink', 10, 3);
  const delayed = (x: Float32Array, d: number, g = 1) => {
    const y = new Float32Array(x.length + d);
    for (let i = 0; i < x.length; i++) y[i + d] = g * x[i]!;
    return y;
  };

  it('reads an untouched mixture as it was mixed: no cut, no level change, its own SNR, its delay', () => {
    const q = measure(m, delayed(m.noisy, 24));
    expect(q.lagMs).toBe(3);
    expect(q.noiseCutDb).toBeCloseTo(0, 5);
    expect(Math.abs(q.speechGainDb)).toBeLessThan(0.1);
    // SI-SDR counts the whole signal: the background over the lead-in and tail too, so below 10 dB.
    const e = (x: Float32Array) => x.reduce((a, v) => a + v * v, 0);
    expect(q.siSdrDb).toBeCloseTo(10 * Math.log10(e(m.clean) / e(m.background)), 0);
  });

  it('reads a perfect suppressor at half gain as a deep cut, -6 dB of level and a high SI-SDR', () => {
    const q = measure(m, delayed(m.clean, 112, 0.5));
    expect(q.lagMs).toBe(14);
    expect(q.noiseCutDb).toBeGreaterThan(60);
    expect(q.speechGainDb).toBeCloseTo(-6.02, 1);
    expect(q.siSdrDb).toBeGreaterThan(60);
    expect(q.segSnrDb).toBeLessThan(7); // segmental SNR is not scale-invariant: half the speech is error
  });
});

describe('reading what auto chose', () => {
  const session = (events: Record<string, unknown>[] = [], params: Record<string, unknown> = {}) =>
    ({ events: events.map((msg) => ({ msg, atMs: 0 })), start: { params } }) as unknown as AgentSession;

  it('takes the call stats first, then the agent events, then start params, else n/a', () => {
    expect(readChoice({ denoise: { applied: true, snrDb: 4.5 } }, session())).toEqual({ choice: 'on', snr: 4.5 });
    expect(readChoice({ denoise: 'off' }, session())).toEqual({ choice: 'off', snr: null });
    // the shape of the pipeline branch's call stats: the route's mode beside what runs now
    expect(readChoice({ denoise: { mode: 'auto', enabled: false, snrDb: 31.2 } }, session())).toEqual({ choice: 'off', snr: 31.2 });
    expect(readChoice({}, session([{ type: 'denoise', active: false, estimatedSnrDb: 30 }]))).toEqual({ choice: 'off', snr: 30 });
    expect(readChoice({}, session([], { denoise: true }))).toEqual({ choice: 'on', snr: null });
    expect(readChoice({ delayMs: { inbound: 14 } }, session())).toEqual({ choice: 'n/a', snr: null });
    expect(readChoice({ denoise: 'auto' }, session([{ type: 'denoise', applied: 'rnnoise', snrDb: 3 }]))).toEqual({
      choice: 'rnnoise',
      snr: 3,
    });
  });
});
