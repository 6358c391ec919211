import { describe, expect, it } from 'vitest';
import { loadResamplerModule, Resampler } from '../../codecs/src/index.js';
import { g168Path, scaledResponse } from '../../bench/src/bargein/echoPaths.js';
import { LineEcho } from '../../gateway/src/media/LineEcho.js';
import { energy, fixture } from '../helpers/audio.js';

/** dB between two sums of energies */
const ratioDb = (a: number[], b: number[]) =>
  10 *
  Math.log10(
    a.reduce((x, y) => x + y, 0) /
      Math.max(
        1,
        b.reduce((x, y) => x + y, 0),
      ),
  );

/**
 * The agent's speech at `rate` and its echo through G.168 D.4 (an 8 kHz response, at rate/8000
 * times the taps' spacing: a band-limited path at `rate`), 80 ms late, 10 dB ERL.
 */
async function wideEcho(rate: number): Promise<{ far: Int16Array; near: Int16Array }> {
  const speex = await loadResamplerModule();
  const up = new Resampler(speex, { inRate: 8000, outRate: rate, quality: 3 });
  const src = Float32Array.from(fixture('bargein/agent-1.wav').samples);
  const farF = new Float32Array(up.maxOutput(src.length) + 16);
  const n = up.process(src, farF);
  up.close();
  const far = Int16Array.from(farF.subarray(0, n), (v) => Math.round(v));
  const h8 = scaledResponse(src, { kind: 'g168', name: 'D4', h: g168Path('D4'), delayMs: 0, erlDb: 10 });
  const r = rate / 8000;
  const delay = (80 * rate) / 1000;
  const near = new Int16Array(n);
  for (let i = delay; i < n; i++) {
    let a = 0;
    for (let k = 0; k < h8.length && r * k <= i - delay; k++) a += h8[k]! * far[i - delay - r * k]!;
    near[i] = Math.max(-32768, Math.min(32767, Math.round(a)));
  }
  return { far, near };
}

/**
 * The call's echo cancellers on wide edges: barge-in's judge cancels at 8 kHz on 16 kHz PCM and in
 * the 16 kHz band on Opus (near end and reference through the same resampler); 16 kHz PCM is
 * cancelled in place for the agent as well, Opus keeps its full band.
 */
describe('LineEcho on wide edges', () => {
  for (const [rate, codec] of [
    [48000, 'Opus'],
    [16000, '16 kHz PCM'],
  ] as const) {
    it(`cancels a dispersive echo for the judge on ${codec}${rate === 16000 ? ', and in place for the agent' : ''}`, async () => {
      const { far, near } = await wideEcho(rate);
      const p = rate / 50;
      const judge = rate === 48000 ? 16000 : 8000;
      const echo = new LineEcho(await loadResamplerModule(), rate, rate, 3);
      const judgeIn: number[] = [];
      const judgeOut: number[] = [];
      const agentIn: number[] = [];
      const agentOut: number[] = [];
      for (let k = 0; k + p <= near.length; k += p) {
        echo.reference((1000 * k) / rate, far.subarray(k, k + p));
        const pkt = near.slice(k, k + p);
        const before = energy(pkt);
        echo.process(pkt, k, (1000 * k) / rate + 20);
        expect(echo.rate).toBe(judge);
        expect(echo.residual.length).toBe(judge / 50);
        expect(echo.line.length).toBe(judge / 50);
        if (rate === 48000) expect(pkt).toEqual(near.subarray(k, k + p)); // the agent keeps the full band, untouched
        if (k >= 2 * rate) {
          judgeIn.push(before / (rate / judge)); // the same (band-limited) echo at the judge's rate: fewer samples
          judgeOut.push(energy(echo.residual));
          agentIn.push(before);
          agentOut.push(energy(pkt));
        }
      }
      echo.close();
      const judgeDb = ratioDb(judgeIn, judgeOut);
      const agent = ratioDb(agentIn, agentOut);
      console.log(
        `${codec}: echo delay found ${((1000 * echo.aec.delay) / judge).toFixed(1)} ms; from 2 s on, judge ERLE ${judgeDb.toFixed(1)} dB, agent's ${agent.toFixed(1)} dB`,
      );
      expect(echo.aec.locked).toBe(true);
      expect(judgeDb).toBeGreaterThanOrEqual(15);
      if (rate === 16000) expect(agent).toBeGreaterThanOrEqual(15);
      else expect(agent).toBe(0);
    });
  }
});
