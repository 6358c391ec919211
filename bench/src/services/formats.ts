import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { g711DecodeInto, g711EncodeInto, loadDenoiserModule, loadResamplerModule, readWav, Resampler } from '../../../codecs/src/index.js';
import { InboundDsp } from '../../../gateway/src/media/InboundDsp.js';
import { activeRms, noise, rng, type NoiseKind } from '../bargein/signals.js';

/**
 * Which audio format to give OpenAI Realtime from a G.711 edge, by measurement: the caller's
 * µ-law codes straight through (`audio/pcmu`, the route's `sampleRate: 8000, denoise: false`),
 * µ-law after RNNoise (`sampleRate: 8000`), or 24 kHz PCM after RNNoise (`audio/pcm`,
 * `sampleRate: 24000`). Per option: the inbound chain's algorithmic delay, its CPU per 20 ms
 * packet, the bytes per second on the wire to the service, and what the model hears: the
 * scale-invariant SDR of the delivered audio against the clean speech (resampled to the
 * option's rate and aligned by the chain's stated delay), on real speech with and without noise.
 * The model's own understanding cannot be measured offline; SI-SDR is the proxy, and says what it
 * says: how much of what reaches the model is the caller's voice.
 *
 *   npm run bench:formats [-- --voices en-us,en-f,en-gb --noises none,pink:20,babble:10,pink:5 --seed 7]
 */
const HELP = `usage: npm run bench:formats -- [--voices en-us,en-f,en-gb] [--noises none,pink:20,babble:10,white:5] [--seed 7]`;

interface Option {
  name: string;
  rate: 8000 | 24000;
  denoise: boolean;
  /** the service's format: G.711 codes or 16-bit PCM, and the JSON envelope around each 20 ms */
  wire: 'g711' | 'pcm16';
}

const OPTIONS: Option[] = [
  { name: 'audio/pcmu, straight through', rate: 8000, denoise: false, wire: 'g711' },
  { name: 'audio/pcmu after RNNoise', rate: 8000, denoise: true, wire: 'g711' },
  { name: 'audio/pcm 24 kHz after RNNoise', rate: 24000, denoise: true, wire: 'pcm16' },
];

/** What one option makes of one 8 kHz input (µ-law codes from the edge). */
async function run(o: Option, codes: Uint8Array): Promise<{ out: Float32Array; delayMs: number; usPerPacket: number }> {
  const mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };
  const out: number[] = [];
  const dsp = new InboundDsp(mods, { inRate: 8000, outRate: o.rate, denoise: o.denoise, quality: 3 }, (frame) => {
    for (const v of frame) out.push(v);
  });
  const pcm = new Int16Array(160);
  let busy = 0;
  for (let k = 0; (k + 1) * 160 <= codes.length; k++) {
    g711DecodeInto('ulaw', codes.subarray(k * 160, (k + 1) * 160), pcm);
    const t = performance.now();
    dsp.push(pcm, 0);
    busy += performance.now() - t;
  }
  const delayMs = dsp.delayMs;
  dsp.close();
  // The service's G.711 is the codes the gateway sends: what it delivered, µ-law encoded.
  const delivered = Float32Array.from(out);
  if (o.wire === 'g711') {
    const i16 = Int16Array.from(delivered);
    const c = new Uint8Array(i16.length);
    g711EncodeInto('ulaw', i16, c);
    g711DecodeInto('ulaw', c, i16);
    delivered.set(i16);
  }
  return { out: delivered, delayMs, usPerPacket: (1000 * busy) / Math.floor(codes.length / 160) };
}

