import { parseArgs } from 'node:util';
import { loadDenoiserModule, loadResamplerModule } from '../../../codecs/src/index.js';
import { FrameFlags } from '../../../gateway/src/media/dspProtocol.js';
import { InboundDsp } from '../../../gateway/src/media/InboundDsp.js';
import { throughPcmu } from '../denoise/chains.js';
import { mixture, NOISES, speechSet, type Mixture, type Noise } from '../denoise/mixtures.js';
import { to8k } from '../denoise/offline.js';
import { measure } from '../denoise/quality.js';
import { AUTO_MARGIN_DB, cellKey, median } from '../denoise/report.js';

/**
 * `denoise: "auto"` against `false` and `true` on the denoise benchmark's mixtures, without a
 * gateway: each mixture goes through G.711 µ-law in 20 ms packets into the real inbound chain
 * (InboundDsp: WASM resamplers, RNNoise, the auto decision) in this thread, as fast as it runs,
 * and is measured like `npm run bench:denoise` measures (SI-SDR at 8 kHz against the clean
 * speech). Prints per cell the SI-SDR of each mode, auto − max(on, off), and what auto did: when
 * it first decided, the share of frames RNNoise shaped, its switches and its estimates.
 *
 *   node --import tsx bench/src/micro/autoDenoise.ts [--set tune|heldout] [--noises …] [--snrs …]
 *
 * Tune on `--set tune` (the caller fixtures, noise seed 1); the held-out set (noise seed 2) is
 * only for reporting, and its figure of record is the gateway run (`npm run bench:denoise`).
 * The result does not depend on timing: run it under `flock -s /tmp/cpu.lock`.
 */
const { values: v } = parseArgs({
  options: {
    set: { type: 'string', default: 'tune' },
    seed: { type: 'string' },
    noises: { type: 'string', default: NOISES.join(',') },
    snrs: { type: 'string', default: '0,5,10,20' },
    modes: { type: 'string', default: 'off,on,auto' },
    trace: { type: 'boolean', default: false },
  },
});

type Mode = 'off' | 'on' | 'auto';
const ROUTE: Record<Mode, boolean | 'auto'> = { off: false, on: true, auto: 'auto' };

interface Run {
  sdr: number;
  /** frames RNNoise shaped, share */
  rnnShare: number;
  /** ms of caller audio at the first decision, and at each change of what runs */
  decidedAtMs: number;
  changes: number[];
  snrDb: number;
}

const speex = await loadResamplerModule();
const mods = { speex, rnnoise: await loadDenoiserModule() };

/** CPU time of the chain alone (decode to 24 kHz frames, measuring excluded), µs, per ms of audio */
const cpu: Record<Mode, { us: number; ms: number }> = { off: { us: 0, ms: 0 }, on: { us: 0, ms: 0 }, auto: { us: 0, ms: 0 } };
const cleanCpu: Record<Mode, { us: number; ms: number }> = { off: { us: 0, ms: 0 }, on: { us: 0, ms: 0 }, auto: { us: 0, ms: 0 } };

function runChain(m: Mixture, mode: Mode): Run {
  const out: Int16Array[] = [];
  const changes: number[] = [];
  let decidedAtMs = NaN;
  let rnnFrames = 0;
  let last = -1;
  const dsp: InboundDsp = new InboundDsp(mods, { inRate: 8000, outRate: 24000, denoise: ROUTE[mode], quality: 3 }, (frame) => {
    out.push(frame.slice());
    const f = dsp.flags;
    const atMs = 20 * out.length;
    if (Number.isNaN(decidedAtMs) && (f & FrameFlags.decided) !== 0) decidedAtMs = atMs;
    const on = (f & FrameFlags.denoised) !== 0 ? 1 : 0;
    rnnFrames += on;
    if (on !== last && last !== -1) changes.push(atMs);
    last = on;
  });
  const packets = throughPcmu(m.noisy).map((p) => Int16Array.from(p, (x) => Math.max(-32768, Math.min(32767, Math.round(x)))));
  const c0 = process.cpuUsage();
  for (const pcm of packets) dsp.push(pcm, 0);
  const c = process.cpuUsage(c0);
  cpu[mode].us += c.user + c.system;
  cpu[mode].ms += 20 * packets.length;
  const snrDb = dsp.snrDb;
  dsp.close();
  const y = new Float32Array(480 * out.length);
  out.forEach((f, i) => y.set(f, 480 * i));
  const q = measure(m, to8k(speex, y), 80);
  return { sdr: q.siSdrDb, rnnShare: rnnFrames / Math.max(1, out.length), decidedAtMs, changes, snrDb };
}

