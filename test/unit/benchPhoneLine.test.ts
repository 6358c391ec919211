import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResamplerModule, rmsDbfs } from '../../codecs/src/index.js';
import { PhoneLine } from '../../bench/src/bargein/phoneLine.js';
import { rng } from '../../bench/src/bargein/signals.js';
import type { EdgeCodecName } from '../../gateway/src/media/edgeCodecs.js';

/**
 * The simulated phone of `bench:bargein` on each edge codec: what it sends of 20 ms of its 8 kHz
 * microphone, decoded as it would decode the gateway's, is the same sound (level within 1 dB,
 * a delay of a few ms from its converters), so a wideband trial differs from a G.711 one only by
 * the gateway's own wideband chain.
 */

let speex: Awaited<ReturnType<typeof loadResamplerModule>>;
beforeAll(async () => {
  speex = await loadResamplerModule();
});

const lines: PhoneLine[] = [];
afterAll(() => {
  for (const l of lines) l.close();
});

/** Sends `frames` × 20 ms of noise at about −20 dBFS and hears each payload back; returns what was heard at 8 kHz. */
function loop(codec: EdgeCodecName, frames: number): { sent: Float32Array; heard: Int16Array } {
  const line = new PhoneLine(codec, speex);
  lines.push(line);
  const sent = new Float32Array(frames * 160);
  const r = rng(3);
  // white noise has one correlation peak, at the true lag (a tone would match every period)
  for (let n = 0; n < sent.length; n++) sent[n] = 32768 * 0.1 * Math.sqrt(3) * (2 * r() - 1);
  const heard = new Int16Array(sent.length);
  const payload = new Uint8Array(1276);
  for (let k = 0; k < frames; k++) {
    const len = line.speak(sent.subarray(k * 160, (k + 1) * 160), payload);
    expect(len).toBeGreaterThan(0);
    line.hear(payload.subarray(0, len), heard.subarray(k * 160, (k + 1) * 160));
  }
  return { sent, heard };
}

/** Lag (samples) at which `b` best matches `a`, searched over 0..maxLag. */
function lagOf(a: Float32Array, b: Int16Array, from: number, maxLag: number): number {
  let best = 0;
  let bestDot = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    let dot = 0;
    for (let n = from; n < a.length - maxLag; n++) dot += a[n]! * b[n + lag]!;
    if (dot > bestDot) [best, bestDot] = [lag, dot];
  }
  return best;
}

describe('bench:bargein phone line', () => {
  it('is G.711 itself on a PCMU edge: no delay, µ-law accuracy', () => {
    const { sent, heard } = loop('PCMU', 25);
    expect(lagOf(sent, heard, 0, 40)).toBe(0);
    expect(Math.abs(rmsDbfs(heard) - rmsDbfs(sent))).toBeLessThan(0.2);
  });

  for (const codec of ['slin16', 'opus'] as const) {
    it(`carries the same sound over ${codec}, a few ms later`, () => {
      const { sent, heard } = loop(codec, 50);
      // after the converters' and the codec's start (200 ms)
      const lag = lagOf(sent, heard, 1600, 160);
      expect(lag).toBeGreaterThan(0);
      // two speex converters and, on Opus, its 6.5 ms look-ahead: under 15 ms at 8 kHz
      expect(lag).toBeLessThan(120);
      expect(Math.abs(rmsDbfs(heard, 1600 + lag) - rmsDbfs(sent, 1600, sent.length - lag))).toBeLessThan(1);
    });
  }
});
