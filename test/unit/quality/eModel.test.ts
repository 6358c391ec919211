import { describe, expect, it } from 'vitest';
import {
  callQuality,
  G107_DELAY_KNEE_MS,
  g109Category,
  g107DelayImpairment,
  g107EffectiveImpairment,
  g107R,
  G711_NO_PLC,
  G711_PLC,
  mosFromR,
  rtpengineR,
} from '../../../gateway/src/quality/eModel.js';

/**
 * Reference ranges:
 * - ITU-T G.107 Annex B: R → MOS; the default connection (R = 93.2) is MOS 4.41.
 * - ITU-T G.109 Table 1: R bands best ≥ 90, high 80–90, medium 70–80, low 60–70, poor 50–60.
 * - ITU-T G.113 Appendix I: G.711 with PLC, Ie = 0, Bpl = 25.1 under random loss.
 * - baresip's test/mos.c vectors for the rtpengine-shaped formula (same eff/R/MOS shape):
 *   (rtt 0, jitter 0, loss 0) → R 92.95 MOS 4.404; (500, 0, 0) → 54.20 / 2.796;
 *   (0, 100, 0) → 84.20 / 4.172; (0, 200, 0) → 64.20 / 3.315; (0, 0, 1 %) → 90.45 / 4.350.
 */
const LOSSES = [0, 1, 3, 5, 10];

describe('R → MOS (G.107 Annex B)', () => {
  it('maps the G.107 default connection to about 4.4 and clamps to 1..4.5', () => {
    expect(mosFromR(93.2)).toBeCloseTo(4.41, 2);
    expect(mosFromR(100)).toBe(4.5);
    expect(mosFromR(120)).toBe(4.5);
    expect(mosFromR(0)).toBe(1);
    expect(mosFromR(-20)).toBe(1);
    expect(mosFromR(5)).toBe(1); // the cubic dips just under 1 here
    // G.109 Table 1's MOS at the band edges (it rounds 4.024 to 4.03).
    for (const [r, mos] of [
      [50, 2.58],
      [60, 3.1],
      [70, 3.6],
      [80, 4.03],
      [90, 4.34],
    ] as const) {
      expect(Math.abs(mosFromR(r) - mos)).toBeLessThan(0.01);
    }
  });

  it('is monotonic over 0..100', () => {
    let prev = 0;
    for (let r = 0; r <= 100; r += 0.5) {
      const m = mosFromR(r);
      expect(m).toBeGreaterThanOrEqual(prev);
      prev = m;
    }
  });
});

describe('simplified G.107 (G.711 with PLC)', () => {
  // A gateway-like one-way delay: 20 ms packetization + ~14 ms DSP + ~20 ms network.
  const D = 54;
  const table = LOSSES.map((loss) => {
    const r = g107R({ oneWayDelayMs: D, lossPercent: loss, codec: G711_PLC });
    return { loss, r, mos: mosFromR(r) };
  });

  it('gives ≈ 4.4 with no loss', () => {
    expect(table[0]!.mos).toBeGreaterThan(4.35);
    expect(table[0]!.mos).toBeLessThan(4.45);
    expect(mosFromR(g107R({ oneWayDelayMs: 0, lossPercent: 0 }))).toBeCloseTo(4.41, 2);
  });

  it('falls monotonically across 0, 1, 3, 5, 10 % loss, within the G.109 bands', () => {
    for (let i = 1; i < table.length; i++) expect(table[i]!.mos).toBeLessThan(table[i - 1]!.mos);
    // Ie,eff = 95·Ppl/(Ppl + 25.1): 0, 3.64, 10.14, 15.78, 27.07.
    expect(table.map((t) => g109Category(t.r))).toEqual(['best', 'high', 'high', 'medium', 'low']);
    // Pinned (regression, from the formula above): MOS 4.38, 4.29, 4.09, 3.87, 3.35.
    expect(table.map((t) => Math.round(t.mos * 100) / 100)).toEqual([4.38, 4.29, 4.09, 3.87, 3.35]);
  });

  it('takes the codec and burstiness into account', () => {
    expect(g107EffectiveImpairment(0, G711_PLC)).toBe(0);
    expect(g107EffectiveImpairment(5, G711_PLC)).toBeCloseTo((95 * 5) / 30.1, 10);
    // Without concealment the same loss hurts far more; bursty loss (BurstR > 1) more still.
    expect(g107EffectiveImpairment(5, G711_NO_PLC)).toBeGreaterThan(g107EffectiveImpairment(5, G711_PLC));
    expect(g107EffectiveImpairment(5, G711_PLC, 2)).toBeGreaterThan(g107EffectiveImpairment(5, G711_PLC, 1));
  });

  it('charges 0.024 R/ms of delay up to 177.3 ms and 0.134 R/ms beyond', () => {
    expect(g107DelayImpairment(0)).toBe(0);
    expect(g107DelayImpairment(100)).toBeCloseTo(2.4, 10);
    expect(g107DelayImpairment(G107_DELAY_KNEE_MS)).toBeCloseTo(0.024 * 177.3, 10);
    expect(g107DelayImpairment(277.3) - g107DelayImpairment(177.3)).toBeCloseTo(13.4, 10);
    expect(g107DelayImpairment(400) - g107DelayImpairment(300)).toBeCloseTo(13.4, 10);
    const below = g107R({ oneWayDelayMs: 100, lossPercent: 0 });
    const above = g107R({ oneWayDelayMs: 300, lossPercent: 0 });
    expect(g109Category(below)).toBe('best');
    expect(mosFromR(above)).toBeLessThan(4.1); // ITU-T G.114: above ~300 ms one way users notice
  });
});

