import { parseArgs } from 'node:util';
import { loadDenoiserModule, loadResamplerModule, readWav, Resampler } from '../../../codecs/src/index.js';
import { FrameFlags } from '../../../gateway/src/media/dspProtocol.js';
import { InboundDsp } from '../../../gateway/src/media/InboundDsp.js';
import { pinkNoise } from '../latency/load.js';

/**
 * What `denoise: "auto"` decides, per noise kind × input SNR, on the real inbound chain (WASM
 * resamplers and RNNoise, in this thread): speech at −24 dBFS (RMS over the speech), noise mixed
 * at the SNR (RMS over the whole clip), 0.5 s of noise before the talker starts. Prints when the
 * first decision was made, what it was, the estimated SNR and the switches.
 *
 *   node --import tsx bench/src/micro/autoDenoise.ts [--set dev|heldout]
 *
 * The threshold was set on the dev set (caller-en-us, pink seed 1, babble of the barge-in
 * interruptions); the held-out set (caller-en-f and caller-en-gb, pink seed 2, babble of the
 * agent voices and backchannels) is what bench/README.md reports.
 */
const AUDIO = new URL('../../../test/fixtures/audio/', import.meta.url).pathname;

async function load8k(name: string): Promise<Int16Array> {
  const w = readWav(AUDIO + name);
  if (w.sampleRate === 8000) return w.samples;
  const r = await Resampler.create({ inRate: w.sampleRate, outRate: 8000, quality: 5 });
  const out = new Float32Array(r.maxOutput(w.samples.length));
  const n = r.process(Float32Array.from(w.samples), out);
  r.close();
  return Int16Array.from(out.subarray(0, n), (v) => Math.round(v));
}

function rms(x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e += x[i]! * x[i]!;
  return Math.sqrt(e / Math.max(1, x.length));
}

/** Babble: the voices summed, each looped from its own offset, unit RMS. */
function babble(voices: Int16Array[], samples: number): Float32Array {
  const out = new Float32Array(samples);
  voices.forEach((v, k) => {
    const off = Math.floor((k * v.length) / voices.length);
    for (let i = 0; i < samples; i++) out[i]! += v[(i + off) % v.length]!;
  });
  const g = 1 / rms(out);
  for (let i = 0; i < samples; i++) out[i]! *= g;
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { set: { type: 'string', default: 'heldout' }, seconds: { type: 'string', default: '12' } } });
  const dev = values.set === 'dev';
  const seconds = Number(values.seconds);
  const talkers = dev ? ['caller-en-us-8k.wav'] : ['caller-en-f-8k.wav', 'caller-en-gb-8k.wav'];
  const babbleVoices = dev
    ? ['interrupt-1-a', 'interrupt-2-a', 'interrupt-3-a', 'interrupt-4-a', 'interrupt-1-b', 'interrupt-2-b'].map((n) => `bargein/${n}.wav`)
    : ['agent-1', 'agent-2', 'agent-3', 'backchannel-en-us-okay', 'interrupt-3-b', 'interrupt-4-b'].map((n) => `bargein/${n}.wav`);
  const mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };
  const lead = 4000;
  const total = 8000 * seconds;
  const noises: Record<string, Float32Array> = {
    pink: pinkNoise(total, dev ? 1 : 2),
    babble: babble(await Promise.all(babbleVoices.map(load8k)), total),
  };
  console.log(`set ${values.set}: ${talkers.join(', ')}; ${seconds} s per clip, 0.5 s of noise first`);
  console.log(
    '| talker | noise | input SNR dB | first decision at ms | RNNoise | estimated SNR dB (first → end) | switches | RNNoise frames % |',
  );
  console.log('|---|---|---:|---:|---|---|---:|---:|');
  for (const talker of talkers) {
    const clip = await load8k(talker);
    const speech = new Float32Array(total);
    for (let i = lead; i < total; i++) speech[i] = clip[(i - lead) % clip.length]!;
    const g = (32768 * 10 ** (-24 / 20)) / rms(speech.subarray(lead));
    for (let i = 0; i < total; i++) speech[i]! *= g;
    const speechRms = rms(speech);
    const cells: [string, number | null][] = [['none', null]];
    for (const kind of Object.keys(noises)) for (const snr of [0, 5, 10, 15, 20]) cells.push([kind, snr]);
    for (const [kind, snr] of cells) {
      const x = Int16Array.from(speech, (v, i) => {
        const n = snr === null ? 0 : (noises[kind]![i]! * speechRms) / 10 ** (snr / 20);
        return Math.max(-32768, Math.min(32767, Math.round(v + n)));
      });
      const seen: { atMs: number; flags: number; snr: number }[] = [];
      let frames = 0;
      const dsp: InboundDsp = new InboundDsp(mods, { inRate: 8000, outRate: 24000, denoise: 'auto', quality: 3 }, () => {
        frames++;
        seen.push({ atMs: 20 * frames, flags: dsp.flags, snr: dsp.snrDb });
      });
      for (let k = 0; k + 160 <= x.length; k += 160) dsp.push(x.subarray(k, k + 160), 0);
      dsp.close();
      const decided = seen.find((s) => (s.flags & FrameFlags.decided) !== 0);
      const on = seen.filter((s) => (s.flags & FrameFlags.denoised) !== 0).length;
      let switches = 0;
      for (let i = 1; i < seen.length; i++) if ((seen[i]!.flags ^ seen[i - 1]!.flags) & FrameFlags.denoised) switches++;
      const last = seen.at(-1)!;
      console.log(
        `| ${talker.replace('-8k.wav', '')} | ${kind} | ${snr ?? '∞ (clean)'} | ${decided?.atMs ?? '—'} | ${decided && (decided.flags & FrameFlags.wanted) !== 0 ? 'on' : 'off'} → ${(last.flags & FrameFlags.denoised) !== 0 ? 'on' : 'off'} | ${decided?.snr.toFixed(1)} → ${last.snr.toFixed(1)} | ${switches} | ${((100 * on) / seen.length).toFixed(0)} |`,
      );
    }
  }
}

void main();
