import { readdirSync } from 'node:fs';
import { readWav } from '../../../codecs/src/index.js';

/**
 * Signals of the barge-in evaluation set, at 8 kHz in float (16-bit scale): speech fixtures,
 * and noises synthesised from a seeded generator so every run is the same set.
 */
export const RATE = 8000;
const DIR = new URL('../../../test/fixtures/audio/bargein/', import.meta.url).pathname;

/** Clips read so far: babble mixes every talker of its set per trial, and a music recording is minutes long. */
const loaded = new Map<string, Float32Array>();

/** A clip (8 kHz, 16-bit scale): a fixture by name, or a file by its absolute path. Shared: not to be written. */
export function load(name: string): Float32Array {
  let x = loaded.get(name);
  if (x === undefined) {
    x = read(name);
    loaded.set(name, x);
  }
  return x;
}

/** A clip as `load` takes it, read afresh and not kept. */
export function read(name: string): Float32Array {
  const wav = readWav(name.startsWith('/') ? name : DIR + name);
  if (wav.sampleRate !== RATE) throw new Error(`${name}: ${wav.sampleRate} Hz, the set is at ${RATE} Hz`);
  return Float32Array.from(wav.samples);
}

export function list(prefix: string): string[] {
  return readdirSync(DIR)
    .filter((f) => f.startsWith(prefix))
    .sort();
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function rms(x: Float32Array): number {
  let e = 0;
  let n = 0;
  for (const v of x) {
    e += v * v;
    n++;
  }
  return Math.sqrt(e / Math.max(1, n));
}

/** RMS over the 10 ms frames that are within 30 dB of the loudest (the speech, not its pauses). */
export function activeRms(x: Float32Array): number {
  const f = 80;
  const frames: number[] = [];
  for (let i = 0; i + f <= x.length; i += f) frames.push(rms(x.subarray(i, i + f)));
  const peak = Math.max(...frames);
  const active = frames.filter((v) => v > peak / 31.6);
  return Math.sqrt(active.reduce((a, v) => a + v * v, 0) / Math.max(1, active.length));
}

/** Index of the first 10 ms frame within 25 dB of the clip's loudest frame: the speech onset. */
export function onsetIndex(x: Float32Array): number {
  const f = 80;
  let peak = 0;
  for (let i = 0; i + f <= x.length; i += f) peak = Math.max(peak, rms(x.subarray(i, i + f)));
  for (let i = 0; i + f <= x.length; i += f) if (rms(x.subarray(i, i + f)) > peak / 17.8) return i;
  return 0;
}

/** The clip from its speech onset to the end of its last 10 ms frame within 25 dB of its loudest (a view). */
export function sound(x: Float32Array): Float32Array {
  return x.subarray(onsetIndex(x), x.length - onsetIndex(x.slice().reverse()));
}

/**
 * The first `seconds` of an utterance (a copy), its last 20 ms faded out so that the cut ends no
 * word with a click: the agent's turn before a trial's (`--prior-turn`), a greeting's length.
 */
export function firstWords(x: Float32Array, seconds: number): Float32Array {
  const cut = x.slice(0, Math.min(x.length, Math.round(seconds * RATE)));
  const fade = Math.min(cut.length, RATE / 50);
  for (let j = 0; j < fade; j++) cut[cut.length - 1 - j]! *= j / fade;
  return cut;
}

export function scaled(x: Float32Array, gain: number): Float32Array {
  return x.map((v) => v * gain);
}

export function dbToGain(db: number): number {
  return 10 ** (db / 20);
}

export type NoiseKind = 'white' | 'pink' | 'brown' | 'car' | 'babble' | 'music';

/** What a set's babble and music are made of (clips as `load` takes them). */
export interface Beds {
  /** the talkers babble mixes: the interruption clips of the set being run */
  babble: readonly string[];
  /** recordings of music, a stretch of one drawn per trial; none: the music is synthesised */
  music: readonly string[];
}

/** The beds of the fixture splits: babble of their interruption clips (`prefix`), music synthesised. */
export function fixtureBeds(prefix: string): Beds {
  return { babble: list(prefix), music: [] };
}

/**
 * `seconds` of noise with RMS 1000 (scaled by the caller). Babble is made of the interruption
 * clips of the set being run (`beds`), so held-out runs never hear tuning voices.
 */
export function noise(kind: NoiseKind, seconds: number, r: () => number, beds?: Beds): Float32Array {
  const n = Math.round(seconds * RATE);
  const g = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  let out = new Float32Array(n);
  if (kind === 'white') for (let i = 0; i < n; i++) out[i] = g();
  else if (kind === 'pink') {
    // Paul Kellet's economy pink filter
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    for (let i = 0; i < n; i++) {
      const w = g();
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      out[i] = b0 + b1 + b2 + w * 0.1848;
    }
  } else if (kind === 'brown') {
    // integrated white noise, leaky (a 20 Hz corner) so it has no DC
    let b = 0;
    for (let i = 0; i < n; i++) out[i] = b = 0.984 * b + g();
  } else if (kind === 'car') {
    // Engine: a 25–45 Hz firing fundamental and harmonics, slowly varying, over low-passed road
    // rumble (brown noise) and a little tyre hiss.
    let b = 0;
    let ph = 0;
    const f0 = 25 + 20 * r();
    for (let i = 0; i < n; i++) {
      const f = f0 * (1 + 0.1 * Math.sin((2 * Math.PI * i) / (RATE * 3.7)));
      ph += (2 * Math.PI * f) / RATE;
      b = 0.995 * b + g();
      let eng = 0;
      for (let h = 1; h <= 6; h++) eng += Math.sin(h * ph) / h;
      out[i] = 0.6 * b + 4 * eng + 0.3 * g();
    }
  } else if (kind === 'babble') {
    // Six talkers from the interruption clips, at random offsets, summed.
    const clips = (beds ?? fixtureBeds('interrupt-')).babble.map(load);
    for (let t = 0; t < 6; t++) {
      const c = clips[Math.floor(r() * clips.length)]!;
      let off = Math.floor(r() * c.length);
      for (let i = 0; i < n; i++) {
        out[i]! += c[off]! * (0.6 + 0.4 * r());
        off = (off + 1) % c.length;
      }
    }
  } else if (beds !== undefined && beds.music.length > 0) {
    // A stretch of a recording, from anywhere in its music (wrapping round at its end): not in the
    // seconds of near-silence a track begins or ends with, which the RMS below would make a hiss.
    const m = sound(load(beds.music[Math.floor(r() * beds.music.length)]!));
    let off = Math.floor(r() * m.length);
    for (let i = 0; i < n; i++) {
      out[i] = m[off]!;
      off = (off + 1) % m.length;
    }
  } else {
    // Music-like: three-note chords with harmonics, changing every 250 ms, with note envelopes.
    const notes = [220, 247, 262, 294, 330, 349, 392, 440, 494, 523];
    const seg = RATE / 4;
    for (let s = 0; s * seg < n; s++) {
      const chord = [0, 1, 2].map(() => notes[Math.floor(r() * notes.length)]!);
      for (let i = s * seg; i < Math.min(n, (s + 1) * seg); i++) {
        const t = i / RATE;
        const env = Math.exp(-(i - s * seg) / (seg * 0.6));
        let v = 0;
        for (const f of chord)
          v += Math.sin(2 * Math.PI * f * t) + 0.4 * Math.sin(4 * Math.PI * f * t) + 0.2 * Math.sin(6 * Math.PI * f * t);
        out[i] = v * env;
      }
    }
  }
  const k = 1000 / (rms(out) || 1);
  out = out.map((v) => v * k);
  return out;
}

/** A cough: one or two broadband bursts of 150–300 ms with fast attack and decay. RMS ~3000. */
export function cough(r: () => number): Float32Array {
  const out = new Float32Array(Math.round(0.6 * RATE));
  const bursts = r() < 0.5 ? 1 : 2;
  let lp = 0;
  for (let b = 0; b < bursts; b++) {
    const start = Math.round(b * 0.3 * RATE);
    const len = Math.round((0.15 + 0.15 * r()) * RATE);
    for (let i = 0; i < len && start + i < out.length; i++) {
      const env = Math.min(1, i / 40) * Math.exp(-i / (len * 0.35));
      lp = 0.6 * lp + 0.4 * (r() * 2 - 1); // a little low-pass: a cough is not white
      out[start + i] = 9000 * env * lp;
    }
  }
  return out;
}

/** A click: a 2–5 ms burst. */
export function click(r: () => number): Float32Array {
  const out = new Float32Array(Math.round(0.05 * RATE));
  const len = Math.round((0.002 + 0.003 * r()) * RATE);
  for (let i = 0; i < len; i++) out[i] = 20000 * (r() * 2 - 1) * (1 - i / len);
  return out;
}
