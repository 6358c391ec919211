import { describe, expect, it } from 'vitest';
import { EchoCanceller } from '../../../codecs/src/index.js';
import { energy, fixture, xcorrPeak } from '../../helpers/audio.js';

/**
 * The line echo canceller on real speech: the agent's utterance is played (reference), and comes
 * back through a handset-like echo path (bulk delay, a short dispersive tail, 20 dB loss), 20 ms
 * at a time as the gateway feeds it.
 */

const RATE = 8000;
const far = fixture('bargein/agent-1.wav').samples; // what the gateway plays
const near = fixture('bargein/interrupt-2-a.wav').samples; // the caller's own voice

/** The echo of `x` through `delay` samples and a 3-tap dispersive path with `lossDb` of loss. */
function echoOf(x: Int16Array, delay: number, lossDb: number): Float32Array {
  const g = 10 ** (-lossDb / 20);
  const h = [0.8, 0.5, -0.2];
  const y = new Float32Array(x.length);
  for (let n = 0; n < x.length; n++)
    for (let k = 0; k < h.length; k++) if (n - delay - k >= 0) y[n] = y[n]! + g * h[k]! * x[n - delay - k]!;
  return y;
}

/** Runs the canceller 20 ms at a time; `mic` is what the caller's phone sends. Returns the residual. */
function run(aec: EchoCanceller, mic: Float32Array): Int16Array {
  const out = new Int16Array(mic.length);
  const frame = new Int16Array(160);
  for (let k = 0; k + 160 <= mic.length; k += 160) {
    aec.playRef(far.subarray(k, k + 160), k);
    for (let i = 0; i < 160; i++) frame[i] = Math.max(-32768, Math.min(32767, Math.round(mic[k + i]!)));
    aec.process(frame, k, out.subarray(k, k + 160));
  }
  return out;
}

const db = (x: number) => 10 * Math.log10(x);

describe('EchoCanceller (G.168-style line echo canceller)', () => {
  it.each([40, 120, 250])('finds a %i ms echo path and removes ≥ 20 dB more of it after convergence', (delayMs) => {
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(far, (delayMs * RATE) / 1000, 20);
    const res = run(aec, mic);
    expect(aec.locked).toBe(true);
    expect(Math.abs((1000 * aec.delay) / RATE - delayMs)).toBeLessThanOrEqual(2);
    // ERLE over the last 4 s (after the first second of convergence)
    const from = 4 * RATE;
    const erle = db(energy(mic.subarray(from)) / Math.max(1e-9, energy(res.subarray(from))));
    console.log(
      `${delayMs} ms echo: delay found ${((1000 * aec.delay) / RATE).toFixed(1)} ms, ERL ${aec.erlDb.toFixed(1)} dB, ERLE measured ${erle.toFixed(1)} dB`,
    );
    expect(erle).toBeGreaterThanOrEqual(20);
    expect(aec.erlDb).toBeGreaterThan(14);
  });

  it('keeps the caller talking over the echo (double talk): their voice survives cancellation', () => {
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(far, 0.08 * RATE, 20);
    const at = 3 * RATE; // the caller starts 3 s in, after the canceller has converged
    for (let i = 0; i < near.length && at + i < mic.length; i++) mic[at + i] = mic[at + i]! + near[i]!;
    const res = run(aec, mic);
    const span = Math.min(near.length, mic.length - at, 2 * RATE);
    const { peak } = xcorrPeak(Float32Array.from(near.subarray(0, span)), res.subarray(at, at + span + 80), 80);
    expect(peak).toBeGreaterThanOrEqual(0.95);
    // and the echo is still cancelled after the double talk
    const after = at + near.length + RATE / 2;
    if (after + RATE < mic.length) expect(db(energy(mic.subarray(after)) / energy(res.subarray(after)))).toBeGreaterThanOrEqual(15);
  });

  it('leaves a near end that is no echo of the reference intact (no echo path at all)', () => {
    const aec = new EchoCanceller({ rate: RATE });
    const mic = new Float32Array(far.length);
    for (let i = 0; i < near.length && i < mic.length; i++) mic[i] = near[i]!;
    const res = run(aec, mic);
    const n = Math.min(near.length, mic.length);
    // (a spurious lock on speech-against-speech is possible; what matters is that nothing is removed)
    expect(Math.abs(db(energy(res.subarray(0, n)) / energy(mic.subarray(0, n))))).toBeLessThanOrEqual(1);
    expect(xcorrPeak(mic.subarray(0, n), res.subarray(0, n), 0).peak).toBeGreaterThanOrEqual(0.95);
  });
});
