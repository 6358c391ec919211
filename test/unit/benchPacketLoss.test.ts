import { describe, expect, it } from 'vitest';
import { PacketLoss } from '../../bench/src/bargein/packetLoss.js';
import { rng } from '../../bench/src/bargein/signals.js';

/** The bench's bursty loss (two-state Gilbert model): its long-run share and its runs, on a fixed stream. */
describe('bench packet loss', () => {
  /** the share lost and the mean run of consecutive losses over `n` packets */
  const measure = (loss: PacketLoss, n: number) => {
    let lost = 0;
    let runs = 0;
    let prev = false;
    for (let i = 0; i < n; i++) {
      const l = loss.lost();
      if (l) lost++;
      if (l && !prev) runs++;
      prev = l;
    }
    return { share: lost / n, meanRun: lost / runs };
  };

  it('loses the share asked for, in runs of the mean length asked for', () => {
    // 200 000 packets: the share's standard error is well under 0.1 % at these settings
    const a = measure(new PacketLoss(0.03, 2, rng(7)), 200_000);
    expect(a.share).toBeGreaterThan(0.027);
    expect(a.share).toBeLessThan(0.033);
    expect(a.meanRun).toBeGreaterThan(1.8);
    expect(a.meanRun).toBeLessThan(2.2);
    const b = measure(new PacketLoss(0.01, 1, rng(8)), 200_000);
    expect(b.share).toBeGreaterThan(0.008);
    expect(b.share).toBeLessThan(0.012);
    expect(b.meanRun).toBe(1); // runs of one: the bad state always leaves at once
  });

  it('loses nothing at a rate of zero, and refuses rates and runs that mean nothing', () => {
    expect(measure(new PacketLoss(0, 2, rng(9)), 10_000).share).toBe(0);
    expect(() => new PacketLoss(1, 2, rng(1))).toThrow(/rate/);
    expect(() => new PacketLoss(0.02, 0.5, rng(1))).toThrow(/burst/);
  });
});
