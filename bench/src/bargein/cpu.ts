import os from 'node:os';
import { loadResamplerModule, readWav } from '../../../codecs/src/index.js';
import { EchoCanceller } from '../../../codecs/src/index.js';
import { SILERO_WARM_MS } from '../../../gateway/src/call/BargeInMonitor.js';
import { LineEcho } from '../../../gateway/src/media/LineEcho.js';
import { SileroModel, SileroStream } from '../../../gateway/src/media/SileroVad.js';
import { g168Path, scaledResponse } from './echoPaths.js';

/**
 * CPU per call of the barge-in parts, on this machine: the echo canceller, alone and with its
 * residual echo suppressor (8 kHz G.711 edges; wider edges with their resamplers to the judge's
 * band, 8 kHz on 16 kHz PCM with the agent's canceller in place at 16 kHz, 16 kHz on Opus with
 * the agent's band split: LineEcho) and Silero VAD (process.cpuUsage(): every thread). 60 s of agent speech through a
 * G.168 D.5 hybrid at 10 dB ERL, 20 ms at a time, back to back (warm caches: a floor); then Silero
 * for 1, 10 and 40 calls in real time, as a gateway runs it (batched; a process that sleeps
 * between chunks pays more per inference). Run under `flock -x /tmp/cpu.lock`.
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
/** crude upsampling by repetition: speech-like input at the edge's rate */
const up = (x: Int16Array, r: number) => Int16Array.from({ length: x.length * r }, (_, i) => x[Math.floor(i / r)]!);
const runEdge = (rate: number) => {
  const r = rate / 8000;
  const f = up(far, r);
  const n = up(near, r);
  const p = rate / 50;
  return () => {
    const e = new LineEcho(speex, rate, rate, 3);
    for (let k = 0; k + p <= f.length; k += p) {
      e.reference((k / rate) * 1000, f.subarray(k, k + p));
      e.process(n.slice(k, k + p), k, (k / rate) * 1000 + 20);
    }
    e.close();
  };
};
for (const [rate, name] of [
  [16000, "echo cancellers, 16 kHz PCM edge (the judge's at 8 kHz + suppressor, the agent's at 16 kHz in place)"],
  [48000, "echo canceller + suppressor, Opus edge (the judge's at 16 kHz, resamplers, the agent's band split)"],
] as const) {
  runEdge(rate)(); // warm-up
  rows.push([name, await cpu(runEdge(rate))]);
}

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

/**
 * `calls` streams in real time, each fed 20 ms at a time on its own drift-free timer at a random
 * phase, as a gateway's calls are: the model runs their chunks in batches. CPU per call with the
 * timers' own cost (the same run with no model) taken off; REAL_SECONDS of wall time. With
 * `turnMs` the agent and the caller take turns of that length, as in a conversation: the model is
 * asked only while the agent is audible, with BargeInMonitor's warm-up (SILERO_WARM_MS) first.
 */
const REAL_SECONDS = 10;
const realTime = async (calls: number, withModel: boolean, turnMs = 0): Promise<number> => {
  const streams = Array.from({ length: calls }, () =>
    withModel ? new SileroStream(model, 8000, () => {}, { warmMs: SILERO_WARM_MS }) : null,
  );
  const t0 = performance.now() + 50;
  const start = process.cpuUsage();
  await Promise.all(
    streams.map(
      (s, i) =>
        new Promise<void>((resolve) => {
          const phase = (20 * i) / calls;
          let k = 0;
          const tick = () => {
            if (k + 160 > near.length || k >= REAL_SECONDS * 8000) {
              resolve();
              return;
            }
            s?.push(near.subarray(k, k + 160), k / 8, turnMs === 0 || Math.floor(k / 8 / turnMs) % 2 === 1);
            k += 160;
            setTimeout(tick, Math.max(0, t0 + phase + k / 8 - performance.now()));
          };
          setTimeout(tick, Math.max(0, t0 + phase - performance.now()));
        }),
    ),
  );
  await Promise.all(streams.flatMap((s) => (s === null ? [] : [s.settled()])));
  streams.forEach((s) => s?.close());
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};
for (const [calls, turnMs] of [
  [1, 0],
  [10, 0],
  [40, 0],
  [1, 5000],
  [10, 5000],
] as const) {
  const b0 = model.batches;
  const ms = (await realTime(calls, true, turnMs)) - (await realTime(calls, false));
  const b1 = model.batches;
  const pct = (100 * ms) / (REAL_SECONDS * 1000 * calls);
  const turns = turnMs === 0 ? 'the agent talking all the time' : `the caller and the agent taking ${turnMs / 1000} s turns`;
  rows.push([
    `Silero VAD v5, 8 kHz, ${calls} call${calls > 1 ? 's' : ''} in real time, ${turns} (${((b1.rows - b0.rows) / Math.max(1, b1.runs - b0.runs)).toFixed(1)} chunks per inference)`,
    { pct, usPerFrame: (pct / 100) * 20_000 },
  ]);
}

console.log(`${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${SECONDS} s of audio per row\n`);
console.log('| part | CPU µs per 20 ms | % of one core per call |\n|---|---:|---:|');
for (const [name, r] of rows) console.log(`| ${name} | ${r.usPerFrame.toFixed(1)} | ${r.pct.toFixed(2)} |`);
process.exit(0);
