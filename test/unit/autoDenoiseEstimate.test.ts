import { beforeAll, describe, expect, it } from 'vitest';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import { mixture, speechSet, type Mixture, type Noise } from '../../bench/src/denoise/mixtures.js';
import { FIRST_MS } from '../../gateway/src/media/AutoDenoise.js';
import { FrameFlags } from '../../gateway/src/media/dspProtocol.js';
import { InboundDsp, type DspModules } from '../../gateway/src/media/InboundDsp.js';

/**
 * What `denoise: "auto"` measures and decides, on the denoise benchmark's material (the tune
 * set's caller fixtures with its synthesised backgrounds mixed at a known input SNR; noise seed 5,
 * neither the tune seed nor the held-out one), through the real inbound chain (WASM resamplers
 * and RNNoise): the SNR it estimates against the SNR mixed in, when it decides, and that it does
 * not flap.
 */
let mods: DspModules;
beforeAll(async () => {
  mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };
});

const voice = speechSet('tune')[0]!;
const SEED = 5000;

interface Trace {
  /** ms of caller audio at the first decision */
  decidedAtMs: number;
  /** the first decision wanted RNNoise */
  firstWant: boolean;
  /** ms at which what shapes the audio changed (RNNoise on ↔ off) after the first decision */
  changes: number[];
  /** RNNoise shapes the last frame */
  endsOn: boolean;
  /** the call's SNR estimate at its end, dB */
  snrDb: number;
}

function trace(m: Mixture): Trace {
  let frames = 0;
  let decidedAtMs = NaN;
  let firstWant = false;
  /** RNNoise shaped the previous frame: 1, 0; −1 before the first */
  let last = -1;
  const changes: number[] = [];
  const dsp: InboundDsp = new InboundDsp(mods, { inRate: 8000, outRate: 24000, denoise: 'auto', quality: 3 }, () => {
    frames++;
    const f = dsp.flags;
    const on = (f & FrameFlags.denoised) !== 0 ? 1 : 0;
    if (Number.isNaN(decidedAtMs) && (f & FrameFlags.decided) !== 0) {
      decidedAtMs = 20 * frames;
      firstWant = (f & FrameFlags.wanted) !== 0;
    } else if (!Number.isNaN(decidedAtMs) && last !== -1 && on !== last && 20 * frames > decidedAtMs + 400) changes.push(20 * frames);
    last = on;
  });
  const pcm = Int16Array.from(m.noisy, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
  for (let k = 0; 160 * (k + 1) <= pcm.length; k++) dsp.push(pcm.subarray(160 * k, 160 * (k + 1)), 20 * k);
  const snrDb = dsp.snrDb;
  dsp.close();
  return { decidedAtMs, firstWant, changes, endsOn: last === 1, snrDb };
}

describe('denoise "auto": the SNR estimate against the SNR mixed in', () => {
  const cases: [Noise, number][] = [
    ['pink', 10],
    ['pink', 20],
    ['car', 20],
    ['babble', 10],
    ['babble', 20],
    ['music', 20],
    ['cafe', 20],
  ];
  for (const [noise, snr] of cases) {
    it(`${noise} at ${snr} dB: estimated within 4 dB, decided within ${FIRST_MS} ms, no switch after the first decision settles`, () => {
      const t = trace(mixture(voice, noise, snr, SEED));
      console.log(
        `${noise}@${snr}: estimate ${t.snrDb.toFixed(1)} dB, decided at ${t.decidedAtMs} ms, changes ${t.changes.join(',') || 'none'}`,
      );
      expect(Math.abs(t.snrDb - snr)).toBeLessThanOrEqual(4);
      expect(t.decidedAtMs).toBeLessThanOrEqual(FIRST_MS + 20);
      expect(t.changes).toEqual([]);
    });
  }

  it('steady noise (pink, car) keeps RNNoise at 0–20 dB; babble and music at 20 dB end without it', () => {
    for (const noise of ['pink', 'car'] as const)
      for (const snr of [0, 20]) {
        const t = trace(mixture(voice, noise, snr, SEED));
        expect({ noise, snr, firstWant: t.firstWant, endsOn: t.endsOn }).toEqual({ noise, snr, firstWant: true, endsOn: true });
      }
    for (const noise of ['babble', 'music'] as const) {
      const t = trace(mixture(voice, noise, 20, SEED));
      expect({ noise, endsOn: t.endsOn }).toEqual({ noise, endsOn: false });
    }
  });

  it('a clean line is decided off at once (its floor is digital silence) and its estimate is high', () => {
    const t = trace(mixture(voice, 'none', NaN, SEED));
    expect(t.decidedAtMs).toBeLessThan(FIRST_MS);
    expect(t.firstWant).toBe(false);
    expect(t.endsOn).toBe(false);
    expect(t.snrDb).toBeGreaterThan(40);
  });

  it('hysteresis: babble right at its crossover (18 dB) does not flap', () => {
    for (const snr of [17, 18, 19]) {
      const t = trace(mixture(voice, 'babble', snr, SEED));
      expect({ snr, changes: t.changes.length <= 1 }).toEqual({ snr, changes: true });
    }
  });
});
