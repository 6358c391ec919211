import { readFileSync, writeFileSync } from 'node:fs';
import wavefile from 'wavefile';

/** Mono 16-bit PCM audio. */
export interface PcmAudio {
  /** Hz */
  sampleRate: number;
  samples: Int16Array;
}

/** Reads a WAV (PCM, float or G.711); converts to mono 16-bit, first channel. */
export function readWav(pathOrBytes: string | Uint8Array): PcmAudio {
  const bytes = typeof pathOrBytes === 'string' ? readFileSync(pathOrBytes) : pathOrBytes;
  const wav = new wavefile.WaveFile(bytes);
  // G.711 WAVs (format 7 µ-law, 6 A-law: telephone fixtures at half the bytes) are expanded first.
  const format = (wav.fmt as { audioFormat: number }).audioFormat;
  if (format === 7) wav.fromMuLaw();
  else if (format === 6) wav.fromALaw();
  wav.toBitDepth('16');
  const fmt = wav.fmt as { sampleRate: number; numChannels: number };
  const raw = wav.getSamples(true, Int16Array) as unknown as Int16Array;
  const ch = fmt.numChannels;
  if (ch === 1) return { sampleRate: fmt.sampleRate, samples: raw };
  const mono = new Int16Array(Math.floor(raw.length / ch));
  for (let i = 0; i < mono.length; i++) mono[i] = raw[i * ch]!;
  return { sampleRate: fmt.sampleRate, samples: mono };
}

/** Encodes mono 16-bit PCM as WAV bytes. */
export function encodeWav(audio: PcmAudio): Uint8Array {
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, audio.sampleRate, '16', audio.samples);
  return wav.toBuffer();
}

export function writeWav(path: string, audio: PcmAudio): void {
  writeFileSync(path, encodeWav(audio));
}
