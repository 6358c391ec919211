import { beforeAll, describe, expect, it } from 'vitest';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import { LATEST_MS } from '../../gateway/src/media/AutoDenoise.js';
import { FrameFlags } from '../../gateway/src/media/dspProtocol.js';
import { InboundDsp, type DspModules } from '../../gateway/src/media/InboundDsp.js';
import { pinkNoise } from '../../bench/src/latency/load.js';
import { energy, fixture, xcorrPeak } from '../helpers/audio.js';
import { resampleAll } from '../helpers/gateway.js';

/**
 * The inbound chain's denoise decisions on real speech and deterministic noise, through the real
 * WASM resamplers and RNNoise: `auto` leaves clean calls alone and denoises noisy ones, and no
 * switch (auto's, or overload shedding) moves the audio in time: one frame per packet, the same
 * delay before and after, no click.
 */

let mods: DspModules;
beforeAll(async () => {
  mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };
});

const speech = fixture('caller-en-us-8k.wav').samples;

/** `seconds` of the speech fixture (looped), scaled to −24 dBFS RMS. */
function talker(seconds: number): Float32Array {
  const out = Float32Array.from({ length: 8000 * seconds }, (_, i) => speech[i % speech.length]!);
  const g = (32768 * 10 ** (-24 / 20)) / Math.sqrt(energy(out) / out.length);
  return out.map((v) => v * g);
}

interface Run {
  pcm: Int16Array;
  flags: number[];
  snr: number;
  packets: number;
}

/** Runs `x` (8 kHz) through a chain in 20 ms packets; `shed(k)`: packet k is processed as if the DSP were behind. */
function run(x: ArrayLike<number>, denoise: boolean | 'auto', shed: (k: number) => boolean = () => false): Run {
  const frames: Int16Array[] = [];
  const flags: number[] = [];
  const dsp: InboundDsp = new InboundDsp(mods, { inRate: 8000, outRate: 24000, denoise, quality: 3 }, (frame) => {
    frames.push(frame.slice());
    flags.push(dsp.flags);
  });
  const pcm = Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
  let k = 0;
  for (; 160 * (k + 1) <= pcm.length; k++) dsp.push(pcm.subarray(160 * k, 160 * (k + 1)), 20 * k, shed(k));
  const snr = dsp.snrDb;
  dsp.close();
  const out = new Int16Array(frames.length * 480);
  frames.forEach((f, i) => out.set(f, 480 * i));
  return { pcm: out, flags, snr, packets: k };
}

const on = (f: number) => (f & FrameFlags.denoised) !== 0;

describe('denoise "auto"', () => {
  it('leaves a clean call alone, the caller talking from the first packet: decided off by LATEST_MS, never wanted on', () => {
    for (const name of ['caller-en-us-8k.wav', 'caller-en-gb-8k.wav', 'caller-en-f-8k.wav']) {
      const r = run(fixture(name).samples, 'auto');
      expect(r.flags.length).toBeGreaterThanOrEqual(r.packets - 1);
      const decidedAt = r.flags.findIndex((f) => (f & FrameFlags.decided) !== 0);
      expect({ name, decided: decidedAt >= 0 && decidedAt <= LATEST_MS / 20 }).toEqual({ name, decided: true });
      expect({ name, wanted: r.flags.slice(decidedAt).some((f) => (f & FrameFlags.wanted) !== 0) }).toEqual({ name, wanted: false });
      // auto starts with RNNoise running (as `true` does) and drops it at the decision, in a pause
      expect(r.flags.findLastIndex(on)).toBeLessThan(decidedAt + 25);
      expect(r.snr).toBeGreaterThan(25);
    }
  });

  it('denoises a call with pink noise at 0 dB SNR from its first frame: decided on by 500 ms, never off, the noise between words cut', () => {
    const clean = talker(8);
    const noise = pinkNoise(clean.length, 7);
    const rmsS = Math.sqrt(energy(clean) / clean.length);
    const x = clean.map((v, i) => v + rmsS * noise[i]!);
    const r = run(x, 'auto');
    const decidedAt = r.flags.findIndex((f) => (f & FrameFlags.decided) !== 0);
    expect(decidedAt).toBeGreaterThanOrEqual(0);
    expect(decidedAt).toBeLessThanOrEqual(25);
    // RNNoise warms up for 100 ms (its output discarded), then shapes every frame
    expect(r.flags.slice(10).every(on)).toBe(true);
    expect(r.snr).toBeLessThan(8);
    // Over the last 4 s the output carries much less energy than the input (the noise is gated).
    const inE = energy(x, 8000 * 4) / (8000 * 4);
    const outE = energy(r.pcm, 24000 * 4) / (r.pcm.length - 24000 * 4);
    expect(10 * Math.log10(inE / outE)).toBeGreaterThan(3);
  });
});

