import os from 'node:os';
import { loadResamplerModule, readWav } from '../../../codecs/src/index.js';
import { EchoCanceller } from '../../../codecs/src/index.js';
import { BargeInMonitor, SILERO_WARM_MS } from '../../../gateway/src/call/BargeInMonitor.js';
import { DEFAULT_BARGE_IN } from '../../../gateway/src/media/BargeIn.js';
import { LineEcho } from '../../../gateway/src/media/LineEcho.js';
import { SileroModel } from '../../../gateway/src/media/SileroModel.js';
import { SileroStream } from '../../../gateway/src/media/SileroVad.js';
import { Metrics } from '../../../gateway/src/metrics.js';
import { g168Path, scaledResponse } from './echoPaths.js';
import { activeRms, noise, rng } from './signals.js';

/**
 * CPU per call of the barge-in parts, on this machine: the echo canceller, alone and with its
 * residual echo suppressor (8 kHz G.711 edges; wider edges with their resamplers to the judge's
 * band, 8 kHz on 16 kHz PCM with the agent's canceller in place at 16 kHz, 16 kHz on Opus with
 * the agent's band split: LineEcho) and Silero VAD (process.cpuUsage(): every thread). 60 s of agent speech through a
 * G.168 D.5 hybrid at 10 dB ERL, 20 ms at a time, back to back (warm caches: a floor); then Silero
 * for 1, 10 and 40 calls in real time, as a gateway runs it (batched; a process that sleeps
 * between chunks pays more per inference), and in calls' barge-in monitors, which ask for it only
 * where it may change a decision. Run under `flock -x /tmp/cpu.lock`.
 * `node --import tsx bench/src/bargein/cpu.ts`
 */
