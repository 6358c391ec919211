import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import {
  createRtpPacket,
  Denoiser,
  g711DecodeInto,
  g711EncodeInto,
  loadDenoiserModule,
  loadResamplerModule,
  OpusDecoder,
  OpusEncoder,
  Resampler,
  tryParseRtp,
  writeRtp,
  writeRtpFixedHeader,
  readWav,
} from '../../../codecs/src/index.js';
import { InboundDsp } from '../../../gateway/src/media/InboundDsp.js';
import type { Edge } from '../../../gateway/src/edge/Edge.js';
import { RtpFraming } from '../../../gateway/src/edge/RtpFraming.js';
import { Playout } from '../../../gateway/src/media/Playout.js';

/**
 * Micro-benchmarks: cost per 20 ms of audio (one packet) of each codec and DSP stage, with
 * percentiles and heap growth per 10k packets, and the npm builds of RNNoise and the speex
 * resampler side by side in the same run. `npm run bench:micro`.
 */
const N = 10_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

interface Row {
  name: string;
  group: string;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  /** heap growth over the N timed ops, KiB (gc before; none forced during) */
  heapKiB: number;
  /** garbage collections during the N timed ops */
  gcs: number;
}

let gcCount = 0;
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

function bench(group: string, name: string, op: (i: number) => void): Row {
  for (let i = 0; i < 3000; i++) op(i); // warm up: let the JIT tier up so its code is not counted as heap growth
  // Pass 1, untimed: heap growth and GCs of the op alone (timing calls allocate themselves).
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const gc0 = gcCount;
  for (let i = 0; i < N; i++) op(i);
  const heap1 = process.memoryUsage().heapUsed;
  const gcs = gcCount - gc0;
  // Pass 2: per-op times.
  const t = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const a = performance.now();
    op(i);
    t[i] = performance.now() - a;
  }
  t.sort();
  const mean = t.reduce((x, y) => x + y, 0) / N;
  return {
    group,
    name,
    meanUs: 1000 * mean,
    p50Us: 1000 * t[N >> 1]!,
    p99Us: 1000 * t[Math.floor(N * 0.99)]!,
    heapKiB: (heap1 - heap0) / 1024,
    gcs,
  };
}

