import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DENOISER_FRAME, Denoiser, loadDenoiserModule, Resampler } from '../../../codecs/src/index.js';
import { energy, fixture, gaussian, rng, xcorrPeak } from '../../helpers/audio.js';

/** Segmental SNR (dB) over 10 ms frames where the clean signal is active, each clamped to [−10, 35]. */
function segSnr(clean: Float32Array, test: Float32Array, activeFloor: number): number {
  let sum = 0;
  let n = 0;
  for (let f = 0; f + DENOISER_FRAME <= clean.length; f += DENOISER_FRAME) {
    const s = energy(clean, f, f + DENOISER_FRAME);
    if (s < activeFloor) continue;
    let e = 0;
    for (let i = f; i < f + DENOISER_FRAME; i++) e += (clean[i]! - test[i]!) ** 2;
    sum += Math.min(35, Math.max(-10, 10 * Math.log10(s / (e + 1e-9))));
    n++;
  }
  return sum / n;
}

let clean: Float32Array; // speech at 48 kHz, preceded by 1 s of silence (noise only once mixed)
let noisy: Float32Array;
let speechFrame: boolean[];

beforeAll(async () => {
  const speech = fixture('caller-en-f-8k.wav');
  const up = await Resampler.create({ inRate: 8000, outRate: 48000, quality: 5 });
  const x = Float32Array.from(speech.samples);
  const y = new Float32Array(up.maxOutput(x.length));
  const n = up.process(x, y);
  up.close();
  const lead = 48000;
  clean = new Float32Array(lead + n - (n % DENOISER_FRAME));
  clean.set(y.subarray(0, clean.length - lead), lead);
  // White noise at 5 dB SNR relative to the speech's active-frame power.
  const frames = clean.length / DENOISER_FRAME;
  const frameE = Array.from({ length: frames }, (_, f) => energy(clean, f * DENOISER_FRAME, (f + 1) * DENOISER_FRAME) / DENOISER_FRAME);
  const peakE = Math.max(...frameE);
  speechFrame = frameE.map((e) => e > peakE * 1e-3);
  const active = frameE.filter((_, f) => speechFrame[f]);
  const speechPower = active.reduce((a, b) => a + b, 0) / active.length;
  const sigma = Math.sqrt(speechPower / 10 ** (5 / 10));
  const g = gaussian(rng(42));
  noisy = clean.map((v) => v + sigma * g());
});

describe('RNNoise denoiser (WASM, 48 kHz)', () => {
  const dn: Denoiser[] = [];
  afterAll(() => dn.forEach((d) => d.close()));

  it('improves segmental SNR by ≥ 5 dB on speech plus white noise at 5 dB SNR', async () => {
    const d = await Denoiser.create();
    dn.push(d);
    const out = new Float32Array(noisy.length);
    expect(d.process(noisy, out)).toBe(noisy.length / DENOISER_FRAME);
    // RNNoise delays by one frame; measure it rather than assume it.
    const { lag } = xcorrPeak(clean, out, 1000);
    expect(Math.abs(lag - DENOISER_FRAME)).toBeLessThanOrEqual(2);
    const aligned = out.subarray(lag);
    const floor =
      1e-3 *
      Math.max(
        ...Array.from({ length: clean.length / DENOISER_FRAME }, (_, f) => energy(clean, f * DENOISER_FRAME, (f + 1) * DENOISER_FRAME)),
      );
    const before = segSnr(clean, noisy, floor);
    const after = segSnr(clean.subarray(0, aligned.length), aligned, floor);
    expect(after - before).toBeGreaterThanOrEqual(5);
  });

  it('voice probability separates speech frames from noise-only frames', async () => {
    const d = await Denoiser.create();
    dn.push(d);
    const frames = noisy.length / DENOISER_FRAME;
    const vad = new Float32Array(frames);
    d.process(noisy, new Float32Array(noisy.length), vad);
    // Frame f's probability describes input up to one frame earlier (the look-back window).
    const speechP: number[] = [];
    const noiseP: number[] = [];
    for (let f = 1; f < frames; f++) (speechFrame[f - 1] ? speechP : noiseP).push(vad[f]!);
    // ROC AUC: probability that a random speech frame scores above a random noise-only frame.
    let wins = 0;
    for (const s of speechP) for (const z of noiseP) wins += s > z ? 1 : s === z ? 0.5 : 0;
    const auc = wins / (speechP.length * noiseP.length);
    expect(auc).toBeGreaterThan(0.85);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(speechP)).toBeGreaterThan(mean(noiseP) + 0.3);
  });

  it('frees its WASM state on close (idempotent) and refuses use afterwards', async () => {
    const d = await Denoiser.create();
    d.close();
    d.close();
    expect(() => d.process(new Float32Array(480), new Float32Array(480))).toThrow(expect.objectContaining({ code: 'CLOSED' }) as Error);
  });

  it('frees what it allocates: 200 create/process/close cycles do not grow WASM memory', async () => {
    const mod = await loadDenoiserModule();
    const x = noisy.subarray(48000, 48000 + 4800);
    const y = new Float32Array(x.length);
    const cycle = () => {
      const d = new Denoiser(mod);
      d.process(x, y);
      d.close();
    };
    cycle(); // first use may grow the heap once
    const before = mod.HEAPF32.buffer.byteLength;
    for (let i = 0; i < 200; i++) cycle();
    expect(mod.HEAPF32.buffer.byteLength).toBe(before);
    expect(energy(y)).toBeGreaterThan(0);
  });
});