const SECONDS = 60;
const dir = new URL('../../../test/fixtures/audio/bargein/', import.meta.url).pathname;
const speech8 = Float32Array.from(readWav(`${dir}agent-1.wav`).samples);
const far8 = new Float32Array(SECONDS * 8000);
for (let i = 0; i < far8.length; i++) far8[i] = speech8[i % speech8.length]!;
const h = scaledResponse(speech8, { kind: 'g168', name: 'D5', h: g168Path('D5'), delayMs: 100, erlDb: 10 });
/** `x`'s echo through `h`, 100 ms (800 samples) late */
const echoOf = (x: Float32Array): Float32Array => {
  const y = new Float32Array(x.length);
  for (let n = 800; n < x.length; n++) {
    let a = 0;
    for (let k = 0; k < h.length && k <= n - 800; k++) a += h[k]! * x[n - 800 - k]!;
    y[n] = a;
  }
  return y;
};
const near8 = echoOf(far8);
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
/** `calls` drift-free 20 ms clocks at phases spread over 20 ms, `frames` ticks each: `tick(call, frame)`. */
const clocked = async (calls: number, frames: number, tick: (i: number, k: number) => void): Promise<void> => {
  const t0 = performance.now() + 50;
  await Promise.all(
    Array.from(
      { length: calls },
      (_, i) =>
        new Promise<void>((resolve) => {
          const phase = (20 * i) / calls;
          let k = 0;
          const next = () => {
            if (k >= frames) {
              resolve();
              return;
            }
            tick(i, k++);
            setTimeout(next, Math.max(0, t0 + phase + 20 * k - performance.now()));
          };
          setTimeout(next, Math.max(0, t0 + phase - performance.now()));
        }),
    ),
  );
};
const realTime = async (calls: number, withModel: boolean, turnMs = 0): Promise<number> => {
  const streams = Array.from({ length: calls }, () =>
    withModel ? new SileroStream(model, 8000, () => {}, { warmMs: SILERO_WARM_MS }) : null,
  );
  const start = process.cpuUsage();
  await clocked(calls, Math.min(Math.floor(near.length / 160), REAL_SECONDS * 50), (i, k) => {
    const ms = k * 20;
    streams[i]?.push(near.subarray(k * 160, (k + 1) * 160), ms, turnMs === 0 || Math.floor(ms / turnMs) % 2 === 1);
  });
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

/**
 * Calls' barge-in monitors in real time, as calls run them: what Silero adds to them (the same
 * run with the model off taken off), with the chunks it defers (the caller too quiet to be
 * speaking: InterruptionDetector.maySpeak) counted. The line, worked out first
 * through the call's echo canceller (LineEcho): the agent's speech echoed as above, a phone's noise
 * floor (pink, -60 dBFS), and with `bed` babble 10 dB under the caller's level; with `turnMs` the
 * caller talks while the agent is silent, from the start, in turns of that length.
 */
interface Line {
  far: Int16Array[];
  residual: Int16Array[];
  line: Int16Array[];
  atMs: number[];
  lineAtMs: number[];
  /** the echo path as the gateway reports it after each frame (LineEcho `reportPath`), or null when it does not */
  path: (Parameters<BargeInMonitor['echoPath']> | null)[];
  audible: boolean[];
}
const lineOf = (turnMs: number, bed: boolean): Line => {
  const frames = (REAL_SECONDS * 1000) / 20;
  const caller = Float32Array.from(readWav(`${dir}interrupt-1-a.wav`).samples);
  const callerRms = activeRms(caller);
  const floor = noise('pink', REAL_SECONDS + 1, rng(1));
  const babble = bed ? noise('babble', REAL_SECONDS + 1, rng(2)) : null;
  const agentOn = (k: number) => turnMs === 0 || Math.floor((k * 20) / turnMs) % 2 === 1;
  const farAll = new Float32Array(frames * 160);
  for (let n = 0; n < farAll.length; n++) farAll[n] = agentOn(Math.floor(n / 160)) ? far8[n]! : 0;
  const echoed = echoOf(farAll);
  const echo = new LineEcho(speex, 8000, 8000, 3);
  const l: Line = { far: [], residual: [], line: [], atMs: [], lineAtMs: [], path: [], audible: [] };
  for (let k = 0; k < frames; k++) {
    const f = i16(farAll.subarray(k * 160, (k + 1) * 160));
    const mic = new Float32Array(160);
    for (let i = 0; i < 160; i++) {
      const n = k * 160 + i;
      // noise() is at RMS 1000
      let v = (floor[n]! / 1000) * 32768 * 10 ** (-60 / 20) + echoed[n]!;
      if (babble) v += (babble[n]! / 1000) * callerRms * 10 ** (-10 / 20);
      if (turnMs > 0 && !agentOn(k)) v += caller[n % caller.length] ?? 0;
      mic[i] = v;
    }
    echo.reference(k * 20, f);
    const pcm = i16(mic);
    echo.process(pcm, k * 160, k * 20 + 20);
    let path: Line['path'][number] = null;
    echo.reportPath(0, { echoPath: (...p) => (path = p) });
    l.far.push(f);
    l.residual.push(echo.residual.slice());
    l.line.push(echo.line.slice());
    l.atMs.push(echo.atMs);
    l.lineAtMs.push(echo.lineAtMs);
    l.path.push(path);
    l.audible.push(agentOn(k));
  }
  echo.close();
  return l;
};
/** CPU ms of `calls` calls' monitors over `l` in real time (`clocked`), and the chunks they deferred. */
const monitorRun = async (l: Line, withModel: boolean, calls: number): Promise<{ ms: number; deferred: number }> => {
  const events = { speech: () => {}, bargeIn: () => {}, duck: () => {} };
  const monitors = Array.from(
    { length: calls },
    () => new BargeInMonitor({ ...DEFAULT_BARGE_IN, silero: withModel }, model, 'PCMU', new Metrics(), events),
  );
  const start = process.cpuUsage();
  await clocked(calls, l.far.length, (i, k) => {
    const m = monitors[i]!;
    m.reference(k * 20, l.far[k]!);
    const p = l.path[k];
    if (p) m.echoPath(...p);
    m.cancelled(l.residual[k]!, l.line[k]!, 8000, l.atMs[k]!, l.audible[k]!, 0, l.lineAtMs[k]);
  });
  await Promise.all(monitors.map((m) => m.settled()));
  const d = process.cpuUsage(start);
  monitors.forEach((m) => m.close());
  return { ms: (d.user + d.system) / 1000, deferred: monitors.reduce((n, m) => n + m.vadChunksDeferred, 0) };
};
for (const [calls, turnMs, bed, what] of [
  [1, 0, false, 'the agent talking all the time, the caller silent'],
  [1, 0, true, 'the agent talking all the time, the caller silent over babble'],
  [1, 5000, false, 'the caller and the agent taking 5 s turns'],
  [10, 0, false, 'the agent talking all the time, the caller silent'],
  [40, 0, false, 'the agent talking all the time, the caller silent'],
] as const) {
  const l = lineOf(turnMs, bed);
  // a timer-driven run's own CPU varies by ±0.4 % of a core over 10 s: three pairs, the median
  const pairs: number[] = [];
  let on = { ms: 0, deferred: 0 };
  const b0 = model.batches;
  for (let r = 0; r < 3; r++) {
    on = await monitorRun(l, true, calls);
    pairs.push(on.ms - (await monitorRun(l, false, calls)).ms);
  }
  const b1 = model.batches;
  const ms = pairs.sort((a, b) => a - b)[1]!;
  const pct = (100 * ms) / (REAL_SECONDS * 1000 * calls);
  const chunks = calls * Math.floor((REAL_SECONDS * 8000) / 256);
  rows.push([
    `Silero VAD v5 in the barge-in monitor, ${calls} call${calls > 1 ? 's' : ''} in real time, ${what} (${Math.round((b1.rows - b0.rows) / 3)} of ${chunks} chunks inferred, ${on.deferred} deferred, ${((b1.rows - b0.rows) / Math.max(1, b1.runs - b0.runs)).toFixed(1)} per inference; median of 3)`,
    { pct, usPerFrame: (pct / 100) * 20_000 },
  ]);
}

console.log(`${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${SECONDS} s of audio per row\n`);
console.log('| part | CPU µs per 20 ms | % of one core per call |\n|---|---:|---:|');
for (const [name, r] of rows) console.log(`| ${name} | ${r.usPerFrame.toFixed(1)} | ${r.pct.toFixed(2)} |`);
process.exit(0);
