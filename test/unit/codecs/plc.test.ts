import { describe, expect, it } from 'vitest';
import { LossConcealer } from '../../../codecs/src/index.js';
import { energy } from '../../helpers/audio.js';

describe('G.711 loss concealment (pitch repetition, G.711 Appendix I style)', () => {
  const rate = 8000;
  const frame = 160;
  const f0 = 125; // Hz: period of 64 samples
  const voiced = (n: number, offset: number) =>
    Int16Array.from({ length: n }, (_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * f0 * (i + offset)) / rate) + 3000 * Math.sin((4 * Math.PI * f0 * (i + offset)) / rate)),
    );

  it('continues a voiced signal with its own pitch period through one lost frame', () => {
    const plc = new LossConcealer(frame, rate);
    for (let k = 0; k < 3; k++) plc.good(voiced(frame, k * frame));
    const out = new Int16Array(frame);
    plc.conceal(out);
    const truth = voiced(frame, 3 * frame);
    let err = 0;
    for (let i = 0; i < frame; i++) err += (out[i]! - truth[i]!) ** 2;
    const snr = 10 * Math.log10(energy(truth) / err);
    expect(snr).toBeGreaterThan(15);
  });

  it('fades out over a long loss and is silent after six frames', () => {
    const plc = new LossConcealer(frame, rate);
    for (let k = 0; k < 3; k++) plc.good(voiced(frame, k * frame));
    const out = new Int16Array(frame);
    const e: number[] = [];
    for (let k = 0; k < 8; k++) {
      plc.conceal(out);
      e.push(energy(out));
    }
    for (let k = 2; k < 6; k++) expect(e[k]).toBeLessThan(e[k - 1]!);
    expect(e[7]).toBe(0);
  });

  it('cross-fades back into the first good frame without a jump', () => {
    const plc = new LossConcealer(frame, rate);
    for (let k = 0; k < 3; k++) plc.good(voiced(frame, k * frame));
    const out = new Int16Array(frame);
    plc.conceal(out);
    const next = voiced(frame, 4 * frame);
    const original0 = next[0]!;
    plc.good(next);
    // the first sample moves from the real value towards the concealed tail
    expect(Math.abs(next[0]! - out[frame - 1]!)).toBeLessThanOrEqual(Math.abs(original0 - out[frame - 1]!));
  });
});
