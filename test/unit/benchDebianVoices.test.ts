import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PACKAGES, debianVoices } from '../../bench/src/bargein/debianVoices.js';
import { load, noise, onsetIndex, rms, rng } from '../../bench/src/bargein/signals.js';

/**
 * `bench:bargein --split real`: human callers and recorded music from Debian's Asterisk packages,
 * read where apt-get puts them. The interruptions are sentences and the short utterances single
 * words, by the length of their speech, in each of the three prompt sets; the music bed is a
 * stretch of a recording, not the synthesised chords of the other splits.
 */
const INSTALLED =
  ['en', 'es', 'fr'].every((lang) => existsSync(`/usr/share/asterisk/sounds/${lang}/digits/1.wav`)) &&
  existsSync('/usr/share/asterisk/moh/macroform-cold_day.wav');
if (!INSTALLED) console.warn(`SKIPPING the bench's real split tests: apt-get install -y ${DEBIAN_PACKAGES}`);

function speechSeconds(x: Float32Array): number {
  return (x.length - onsetIndex(x) - onsetIndex(x.slice().reverse())) / 8000;
}

describe.skipIf(!INSTALLED)("bench:bargein's real split", () => {
  it('takes sentences of 2–5 s as interruptions and words of 0.2–0.6 s as short utterances, in each language', () => {
    const v = debianVoices();
    for (const lang of ['en', 'es', 'fr']) {
      const mine = (xs: string[]) => xs.filter((f) => f.startsWith(`/usr/share/asterisk/sounds/${lang}/`));
      expect(mine(v.interrupts).length).toBeGreaterThanOrEqual(50);
      expect(mine(v.shorts).length).toBeGreaterThanOrEqual(20);
    }
    for (const f of v.interrupts) expect(speechSeconds(load(f))).toBeGreaterThanOrEqual(2);
    for (const f of v.interrupts) expect(speechSeconds(load(f))).toBeLessThanOrEqual(5);
    for (const f of v.shorts) expect(speechSeconds(load(f))).toBeLessThanOrEqual(0.6);
    // the sets' tones and sound effects are no caller
    expect(
      [...v.interrupts, ...v.shorts].filter((f) => /(beep|beeperr|2tone|monkeys|confbridge-join|confbridge-leave)\.wav$/.test(f)),
    ).toEqual([]);
    expect(v.beds.babble).toEqual(v.interrupts);
    expect(v.beds.music.length).toBeGreaterThanOrEqual(1);
  });

  it('plays a stretch of a music-on-hold recording as its music bed, at the beds’ RMS', () => {
    const { beds } = debianVoices();
    const bed = noise('music', 3, rng(5), beds);
    expect(rms(bed)).toBeCloseTo(1000, 0);
    // the same draws noise() makes: which recording, then where in it
    const r = rng(5);
    const m = load(beds.music[Math.floor(r() * beds.music.length)]!);
    const off = Math.floor(r() * m.length);
    const stretch = bed.map((_, i) => m[(off + i) % m.length]!);
    const k = 1000 / rms(stretch);
    let worst = 0;
    for (let i = 0; i < bed.length; i++) worst = Math.max(worst, Math.abs(bed[i]! - k * stretch[i]!));
    expect(worst).toBeLessThan(1); // on the 16-bit scale: the recording itself, scaled
    // and it is no synthesised chord: the synthesiser's bed from the same draws differs
    const synth = noise('music', 3, rng(5));
    let diff = 0;
    for (let i = 0; i < bed.length; i++) diff += (bed[i]! - synth[i]!) ** 2;
    expect(Math.sqrt(diff / bed.length)).toBeGreaterThan(500);
  });
});
