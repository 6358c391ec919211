import { describe, expect, it } from 'vitest';
import { loadResamplerModule, Resampler } from '../../codecs/src/index.js';
import { g168Path, scaledResponse } from '../../bench/src/bargein/echoPaths.js';
import { LineEcho } from '../../gateway/src/media/LineEcho.js';
import { energy, fixture } from '../helpers/audio.js';

/**
 * The call's echo canceller on an Opus edge (48 kHz): it cancels in the 0–8 kHz band at 16 kHz,
 * near end and reference through the same resampler, for the barge-in detector.
 */
describe('LineEcho on a wideband (Opus) edge', () => {
  it('cancels a dispersive echo in the 16 kHz band', async () => {
    const speex = await loadResamplerModule();
    const up = new Resampler(speex, { inRate: 8000, outRate: 48000, quality: 3 });
    const src = Float32Array.from(fixture('bargein/agent-1.wav').samples);
    const far48f = new Float32Array(up.maxOutput(src.length) + 16);
    const n48 = up.process(src, far48f);
    up.close();
    const far48 = Int16Array.from(far48f.subarray(0, n48), (v) => Math.round(v));
    // the echo: G.168 D.4 (an 8 kHz response) at 6× the taps' spacing is a 48 kHz band-limited path
    const h8 = scaledResponse(src, { kind: 'g168', name: 'D4', h: g168Path('D4'), delayMs: 0, erlDb: 10 });
    const delay = 0.08 * 48000;
    const near48 = new Int16Array(n48);
    for (let n = delay; n < n48; n++) {
      let a = 0;
      for (let k = 0; k < h8.length && 6 * k <= n - delay; k++) a += h8[k]! * far48[n - delay - 6 * k]!;
      near48[n] = Math.max(-32768, Math.min(32767, Math.round(a)));
    }
    const echo = new LineEcho(speex, 48000, 48000, 3);
    const before: number[] = [];
    const after: number[] = [];
    for (let k = 0; k + 960 <= n48; k += 960) {
      echo.reference((1000 * k) / 48000, far48.subarray(k, k + 960));
      const pkt = near48.slice(k, k + 960);
      const inBand = energy(pkt);
      echo.process(pkt, k, (1000 * k) / 48000 + 20);
      expect(echo.rate).toBe(16000);
      expect(echo.residual.length).toBe(320);
      expect(pkt).toEqual(near48.subarray(k, k + 960)); // the agent keeps the full band, untouched
      if (k >= 2 * 48000) {
        before.push(inBand / 3); // the same (band-limited) echo at 16 kHz: a third of the samples
        after.push(energy(echo.residual));
      }
    }
    echo.close();
    const erle =
      10 *
      Math.log10(
        before.reduce((a, b) => a + b, 0) /
          Math.max(
            1,
            after.reduce((a, b) => a + b, 0),
          ),
      );
    console.log(`Opus edge: echo delay found ${((1000 * echo.aec.delay) / 16000).toFixed(1)} ms, ERLE from 2 s on ${erle.toFixed(1)} dB`);
    expect(echo.aec.locked).toBe(true);
    expect(erle).toBeGreaterThanOrEqual(15);
  });
});
