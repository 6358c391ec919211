import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEBIAN_PACKAGES, realSplit, SOUNDS, VOICES } from '../../bench/src/bargein/realSplit.js';
import { load, noise, RATE, rms, rng, sound } from '../../bench/src/bargein/signals.js';

/**
 * `bench:bargein --split real`: human callers and recorded music from Debian's Asterisk packages,
 * read where apt-get puts them. The interruptions are sentences and the backchannels single words,
 * in each of the three prompt sets, tones left out; the music bed is a stretch of a recording's
 * music, not the synthesised chords of the other splits.
 */
const INSTALLED =
  VOICES.every((v) => existsSync(`${SOUNDS}${v}/digits/1.wav`)) && existsSync('/usr/share/asterisk/moh/macroform-cold_day.wav');
if (!INSTALLED) console.warn(`SKIPPING the bench's real split tests: apt-get install -y ${DEBIAN_PACKAGES}`);

describe.skipIf(!INSTALLED)("bench:bargein's real split", () => {
  const split = INSTALLED ? realSplit() : null;
  const named = (xs: readonly string[]) => new Set(xs.map((f) => f.slice(SOUNDS.length)));

  it('takes sentences as interruptions and single words as backchannels, in each language, and no tone', () => {
    const { interruptions, backchannels, beds } = split!;
    const i = named(interruptions);
    const b = named(backchannels);
    // "I'm sorry I did not understand your response."; "Please enter the conference pin number." (in Spanish)
    expect(i.has('en_US_f_Allison/vm-sorry.wav')).toBe(true);
    expect(i.has('es_MX_f_Allison/conf-getpin.wav')).toBe(true);
    expect(b.has('en_US_f_Allison/hello.wav')).toBe(true);
    expect(b.has('en_US_f_Allison/digits/1.wav')).toBe(true);
    for (const tone of ['en_US_f_Allison/beep.wav', 'fr_CA_f_June/beeperr.wav', 'en_US_f_Allison/confbridge-join.wav'])
      expect(i.has(tone) || b.has(tone)).toBe(false);
    for (const v of VOICES) {
      expect([...i].filter((f) => f.startsWith(`${v}/`)).length).toBeGreaterThanOrEqual(50);
      expect([...b].filter((f) => f.startsWith(`${v}/`)).length).toBeGreaterThanOrEqual(10);
    }
    // a sentence is no word: every interruption has more speech than any backchannel, by far
    const seconds = (f: string) => sound(load(f)).length / RATE;
    expect(Math.min(...interruptions.map(seconds))).toBeGreaterThan(3 * Math.max(...backchannels.map(seconds)));
    expect(beds.babble).toEqual(interruptions);
    expect(beds.music.length).toBeGreaterThanOrEqual(1);
  });

  it('plays a stretch of a music-on-hold recording as its music bed, at the beds’ RMS', () => {
    const { beds } = split!;
    const bed = noise('music', 3, rng(5), beds);
    expect(rms(bed)).toBeCloseTo(1000, 0);
    // the same draws noise() makes: which recording, then where in its music (its fade and silence left out)
    const r = rng(5);
    const m = sound(load(beds.music[Math.floor(r() * beds.music.length)]!));
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
