import { describe, expect, it } from 'vitest';
import { EchoLeak } from '../../../codecs/src/echoLeak.js';
import { rng } from '../../helpers/audio.js';

/**
 * The leak estimate both the canceller's step control and the residual echo suppressor rest on:
 * the share of the echo estimate's power that is still in the residual, found from how the
 * residual's per-bin power follows the estimate's. Noise (or the caller) in the residual,
 * uncorrelated with the estimate, must not move it from what it finds without noise, however loud.
 * (On these exponential powers it reads about 20 % high with or without noise: 0.060 for 0.05.)
 */
describe('EchoLeak', () => {
  it.each([
    [0.05, 0],
    [0.05, 10],
    [0.3, 10],
    [0.3, 100],
  ])('finds a leak of %f under noise %i times the echo left', (leak, noiseOver) => {
    const r = rng(3);
    const K = 33; // the canceller's bins at 8 kHz
    const est = new EchoLeak(K);
    const pe = new Float64Array(K);
    const py = new Float64Array(K);
    // a speech-like estimate: its level moves by ±15 dB from block to block, each bin's power
    // exponential (a complex Gaussian's) around a falling spectrum
    let level = 1;
    for (let b = 0; b < 20_000; b++) {
      if (b % 10 === 0) level = 10 ** ((30 * r() - 15) / 10);
      for (let k = 0; k < K; k++) {
        const y = level * (1e6 / (1 + k)) * -Math.log(1 - r());
        py[k] = y;
        // what the filter missed (its share of y, fluctuating as a power does) plus line noise
        const missed = leak * y * -Math.log(1 - r());
        const noise = noiseOver * leak * (1e6 / (1 + k)) * -Math.log(1 - r());
        pe[k] = missed + noise;
      }
      est.update(pe, py);
    }
    console.log(`leak ${leak}, noise ${noiseOver}× the echo left: estimated ${est.leak.toFixed(3)}`);
    expect(est.leak).toBeGreaterThanOrEqual(leak * 0.7);
    expect(est.leak).toBeLessThanOrEqual(leak * 1.3);
  });

  it('stays at 1 (suppress all it may) until an echo estimate has been seen', () => {
    const est = new EchoLeak(33);
    const pe = new Float64Array(33).fill(1e6);
    const py = new Float64Array(33);
    for (let b = 0; b < 100; b++) est.update(pe, py);
    expect(est.leak).toBe(1);
  });
});