describe("rtpengine's formula", () => {
  it('matches the published test vectors', () => {
    const cases: [number, number, number, number, number][] = [
      [0, 0, 0, 92.95, 4.404],
      [500, 0, 0, 54.2, 2.796],
      [0, 100, 0, 84.2, 4.172],
      [0, 200, 0, 64.2, 3.315],
      [0, 0, 1, 90.45, 4.35],
    ];
    for (const [rttMs, jitterMs, lossPercent, r, mos] of cases) {
      const got = rtpengineR({ rttMs, jitterMs, lossPercent });
      expect(got).toBeCloseTo(r, 6);
      expect(mosFromR(got)).toBeCloseTo(mos, 3);
    }
    // rtt 1000: R 4.2, where the raw cubic gives 0.99; clamped to 1.
    expect(mosFromR(rtpengineR({ rttMs: 1000, jitterMs: 0, lossPercent: 0 }))).toBe(1);
  });

  it('falls monotonically across 0, 1, 3, 5, 10 % loss', () => {
    const mos = LOSSES.map((lossPercent) => mosFromR(rtpengineR({ rttMs: 40, jitterMs: 10, lossPercent })));
    for (let i = 1; i < mos.length; i++) expect(mos[i]!).toBeLessThan(mos[i - 1]!);
    expect(mos[0]!).toBeGreaterThan(4.3);
  });

  it('bends at an effective latency of 160 ms', () => {
    expect(rtpengineR({ rttMs: 149, jitterMs: 0, lossPercent: 0 })).toBeCloseTo(93.2 - 159 / 40, 10);
    expect(rtpengineR({ rttMs: 150, jitterMs: 0, lossPercent: 0 })).toBeCloseTo(93.2 - 40 / 10, 10);
  });
});

describe('callQuality', () => {
  it('scores both forms with d = local delay + RTT/2', () => {
    const q = callQuality({ rttMs: 80, jitterMs: 10, lossPercent: 5, localDelayMs: 34, codec: G711_PLC });
    expect(q.oneWayDelayMs).toBe(74);
    expect(q.rttKnown).toBe(true);
    expect(q.g107!.r).toBeCloseTo(93.2 - 0.024 * 74 - (95 * 5) / 30.1, 10);
    expect(q.rtpengine.r).toBeCloseTo(93.2 - 110 / 40 - 12.5, 10);
    expect(q.g107!.category).toBe('medium');
  });

  it('without RTCP scores listening quality only; without a codec profile skips G.107', () => {
    const q = callQuality({ rttMs: null, jitterMs: 0, lossPercent: 0, localDelayMs: 34, codec: null });
    expect(q.rttKnown).toBe(false);
    expect(q.oneWayDelayMs).toBe(34);
    expect(q.g107).toBeNull();
    expect(q.rtpengine.mos).toBeCloseTo(4.404, 3);
  });
});