const set = v.set as 'tune' | 'heldout';
const seed = Number(v.seed ?? (set === 'tune' ? 1 : 2));
const modes = v.modes.split(',') as Mode[];
const voices = speechSet(set);
console.log(`set ${set}, noise seed ${seed}: ${voices.map((s) => s.name).join(', ')}; offline (G.711 → InboundDsp → 8 kHz)\n`);
console.log(
  '| noise | SNR | SI-SDR off / on / auto | auto − max(on, off) | ok | auto: first decision ms | RNNoise frames % | changes at ms | estimated SNR dB |',
);
console.log('|---|---:|---|---:|:---:|---:|---:|---|---:|');
let ok = 0;
let judged = 0;
const gaps: number[] = [];
/** auto's SNR estimate at the end of each noisy call less the mixture's input SNR, dB */
const errors: number[] = [];
for (const noise of v.noises.split(',') as Noise[]) {
  for (const snr of noise === 'none' ? [NaN] : v.snrs.split(',').map(Number)) {
    const runs: Partial<Record<Mode, Run[]>> = {};
    for (const [i, s] of voices.entries()) {
      const m = mixture(s, noise, snr, seed * 1000 + i);
      for (const mode of modes) {
        const before = { ...cpu[mode] };
        (runs[mode] ??= []).push(runChain(m, mode));
        if (noise === 'none') {
          cleanCpu[mode].us += cpu[mode].us - before.us;
          cleanCpu[mode].ms += cpu[mode].ms - before.ms;
        }
      }
    }
    const sdr = (mode: Mode) => median((runs[mode] ?? []).map((r) => r.sdr));
    const gap = sdr('auto') - Math.max(sdr('on'), sdr('off'));
    const a = runs.auto ?? [];
    const pass = gap >= -AUTO_MARGIN_DB;
    if (Number.isFinite(gap)) {
      judged++;
      ok += pass ? 1 : 0;
      gaps.push(gap);
    }
    if (noise !== 'none') for (const r of a) errors.push(r.snrDb - snr);
    const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
    console.log(
      `| ${cellKey(noise, snr)} | ${noise === 'none' ? '—' : snr} | ${modes.map((mm) => f1(sdr(mm))).join(' / ')} | ${f1(gap)} | ${Number.isFinite(gap) ? (pass ? '✓' : '✗') : ''} | ` +
        `${a.map((r) => r.decidedAtMs).join(' ')} | ${a.map((r) => (100 * r.rnnShare).toFixed(0)).join(' ')} | ${a.map((r) => r.changes.join(',') || '–').join(' · ')} | ${a.map((r) => f1(r.snrDb)).join(' ')} |`,
    );
  }
}
console.log(`\nauto within ${AUTO_MARGIN_DB} dB of the better mode in ${ok}/${judged} cells; worst gap ${f(Math.min(...gaps))} dB`);
const abs = errors.map(Math.abs).sort((x, y) => x - y);
console.log(
  `SNR estimate − input SNR (end of call, ${errors.length} noisy calls): median ${f(median(errors))} dB, ` +
    `|error| median ${f(median(abs))}, 90th percentile ${f(abs[Math.floor(0.9 * (abs.length - 1))] ?? NaN)}, max ${f(abs.at(-1) ?? NaN)} dB`,
);

// % of a core per call: µs of CPU per ms of audio / 10. Single thread, no gateway: only the chain.
const pct = (t: { us: number; ms: number }) => (t.ms > 0 ? (t.us / t.ms / 10).toFixed(2) : '—');
console.log(
  `inbound chain CPU, % of a core per call (this thread; run under flock -x /tmp/cpu.lock): ` +
    modes.map((m) => `${m} ${pct(cpu[m])} (clean calls ${pct(cleanCpu[m])})`).join(', '),
);

function f(x: number): string {
  return x.toFixed(1);
}
