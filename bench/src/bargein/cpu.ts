import os from 'node:os';
import { loadResamplerModule, readWav } from '../../../codecs/src/index.js';
import { EchoCanceller } from '../../../codecs/src/index.js';
import { LineEcho } from '../../../gateway/src/media/LineEcho.js';
import { SileroModel, SileroStream } from '../../../gateway/src/media/SileroVad.js';
import { g168Path, scaledResponse } from './echoPaths.js';

/**
 * CPU per call of the barge-in parts, on this machine: the echo canceller, alone and with its
 * residual echo suppressor (8 kHz G.711 edges, and the 16 kHz band of an Opus edge with its two
 * resamplers) and Silero VAD (one stream; its inference runs on onnxruntime's threads, which
 * process.cpuUsage() counts). 60 s of agent speech through a G.168 D.5 hybrid at 10 dB ERL,
 * 20 ms at a time. Run under `flock -x /tmp/cpu.lock`.
 * `node --import tsx bench/src/bargein/cpu.ts`
 */
const SECONDS = 60;
const dir = new URL('../../../test/fixtures/audio/bargein/', import.meta.url).pathname;
const speech8 = Float32Array.from(readWav(`${dir}agent-1.wav`).samples);
const far8 = new Float32Array(SECONDS * 8000);
for (let i = 0; i < far8.length; i++) far8[i] = speech8[i % speech8.length]!;
const h = scaledResponse(speech8, { kind: 'g168', name: 'D5', h: g168Path('D5'), delayMs: 100, erlDb: 10 });
const near8 = new Float32Array(far8.length);
for (let n = 800; n < far8.length; n++) {
  let a = 0;
  for (let k = 0; k < h.length && k <= n - 800; k++) a += h[k]! * far8[n - 800 - k]!;
  near8[n] = a;
}
const i16 = (x: Float32Array) => Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
const far = i16(far8);
const near = i16(near8);

/** CPU ms (all threads) spent in `f`, as % of one core for the SECONDS of audio. */
async function cpu(f: () => Promise<void> | void): Promise<{ pct: number; usPerFrame: number }> {
  const t0 = process.cpuUsage();
  await f();
  const d = process.cpuUsage(t0);
  const ms = (d.user + d.system) / 1000;
  return { pct: (100 * ms) / (SECONDS * 1000), usPerFrame: (1000 * ms) / (SECONDS * 50) };
}

const rows: [string, { pct: number; usPerFrame: number }][] = [];
const run8 = (suppress: boolean) => () => {
  const aec = new EchoCanceller({ rate: 8000, suppress });
  const out = new Int16Array(160);
  const judged = new Int16Array(160);
  for (let k = 0; k + 160 <= far.length; k += 160) {
    aec.playRef(far.subarray(k, k + 160), k);
    aec.process(near.subarray(k, k + 160), k, out);
    if (suppress) aec.suppressed(aec.suppressedEnd(k + 160) - 160, judged);
  }
};
run8(false)(); // warm-up (JIT)
run8(true)();
rows.push(['echo canceller, G.711 edge (8 kHz, 64 ms tail)', await cpu(run8(false))]);
rows.push(['echo canceller + residual echo suppressor, G.711 edge (what a call runs)', await cpu(run8(true))]);

const speex = await loadResamplerModule();
const up = (x: Int16Array) => Int16Array.from({ length: x.length * 6 }, (_, i) => x[Math.floor(i / 6)]!); // crude 48 kHz
const far48 = up(far);
const near48 = up(near);
const run16 = () => {
  const e = new LineEcho(speex, 48000, 48000, 3);
  for (let k = 0; k + 960 <= far48.length; k += 960) {
    e.reference((k / 48000) * 1000, far48.subarray(k, k + 960));
    e.process(near48.slice(k, k + 960), k, (k / 48000) * 1000 + 20);
  }
  e.close();
};
run16();
rows.push(['echo canceller + suppressor, Opus edge (16 kHz band, resamplers included)', await cpu(run16)]);

const model = await SileroModel.load();
if (model === null) throw new Error('Silero VAD did not load');
const runVad = async () => {
  const s = new SileroStream(model, 8000, () => {});
  for (let k = 0; k + 160 <= near.length; k += 160) {
    s.push(near.subarray(k, k + 160), k / 8);
    await s.settled();
  }
  s.close();
};
await runVad();
rows.push(['Silero VAD v5, 8 kHz (32 ms chunks)', await cpu(runVad)]);

console.log(`${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${SECONDS} s of audio per row\n`);
console.log('| part | CPU µs per 20 ms | % of one core per call |\n|---|---:|---:|');
for (const [name, r] of rows) console.log(`| ${name} | ${r.usPerFrame.toFixed(1)} | ${r.pct.toFixed(2)} |`);
process.exit(0);