async function main(): Promise<void> {
  const speech8k = readWav(new URL('../../../test/fixtures/audio/caller-en-us-8k.wav', import.meta.url).pathname).samples;
  const frames8k = Math.floor(speech8k.length / 160);
  const frame8 = (i: number) => speech8k.subarray((i % frames8k) * 160, (i % frames8k) * 160 + 160);
  const rows: Row[] = [];

  // ---- RTP -------------------------------------------------------------------------------
  const pkt = new Uint8Array(172);
  writeRtp(pkt, 0, { marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 2, ssrc: 3 }, new Uint8Array(160));
  const parsed = createRtpPacket();
  rows.push(bench('rtp', 'parse (view, no copy)', () => void tryParseRtp(pkt, parsed)));
  rows.push(bench('rtp', 'write fixed header', (i) => writeRtpFixedHeader(pkt, 0, false, 0, i & 0xffff, i * 160, 3)));

  // ---- G.711 -----------------------------------------------------------------------------
  const codes = new Uint8Array(160);
  const pcm160 = new Int16Array(160);
  rows.push(bench('g711', 'µ-law encode 160', (i) => void g711EncodeInto('ulaw', frame8(i), codes)));
  rows.push(bench('g711', 'µ-law decode 160', () => void g711DecodeInto('ulaw', codes, pcm160)));
  rows.push(bench('g711', 'A-law encode 160', (i) => void g711EncodeInto('alaw', frame8(i), codes)));

  // ---- Opus ------------------------------------------------------------------------------
  const up = await Resampler.create({ inRate: 8000, outRate: 48000, quality: 5 });
  const s48f = new Float32Array(up.maxOutput(speech8k.length));
  const n48 = up.process(Float32Array.from(speech8k), s48f);
  up.close();
  const s48 = Int16Array.from(s48f.subarray(0, n48 - (n48 % 960)), (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
  const frames48 = s48.length / 960;
  const enc = new OpusEncoder();
  const opusPackets = Array.from({ length: frames48 }, (_, k) => enc.encode(s48.subarray(k * 960, k * 960 + 960)));
  const dec = new OpusDecoder();
  const out960 = new Int16Array(5760);
  const enc10 = new OpusEncoder({ complexity: 10 });
  rows.push(
    bench(
      'opus',
      'encode 20 ms @48k, 32 kbit/s, complexity 5 (gateway)',
      (i) => void enc.encode(s48.subarray((i % frames48) * 960, (i % frames48) * 960 + 960)),
    ),
  );
  rows.push(
    bench(
      'opus',
      'encode, complexity 10 (libopus default)',
      (i) => void enc10.encode(s48.subarray((i % frames48) * 960, (i % frames48) * 960 + 960)),
    ),
  );
  rows.push(bench('opus', 'decode 20 ms', (i) => void dec.decode(opusPackets[i % frames48]!, out960)));
  rows.push(
    bench('opus', 'conceal 20 ms (PLC)', (i) =>
      i % 6 === 5 ? void dec.decode(opusPackets[i % frames48]!, out960) : void dec.conceal(out960),
    ),
  );

  // ---- Resamplers: echogarden SIMD vs non-SIMD vs speex-resampler (npm), same quality ---------
  const simd = await loadResamplerModule('simd');
  const plain = await loadResamplerModule('nonsimd');
  // CommonJS package: its class is the `default` export of the CJS module object.
  const { default: SpeexResamplerNpm } = ((await import('speex-resampler')) as unknown as { default: { default: unknown } }).default as {
    default: {
      initPromise: Promise<unknown>;
      new (ch: number, inRate: number, outRate: number, q: number): { processChunk(b: Buffer): Buffer };
    };
  };
  await SpeexResamplerNpm.initPromise;
  for (const [inRate, outRate] of [
    [8000, 48000],
    [48000, 24000],
    [24000, 8000],
  ] as const) {
    const inN = inRate / 50;
    const input = new Float32Array(inN).map((_, i) => 8000 * Math.sin(i / 3));
    const output = new Float32Array(outRate / 50 + 16);
    for (const q of [3, 5]) {
      const a = new Resampler(simd, { inRate, outRate, quality: q });
      const b = new Resampler(plain, { inRate, outRate, quality: q });
      const c = new SpeexResamplerNpm(1, inRate, outRate, q);
      const buf = Buffer.from(new Int16Array(inN).map((_, i) => 8000 * Math.sin(i / 3)).buffer);
      const g = `resample ${inRate / 1000}k→${outRate / 1000}k Q${q}`;
      rows.push(bench(g, '@echogarden/speex-resampler-wasm SIMD', () => void a.process(input, output)));
      rows.push(bench(g, '@echogarden/speex-resampler-wasm', () => void b.process(input, output)));
      rows.push(bench(g, 'speex-resampler (npm)', () => void c.processChunk(buf)));
      a.close();
      b.close();
    }
  }

  // ---- RNNoise: echogarden vs jitsi, 2 frames = 20 ms ------------------------------------
  const noisy = new Float32Array(960 * 50).map((_, i) => s48[i % s48.length]! + 2000 * (Math.random() - 0.5));
  const clean = new Float32Array(960);
  const den = new Denoiser(await loadDenoiserModule());
  rows.push(
    bench(
      'rnnoise 20 ms (2 × 480)',
      '@echogarden/rnnoise-wasm',
      (i) => void den.process(noisy.subarray((i % 50) * 960, (i % 50) * 960 + 960), clean),
    ),
  );
  den.close();
  const jitsiDir = new URL('../../../node_modules/@jitsi/rnnoise-wasm/dist/', import.meta.url).pathname;
  const jitsi = (await import(`${jitsiDir}rnnoise.js`)) as {
    default: (o: object) => Promise<{
      HEAPF32: Float32Array;
      _malloc(n: number): number;
      _rnnoise_create(m: number): number;
      _rnnoise_process_frame(s: number, o: number, i: number): number;
    }>;
  };
  const jm = await jitsi.default({ wasmBinary: readFileSync(`${jitsiDir}rnnoise.wasm`) });
  const jst = jm._rnnoise_create(0);
  const jin = jm._malloc(480 * 4);
  const jout = jm._malloc(480 * 4);
  rows.push(
    bench('rnnoise 20 ms (2 × 480)', '@jitsi/rnnoise-wasm', (i) => {
      for (let f = 0; f < 2; f++) {
        const off = (i % 50) * 960 + f * 480;
        jm.HEAPF32.set(noisy.subarray(off, off + 480), jin >> 2);
        jm._rnnoise_process_frame(jst, jout, jin);
        clean.set(jm.HEAPF32.subarray(jout >> 2, (jout >> 2) + 480), f * 480);
      }
    }),
  );

  // ---- Whole per-call chains -----------------------------------------------------------
  const mods = { speex: simd, rnnoise: await loadDenoiserModule() };
  for (const q of [3, 5]) {
    const dsp = new InboundDsp(mods, { inRate: 8000, outRate: 24000, denoise: true, quality: q }, () => {});
    const decoded = new Int16Array(160);
    rows.push(
      bench('inbound chain per packet', `PCMU → 48k → RNNoise → 24k, Q${q}`, (i) => {
        g711DecodeInto('ulaw', codes, decoded);
        dsp.push(frame8(i), 0);
      }),
    );
    dsp.close();
  }
  // The outbound chain up to the RTP packet, with the RTP edges' own framing.
  const rtp = new RtpFraming({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101 }, { rtpPacketsPerSecond: 150 });
  const edge: Edge = {
    kind: 'bench',
    playback: 'clocked',
    leadMs: 0,
    attach: () => {},
    send: (f) => rtp.packetize(f).length > 0,
    mark: () => {},
    clear: () => {},
    close: () => {},
  };
  const playout = new Playout(simd, { codec: 'PCMU', agentRate: 24000, maxSeconds: 60, quality: 3 }, edge, {
    mark: () => {},
    overflow: () => {},
    underrun: () => {},
    started: () => {},
    reference: () => {},
  });
  const agentChunk = new Uint8Array(960 * 50);
  rows.push(
    bench('outbound chain per packet', 'agent 24k → 8k → PCMU → RTP (tick)', (i) => {
      if (i % 50 === 0) playout.enqueue(agentChunk, 0);
      playout.tick(i * 20, 1);
    }),
  );
  playout.close();

  // ---- report ----------------------------------------------------------------------------
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${cpu}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
  const lines = [
    `Machine: ${machine}`,
    `Date: ${new Date().toISOString()}`,
    `N = ${N} ops per row (one op = one 20 ms packet); heap = growth over the N ops after a full GC`,
    '',
  ];
  lines.push(
    '| group | implementation | mean µs | p50 µs | p99 µs | ratio to first in group | heap KiB / 10k | GCs |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  );
  const firstOf = new Map<string, number>();
  for (const r of rows) {
    if (!firstOf.has(r.group)) firstOf.set(r.group, r.meanUs);
    const ratio = r.meanUs / firstOf.get(r.group)!;
    lines.push(
      `| ${r.group} | ${r.name} | ${r.meanUs.toFixed(2)} | ${r.p50Us.toFixed(2)} | ${r.p99Us.toFixed(2)} | ${ratio.toFixed(2)}× | ${r.heapKiB.toFixed(0)} | ${r.gcs} |`,
    );
  }
  console.log(lines.join('\n'));
  const dir = new URL('../../results/', import.meta.url).pathname;
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}micro.json`, JSON.stringify({ machine, date: new Date().toISOString(), n: N, rows }, null, 2));
}

void main();
