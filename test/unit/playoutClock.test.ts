import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { FRAME_MS, PlayoutClock } from '../../gateway/src/media/PlayoutClock.js';

/** Holds the event loop for `ms`, as a stall of the process would. */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('PlayoutClock', () => {
  it('reports the slots it skips after a stall, exactly as many as its subscribers are told of, and stays on its 20 ms grid', async () => {
    const ticks: { nowMs: number; slots: number }[] = [];
    let skippedReported = 0;
    const clock = new PlayoutClock((_ms, skipped) => (skippedReported += skipped));
    await new Promise<void>((done) => {
      clock.add({
        tick(nowMs, slots) {
          ticks.push({ nowMs, slots });
          // A 200 ms stall on the 5th tick: the next is ≥ 180 ms late, 9 slots, over the 3 caught up.
          if (ticks.length === 5) block(200);
          if (ticks.length === 30) {
            clock.stop();
            done();
          }
        },
      });
    });
    const told = ticks.reduce((n, t) => n + t.slots - 1, 0);
    expect(skippedReported).toBe(told);
    expect(told).toBeGreaterThanOrEqual(9);
    // Drift-free through the skip: every tick is due whole slots after the first.
    let slot = 0;
    for (const t of ticks.slice(1)) {
      slot += t.slots;
      expect(t.nowMs - ticks[0]!.nowMs).toBeCloseTo(slot * FRAME_MS, 6);
    }
  });
});
