import { readdirSync } from 'node:fs';
import { readWav } from '../../../codecs/src/index.js';
import { activeRms, rms, rng } from '../bargein/signals.js';

/**
 * The denoise benchmark's test material, all at 8 kHz in float (16-bit scale): clean speech at a
 * set active level with noise-only stretches around it, mixed with a synthesised background at a
 * set SNR. Everything is deterministic for a given seed, so every mode hears the same mixture.
 */
export const RATE = 8000;
// Active level: RMS over the 10 ms frames within 30 dB of the loudest (a simple stand-in for
// ITU-T P.56's active level, good enough for synthetic speech with clean pauses).
export { activeRms, rng };
const AUDIO = new URL('../../../test/fixtures/audio/', import.meta.url).pathname;

export const NOISES = ['none', 'pink', 'car', 'babble', 'music', 'street', 'cafe'] as const;
export type Noise = (typeof NOISES)[number];
export const SNRS = [0, 5, 10, 20] as const;

/** Active speech level of every mixture, dBFS (RMS re 32768, as codecs' rmsDbfs). */
export const SPEECH_DBFS = -24;
/** Noise alone before the speech (RNNoise and any noise estimator converge here), s */
export const LEAD_S = 1.5;
/** Noise alone after the speech, s */
export const TAIL_S = 1;

/**
 * Speech of a set: `heldout` (the voices the benchmark reports; nothing is tuned on them) or
 * `tune` (the caller fixtures the gateway is developed against).
 */
