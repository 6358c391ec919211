import { describe, expect, it } from 'vitest';
import { MediaLevels } from '../../gateway/src/media/MediaLevels.js';

/** The judge's levels by 10 ms slot of media time: a chunk judged late reads its own samples' levels. */
describe('MediaLevels', () => {
  it('averages power over a chunk’s slots, slot = endMs / 10 − 1', () => {
    const l = new MediaLevels();
    for (let end = 10; end <= 320; end += 10) l.set(end, end <= 160 ? -30 : -40);
    expect(l.meanDb(0, 15)).toBeCloseTo(-30, 6);
    expect(l.meanDb(16, 31)).toBeCloseTo(-40, 6);
    // half at −30, half at −40: the mean power, not the mean of the dB
    expect(l.meanDb(8, 23)).toBeCloseTo(10 * Math.log10((1e-3 + 1e-4) / 2), 6);
  });

  it('takes slots skipped, not yet heard or no longer kept as silence', () => {
    const l = new MediaLevels();
    l.set(10, -20);
    l.set(40, -20); // slots 1 and 2 were skipped
    expect(l.meanDb(0, 3)).toBeCloseTo(10 * Math.log10((2 * 1e-2 + 2 * 1e-10) / 4), 6);
    expect(l.meanDb(4, 7)).toBeLessThan(-99); // not yet heard
    for (let end = 50; end <= 3000; end += 10) l.set(end, -20);
    expect(l.meanDb(0, 3)).toBeLessThan(-99); // 2.56 s kept: gone
    expect(l.meanDb(296, 299)).toBeCloseTo(-20, 6);
  });
});
