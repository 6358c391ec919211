import { existsSync, readdirSync } from 'node:fs';
import { RATE, read, sound, type Beds } from './signals.js';

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
const MOH = '/usr/share/asterisk/moh/';
/**
 * Each voice's own directory, where its `-wav` package puts it (the `en`, `es`, `fr` links are the
 * alternatives of other packages, which apt need not install), with its digits.
 */
export const VOICES = ['en_US_f_Allison', 'es_MX_f_Allison', 'fr_CA_f_June'];
const DIRS = VOICES.flatMap((v) => [`${SOUNDS}${v}/`, `${SOUNDS}${v}/digits/`]);
export const DEBIAN_PACKAGES =
  'asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-fr-wav asterisk-moh-opsound-wav';

/** No speech: tones and a sound effect (the sets' own transcripts, core-sounds-*.txt, bracket them). */
const NOT_SPEECH = new Set(['ascending-2tone', 'descending-2tone', 'beep', 'beeperr', 'confbridge-join', 'confbridge-leave', 'tt-monkeys']);
/** Seconds of speech an interruption has: those of the fixture splits (2.0–4.3 s), a little wider. */
const INTERRUPTION_S = [2, 5] as const;
/**
 * Seconds of speech a backchannel has ("uh-huh", "yeah", "okay"; 40 of the fixture splits' 44 are
 * 0.21–0.6 s). Longer words outlast `shortUtteranceMs` (650 ms), and are cleared as designed.
 */
const BACKCHANNEL_S = [0.2, 0.6] as const;

export interface RealSplit {
  /** the callers' clips (paths) */
  interruptions: string[];
  backchannels: string[];
  beds: Beds;
}

/** The real split's clips, or an error saying which Debian packages to install. */
export function realSplit(): RealSplit {
  // as WAV: the GSM packages, which apt may pick for a dependency, fill directories of their own
  const wavs = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.wav'))
          .sort()
      : [];
  const listed = [...DIRS, MOH].map((dir) => ({ dir, files: wavs(dir) }));
  const missing = listed.find((d) => d.files.length === 0);
  if (missing !== undefined)
    throw new Error(
      `--split real reads Debian's Asterisk prompts and music on hold: apt-get install ${DEBIAN_PACKAGES} (no WAV in ${missing.dir})`,
    );
  const interruptions: string[] = [];
  const backchannels: string[] = [];
  for (const { dir, files } of listed.slice(0, DIRS.length)) {
    for (const f of files) {
      if (NOT_SPEECH.has(f.slice(0, -4))) continue;
      // (read, not loaded: most are neither, and would stay in load's cache for the run)
      const s = sound(read(dir + f)).length / RATE;
      if (s >= INTERRUPTION_S[0] && s <= INTERRUPTION_S[1]) interruptions.push(dir + f);
      else if (s >= BACKCHANNEL_S[0] && s <= BACKCHANNEL_S[1]) backchannels.push(dir + f);
    }
  }
  const music = listed.at(-1)!.files.map((f) => MOH + f);
  return { interruptions, backchannels, beds: { babble: interruptions, music } };
}