export function speechSet(set: 'heldout' | 'tune'): { name: string; pcm: Float32Array }[] {
  const files =
    set === 'heldout'
      ? readdirSync(`${AUDIO}denoise`)
          .filter((f) => f.startsWith('held-out-'))
          .sort()
          .map((f) => `denoise/${f}`)
      : ['caller-en-us-8k.wav', 'caller-en-f-8k.wav', 'caller-en-gb-8k.wav'];
  return files.map((f) => ({ name: f.replace(/^.*\//, '').replace(/\.wav$/, ''), pcm: load(f) }));
}

function load(rel: string): Float32Array {
  const w = readWav(AUDIO + rel);
  if (w.sampleRate !== RATE) throw new Error(`${rel}: expected ${RATE} Hz, got ${w.sampleRate}`);
  return Float32Array.from(w.samples);
}

export interface Mixture {
  noise: Noise;
  /** input SNR, dB (NaN for none) */
  snrDb: number;
  speech: string;
  /** the speech alone at SPEECH_DBFS, with its lead-in and tail of silence */
  clean: Float32Array;
  /** what the caller's phone sends (before G.711) */
  noisy: Float32Array;
  /** the background alone, as mixed */
  background: Float32Array;
}

export function mixture(speech: { name: string; pcm: Float32Array }, kind: Noise, snrDb: number, seed: number): Mixture {
  const n = Math.round((LEAD_S + TAIL_S) * RATE) + speech.pcm.length;
  const clean = new Float32Array(n);
  const g = (32768 * 10 ** (SPEECH_DBFS / 20)) / activeRms(speech.pcm);
  const at = Math.round(LEAD_S * RATE);
  for (let i = 0; i < speech.pcm.length; i++) clean[at + i] = speech.pcm[i]! * g;
  const background = new Float32Array(n);
  if (kind !== 'none') {
    const nz = background_(kind, n / RATE, rng(seed));
    const level = (32768 * 10 ** (SPEECH_DBFS / 20)) / 10 ** (snrDb / 20);
    const k = level / rms(nz);
    for (let i = 0; i < n; i++) background[i] = nz[i]! * k;
  }
  const noisy = clean.map((v, i) => v + background[i]!);
  return { noise: kind, snrDb: kind === 'none' ? NaN : snrDb, speech: speech.name, clean, noisy, background };
}

/** `seconds` of a background at any level (the caller scales it). */
function background_(kind: Exclude<Noise, 'none'>, seconds: number, r: () => number): Float32Array {
  const n = Math.round(seconds * RATE);
  switch (kind) {
    case 'pink':
      return pink(n, r);
    case 'car':
      return car(n, r);
    case 'babble':
      return babble(n, 6, r);
    case 'music':
      return music(n, r);
    case 'street':
      return street(n, r);
    case 'cafe':
      return cafe(n, r);
  }
}

function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

/** One-pole low-pass coefficient for a cut-off of `hz`. */
function pole(hz: number): number {
  return Math.exp((-2 * Math.PI * hz) / RATE);
}

/** Pink noise (Paul Kellet's economy filter), unscaled. */
function pink(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = 0; i < n; i++) {
    const w = gauss(r);
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    out[i] = b0 + b1 + b2 + w * 0.1848;
  }
  return out;
}

/**
 * Car cabin: low-frequency rumble (white noise through two one-pole low-passes at 120 Hz), engine
 * firing harmonics (2nd-order engine at 1800–2700 rpm: 60–90 Hz and 7 harmonics, slowly varying),
 * and tyre/wind noise (pink, high-passed at 300 Hz, 14 dB below the rumble).
 */
function car(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  const a = pole(120);
  const hp = pole(300);
  const tyre = pink(n, r);
  let l1 = 0;
  let l2 = 0;
  let lp = 0;
  let phase = 0;
  const drift = r() * 2 * Math.PI;
  for (let i = 0; i < n; i++) {
    const t = i / RATE;
    l1 = a * l1 + (1 - a) * gauss(r);
    l2 = a * l2 + (1 - a) * l1;
    const f0 = 75 + 15 * Math.sin((2 * Math.PI * t) / 6 + drift);
    phase += (2 * Math.PI * f0) / RATE;
    let engine = 0;
    for (let k = 1; k <= 8; k++) engine += Math.sin(k * phase + k * drift) / k;
    lp = hp * lp + (1 - hp) * tyre[i]!;
    out[i] = 40 * l2 + 0.08 * engine + 0.2 * (tyre[i]! - lp);
  }
  return out;
}

const TALKERS = (): Float32Array[] =>
  readdirSync(`${AUDIO}denoise`)
    .filter((f) => f.startsWith('talker-'))
    .sort()
    .map((f) => load(`denoise/${f}`));

/** `voices` talkers (from the talker fixtures, never the speech's voices) at random offsets and gains. */
function babble(n: number, voices: number, r: () => number): Float32Array {
  const pool = TALKERS();
  const out = new Float32Array(n);
  for (let v = 0; v < voices; v++) {
    const c = pool[Math.floor(r() * pool.length)]!;
    const gain = (0.5 + 0.5 * r()) / activeRms(c);
    let off = Math.floor(r() * c.length);
    for (let i = 0; i < n; i++) {
      out[i]! += c[off]! * gain;
      off = (off + 1) % c.length;
    }
  }
  return out;
}

/** A decaying plucked/piano-like note: harmonics with faster decay up the series. */
function note(out: Float32Array, at: number, hz: number, seconds: number, gain: number): void {
  const len = Math.min(out.length - at, Math.round(seconds * RATE));
  for (let i = 0; i < len; i++) {
    const t = i / RATE;
    let v = 0;
    for (let k = 1; k <= 5 && k * hz < RATE / 2; k++) v += (Math.sin(2 * Math.PI * k * hz * t) * Math.exp(-t * (2 + 2 * k))) / k;
    out[at + i]! += gain * v * Math.min(1, i / 40);
  }
}

/**
 * Pop music at 120 bpm: a I–V–vi–IV chord progression (three-note chords), a bass line on the
 * beat, an eighth-note melody wandering the scale, and drums (kick on 1 and 3, snare on 2 and 4,
 * hi-hat eighths).
 */
function music(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  const beat = RATE / 2;
  const midi = (m: number) => 440 * 2 ** ((m - 69) / 12);
  const chords = [
    [60, 64, 67],
    [55, 59, 62],
    [57, 60, 64],
    [53, 57, 60],
  ];
  const scale = [60, 62, 64, 65, 67, 69, 71, 72, 74, 76];
  let m = 4;
  for (let b = 0; b * beat < n; b++) {
    const at = b * beat;
    const chord = chords[Math.floor(b / 2) % 4]!;
    if (b % 2 === 0) for (const c of chord) note(out, at, midi(c), 1, 0.5);
    note(out, at, midi(chord[0]! - 24), 0.5, 0.9);
    for (const half of [0, 1]) {
      m = Math.max(0, Math.min(scale.length - 1, m + Math.floor(r() * 5) - 2));
      note(out, at + half * (beat / 2), midi(scale[m]!), 0.3, 0.6);
      // hi-hat: 30 ms of high-passed noise
      let prev = 0;
      for (let i = 0; i < 240 && at + half * (beat / 2) + i < n; i++) {
        const w = gauss(r);
        out[at + half * (beat / 2) + i]! += 0.15 * (w - prev) * Math.exp(-i / 60);
        prev = w;
      }
    }
    if (b % 2 === 0) {
      // kick: a sine sweeping 120 → 50 Hz, 150 ms
      let ph = 0;
      for (let i = 0; i < 1200 && at + i < n; i++) {
        ph += (2 * Math.PI * (50 + 70 * Math.exp(-i / 300))) / RATE;
        out[at + i]! += 1.5 * Math.sin(ph) * Math.exp(-i / 500);
      }
    } else {
      // snare: noise burst with a 200 Hz body, 120 ms
      for (let i = 0; i < 960 && at + i < n; i++)
        out[at + i]! += (0.5 * gauss(r) + 0.6 * Math.sin((2 * Math.PI * 200 * i) / RATE)) * Math.exp(-i / 250);
    }
  }
  return out;
}

/**
 * Street: a distant traffic floor (pink, low-passed at 800 Hz), cars passing every 2–5 s (pink
 * noise under a 3 s bell-shaped envelope whose brightness peaks as it passes), and a car horn
 * (two 420/520 Hz tones with harmonics, 0.4 s) about every 6 s.
 */
function street(n: number, r: () => number): Float32Array {
  const out = new Float32Array(n);
  const floor = pink(n, r);
  const lp = pole(800);
  let y = 0;
  for (let i = 0; i < n; i++) {
    y = lp * y + (1 - lp) * floor[i]!;
    out[i] = 0.6 * y;
  }
  const passing = pink(n, r);
  for (let at = Math.floor(r() * 2 * RATE) - RATE; at < n; at += Math.floor((2 + 3 * r()) * RATE)) {
    const width = 0.6 * RATE;
    const peak = at + 1.5 * RATE;
    let z = 0;
    for (let i = Math.max(0, at); i < Math.min(n, at + 3 * RATE); i++) {
      const env = Math.exp(-(((i - peak) / width) ** 2));
      const p = pole(300 + 2500 * env);
      z = p * z + (1 - p) * passing[i]!;
      out[i]! += 2.5 * env * z;
    }
  }
  for (let at = Math.floor((1 + 4 * r()) * RATE); at < n; at += Math.floor((5 + 3 * r()) * RATE)) {
    for (let i = 0; i < 0.4 * RATE && at + i < n; i++) {
      const t = i / RATE;
      let v = 0;
      for (const f of [420, 520]) for (let k = 1; k <= 4; k++) v += Math.sin(2 * Math.PI * k * f * t) / k;
      out[at + i]! += 0.35 * v * Math.min(1, i / 80, (0.4 * RATE - i) / 80);
    }
  }
  return out;
}

/**
 * Cafe: a diffuse crowd (eight talkers, low-passed at 2 kHz as by distance and room), ventilation
 * hum (pink, low-passed at 200 Hz), and cups and plates clinking (decaying 2–3.5 kHz resonances,
 * about two a second).
 */
function cafe(n: number, r: () => number): Float32Array {
  const crowd = babble(n, 8, r);
  const out = new Float32Array(n);
  const lc = pole(2000);
  const lh = pole(200);
  const hum = pink(n, r);
  let c = 0;
  let h = 0;
  for (let i = 0; i < n; i++) {
    c = lc * c + (1 - lc) * crowd[i]!;
    h = lh * h + (1 - lh) * hum[i]!;
    out[i] = c + 0.15 * h;
  }
  const level = rms(out);
  for (let at = Math.floor(r() * RATE); at < n; at += Math.floor((0.2 + 0.8 * r()) * RATE)) {
    const f = 2000 + 1500 * r();
    const amp = level * (1 + 2 * r());
    for (let i = 0; i < 0.15 * RATE && at + i < n; i++) out[at + i]! += amp * Math.sin((2 * Math.PI * f * i) / RATE) * Math.exp(-i / 200);
  }
  return out;
}