/** SI-SDR (dB) of `est` against `ref`, `est` delayed by `lag` samples (best within ±3 samples). */
function siSdr(ref: Float32Array, est: Float32Array, lag: number): number {
  let best = -Infinity;
  for (let d = lag - 3; d <= lag + 3; d++) {
    let rr = 0;
    let re = 0;
    const from = Math.max(0, -d);
    const n = Math.min(ref.length, est.length - d);
    for (let i = from; i < n; i++) {
      rr += ref[i]! * ref[i]!;
      re += ref[i]! * est[i + d]!;
    }
    const a = re / (rr + 1e-9);
    let s = 0;
    let e = 0;
    for (let i = from; i < n; i++) {
      const t = a * ref[i]!;
      const x = est[i + d]! - t;
      s += t * t;
      e += x * x;
    }
    best = Math.max(best, 10 * Math.log10(s / (e + 1e-9)));
  }
  return best;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      voices: { type: 'string', default: 'en-us,en-f,en-gb' },
      noises: { type: 'string', default: 'none,pink:20,babble:10,white:5' },
      seed: { type: 'string', default: '7' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const r = rng(Number(values.seed));
  const up = await Resampler.create({ inRate: 8000, outRate: 24000, quality: 10 });
  const rows: string[] = [];
  const sums = OPTIONS.map(() => ({ sdr: new Map<string, number[]>(), us: [] as number[], delay: 0 }));
  for (const voice of values.voices.split(',')) {
    const clean = Float32Array.from(
      readWav(new URL(`../../../test/fixtures/audio/caller-${voice}-8k.wav`, import.meta.url).pathname).samples,
    );
    const clean24 = new Float32Array(up.maxOutput(clean.length));
    const n24 = up.process(clean, clean24);
    up.reset();
    for (const spec of values.noises.split(',')) {
      const [kind, snr] = spec.split(':');
      const mix = clean.slice();
      if (kind !== 'none') {
        const nz = noise(kind as NoiseKind, clean.length / 8000 + 0.1, r);
        const g = activeRms(clean) / 1000 / 10 ** (Number(snr) / 20);
        for (let i = 0; i < mix.length; i++) mix[i] = mix[i]! + g * nz[i]!;
      }
      const codes = new Uint8Array(mix.length);
      g711EncodeInto(
        'ulaw',
        Int16Array.from(mix, (v) => Math.max(-32768, Math.min(32767, Math.round(v)))),
        codes,
      );
      for (const [i, o] of OPTIONS.entries()) {
        const { out, delayMs, usPerPacket } = await run(o, codes);
        const ref = o.rate === 8000 ? clean : clean24.subarray(0, n24);
        const sdr = siSdr(ref, out, Math.round((delayMs * o.rate) / 1000) - (o.rate === 24000 ? up.delaySamples : 0));
        const list = sums[i]!.sdr.get(spec) ?? [];
        list.push(sdr);
        sums[i]!.sdr.set(spec, list);
        sums[i]!.us.push(usPerPacket);
        sums[i]!.delay = delayMs;
      }
    }
  }
  up.close();
  const noises = values.noises.split(',');
  const bytes = (o: Option) => {
    // one input_audio_buffer.append per 20 ms: base64 of 160 codes or 960 bytes, in its JSON envelope
    const payload = o.wire === 'g711' ? 160 : 960;
    return 50 * (Math.ceil(payload / 3) * 4 + '{"type":"input_audio_buffer.append","audio":""}'.length);
  };
  rows.push(
    `| option | delay ms | CPU µs / 20 ms packet (median) | to the service, kB/s | ${noises.map((n) => `SI-SDR dB, ${n === 'none' ? 'clean' : n.replace(':', ' @ ') + ' dB'}`).join(' | ')} |`,
    `|---|---:|---:|---:|${noises.map(() => '---:').join('|')}|`,
  );
  for (const [i, o] of OPTIONS.entries()) {
    const s = sums[i]!;
    const med = [...s.us].sort((a, b) => a - b)[Math.floor(s.us.length / 2)]!;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    rows.push(
      `| ${o.name} | ${s.delay.toFixed(1)} | ${med.toFixed(0)} | ${(bytes(o) / 1000).toFixed(1)} | ${noises.map((n) => mean(s.sdr.get(n)!).toFixed(1)).join(' | ')} |`,
    );
  }
  console.log(`voices ${values.voices}; noises ${values.noises}; seed ${values.seed}; SI-SDR averaged over the voices\n`);
  console.log(rows.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