describe('switching RNNoise on and off keeps the stream continuous', () => {
  /** The lag (24 kHz samples) of `out` behind the clean reference over [fromS, fromS + 1) s. */
  async function lagAt(out: Int16Array, clean: Float32Array, fromS: number): Promise<{ lag: number; peak: number }> {
    const ref = await resampleAll(
      Int16Array.from(clean, (v) => Math.round(v)),
      8000,
      24000,
    );
    const a = ref.pcm.subarray(24000 * fromS, 24000 * (fromS + 1));
    const r = xcorrPeak(a, out.subarray(24000 * fromS, 24000 * (fromS + 1) + 600), 600);
    return { lag: r.lag + ref.delay, peak: r.peak };
  }

  it('auto: a line that turns noisy mid-call gets RNNoise in a pause; one frame per packet, the same delay either side, no click', async () => {
    // 4 s clean, then pink noise at 5 dB SNR for 6 s.
    const clean = talker(10);
    const noise = pinkNoise(clean.length, 11);
    const rmsS = Math.sqrt(energy(clean) / clean.length);
    const x = clean.map((v, i) => (i < 8000 * 4 ? v : v + rmsS * 10 ** (-5 / 20) * noise[i]!));
    const r = run(x, 'auto');
    expect(r.flags.length).toBeGreaterThanOrEqual(r.packets - 1);
    expect(r.flags.length).toBeLessThanOrEqual(r.packets);
    // on from the start, off by the first second (clean), on again once the noise has held
    const offAt = r.flags.findIndex((f) => !on(f));
    expect(offAt).toBeLessThan(50);
    const switchAt = r.flags.findIndex((f, i) => i > offAt && on(f));
    expect(switchAt).toBeGreaterThan(200); // after the noise started (frame 200), held and warmed up
    expect(r.flags.slice(switchAt).every(on)).toBe(true);
    const before = await lagAt(r.pcm, clean, 2);
    const after = await lagAt(r.pcm, clean, Math.ceil((switchAt * 20) / 1000) + 1);
    console.log(
      `auto switch at frame ${switchAt}: lag ${before.lag} (peak ${before.peak.toFixed(2)}) before, ${after.lag} (${after.peak.toFixed(2)}) after`,
    );
    expect(before.peak).toBeGreaterThan(0.9);
    expect(after.peak).toBeGreaterThan(0.6);
    expect(Math.abs(after.lag - before.lag)).toBeLessThanOrEqual(1);
    // No click: no sample step at the switch larger than the largest step of the second around it.
    const step = (from: number, to: number) => {
      let m = 0;
      for (let i = Math.max(1, from); i < to; i++) m = Math.max(m, Math.abs(r.pcm[i]! - r.pcm[i - 1]!));
      return m;
    };
    expect(step(480 * switchAt - 480, 480 * switchAt + 480)).toBeLessThanOrEqual(step(480 * switchAt - 24000, 480 * switchAt + 24000));
  });

  it('overload shedding mid-speech bypasses RNNoise with the same delay, and takes it back', async () => {
    const clean = talker(8);
    const r = run(clean, true, (k) => k >= 100 && k < 250);
    expect(r.flags.length).toBeGreaterThanOrEqual(r.packets - 1);
    expect(r.flags.slice(110, 240).every((f) => (f & FrameFlags.shed) !== 0 && !on(f))).toBe(true);
    expect(r.flags.slice(-50).every(on)).toBe(true);
    const denoised = await lagAt(r.pcm, clean, 1);
    const shed = await lagAt(r.pcm, clean, 3);
    const back = await lagAt(r.pcm, clean, 6);
    console.log(`shedding: lag ${denoised.lag} with RNNoise, ${shed.lag} bypassed, ${back.lag} after`);
    // The bypass is the raw audio, delayed like RNNoise's: the reference matches it best.
    expect(shed.peak).toBeGreaterThan(0.95);
    expect(Math.abs(shed.lag - denoised.lag)).toBeLessThanOrEqual(1);
    expect(Math.abs(back.lag - denoised.lag)).toBeLessThanOrEqual(1);
  });
});
