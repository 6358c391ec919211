import { describe, expect, it } from 'vitest';
import { PowerFloor } from '../../../codecs/src/powerFloor.js';
import { gaussian, rng } from '../../helpers/audio.js';

/**
 * The floor of a block power, as the echo canceller keeps it for the line where no echo reaches: 4 ms blocks
 * of 32 samples (8 kHz), 4 sub-windows of 125 blocks (2 s), smoothed with τ 32 ms. Fed white noise
 * with louder stretches over it (the caller), it must read the noise and never more than its mean:
 * what is taken out as noise must not be anything else.
 */

const B = 32;
const db = (x: number) => 10 * Math.log10(x);

/** Block powers of white noise of RMS `rms`, `blocks` of them, from generator `g`. */
function noiseBlocks(g: () => number, rms: number, blocks: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < blocks; b++) {
    let p = 0;
    for (let j = 0; j < B; j++) p += (rms * g()) ** 2;
    out.push(p);
  }
  return out;
}

const floorOf = () => new PowerFloor(125, 4, 0.875);

describe('PowerFloor', () => {
  it('reads nothing until it has seen a sub-window (0.5 s: a shorter history may hold no pause)', () => {
    const f = floorOf();
    const g = gaussian(rng(1));
    const powers = noiseBlocks(g, 100, 125);
    for (let b = 0; b < 124; b++) {
      f.push(powers[b]!);
      expect(f.floor).toBe(0);
    }
    f.push(powers[124]!);
    expect(f.floor).toBeGreaterThan(0);
  });

  // Half of every second 20 dB over the noise (a talker, or echo): the floor is the noise's, read
  // low by at most 3 dB, never above its mean.
  it.each([1, 2, 3])('reads the noise under louder stretches, at most 3 dB under its mean and never over it (seed %i)', (seed) => {
    const f = floorOf();
    const g = gaussian(rng(seed));
    const rms = 100;
    const noise = noiseBlocks(g, rms, 2000);
    for (let b = 0; b < noise.length; b++) f.push(b % 250 < 125 ? noise[b]! * 100 : noise[b]!);
    const mean = rms * rms * B;
    console.log(`seed ${seed}: floor ${(db(f.floor) - db(mean)).toFixed(2)} dB against the noise's mean`);
    expect(db(f.floor)).toBeLessThanOrEqual(db(mean));
    expect(db(f.floor)).toBeGreaterThanOrEqual(db(mean) - 3);
  });

  // A quieter line is read at once; a louder one only once the quieter has left the whole window:
  // what it takes out is never more than the noise now on the line.
  it('follows the noise down within 200 ms, and up only once the quieter line has left its window (1.5–2.5 s)', () => {
    const f = floorOf();
    const g = gaussian(rng(4));
    const mean = (rms: number) => db(rms * rms * B);
    for (const p of noiseBlocks(g, 300, 1000)) f.push(p);
    expect(db(f.floor)).toBeGreaterThanOrEqual(mean(300) - 3);
    const quiet = noiseBlocks(g, 30, 1000);
    for (let b = 0; b < 50; b++) f.push(quiet[b]!); // 200 ms: the smoothing (τ 32 ms) has let go
    expect(db(f.floor)).toBeLessThanOrEqual(mean(30) + 1);
    for (let b = 50; b < quiet.length; b++) f.push(quiet[b]!);
    const loud = noiseBlocks(g, 300, 625);
    for (let b = 0; b < 375; b++) {
      f.push(loud[b]!);
      expect(db(f.floor)).toBeLessThanOrEqual(mean(30) + 1); // the quiet line is still in the window
    }
    for (let b = 375; b < 625; b++) f.push(loud[b]!); // (the sub-window the rise began in holds its smoothed start)
    expect(db(f.floor)).toBeGreaterThanOrEqual(mean(300) - 3);
  });
});
