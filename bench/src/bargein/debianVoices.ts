import { existsSync, readdirSync } from 'node:fs';
import { load, onsetIndex, RATE, type Beds } from './signals.js';

/**
 * The `real` split: human voices and recorded music, which no tuning has heard (every other split's
 * caller is espeak-ng, its music synthesised). Read where Debian installs them (CC BY-SA 3.0), never
 * copied into the repo:
 *   - the Asterisk telephone prompts of Allison Smith (US English, Mexican Spanish) and June Wallack
 *     (Canadian French), recorded for the phone at 8 kHz. Their sentences are the interruptions, and
 *     six of them at a time the babble; their single words ("hello", "minutes", digits) stand in for
 *     backchannels: short utterances that must duck but not clear;
 *   - Asterisk's music on hold (asterisk-moh-opsound-wav: five tracks from opsound.org) as the music bed.
 * Everything else is the held-out split's (main.ts): a seed draws the same trials with other callers.
 */
/** the prompts' root (a clip is named from there in the bench's lines) */
export const SOUNDS = '/usr/share/asterisk/sounds/';
const MOH = '/usr/share/asterisk/moh';
/** the prompt sets: each language's own words and its digits */
const DIRS = ['en', 'es', 'fr'].flatMap((lang) => [`${SOUNDS}${lang}/`, `${SOUNDS}${lang}/digits/`]);
export const DEBIAN_PACKAGES =
  'asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav asterisk-moh-opsound-wav';

/** No speech: tones and a sound effect (the sets' own transcripts, core-sounds-*.txt, bracket them). */
const NOT_SPEECH = new Set(['ascending-2tone', 'descending-2tone', 'beep', 'beeperr', 'confbridge-join', 'confbridge-leave', 'tt-monkeys']);
/** Seconds of speech an interruption has: the span of the fixture splits' interruptions (2.0–4.3 s). */
const INTERRUPTION_S = [2, 5] as const;
/**
 * Seconds of speech a short utterance has: a backchannel's ("uh-huh", "yeah", "okay"; 40 of the fixture
 * splits' 44 are 0.21–0.6 s). Up to 0.75 s, their longest, 102 of the words chosen were longer than
 * shortUtteranceMs, and were cleared as designed (bench/README.md, forty-fourth pass).
 */
const SHORT_S = [0.2, 0.6] as const;

export interface DebianVoices {
  interrupts: string[];
  shorts: string[];
  beds: Beds;
}

/** The real split's clips (paths), or an error saying which Debian packages to install. */
export function debianVoices(): DebianVoices {
  // (as WAV: the GSM packages fill the same directories)
  const missing = [...DIRS, MOH].filter((d) => !existsSync(d) || !readdirSync(d).some((f) => f.endsWith('.wav')));
  if (missing.length > 0)
    throw new Error(
      `--split real reads Debian's Asterisk prompts and music on hold: apt-get install ${DEBIAN_PACKAGES} (no WAV in ${missing[0]})`,
    );
  const interrupts: string[] = [];
  const shorts: string[] = [];
  for (const dir of DIRS) {
    for (const f of readdirSync(dir).sort()) {
      if (!f.endsWith('.wav') || NOT_SPEECH.has(f.slice(0, -4))) continue;
      const s = speechSeconds(load(dir + f));
      if (s >= INTERRUPTION_S[0] && s <= INTERRUPTION_S[1]) interrupts.push(dir + f);
      else if (s >= SHORT_S[0] && s <= SHORT_S[1]) shorts.push(dir + f);
    }
  }
  const music = readdirSync(MOH)
    .filter((f) => f.endsWith('.wav'))
    .sort()
    .map((f) => `${MOH}/${f}`);
  return { interrupts, shorts, beds: { babble: interrupts, music } };
}

/** From the first 10 ms frame within 25 dB of the loudest to the last one (signals.ts onsetIndex), s. */
function speechSeconds(x: Float32Array): number {
  return (x.length - onsetIndex(x) - onsetIndex(x.slice().reverse())) / RATE;
}
