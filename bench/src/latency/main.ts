import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import { g711DecodeInto, readWav, type PcmAudio } from '../../../codecs/src/index.js';
import { RtpCaller, sleep, type Transport } from '../../../testkit/RtpCaller.js';
import { benchAgent, type BenchAgent, type BenchSession } from './agents.js';
import { bucketPercentile, GatewayProcess, scrape, scrapeBuckets } from '../../../testkit/GatewayProcess.js';
import { writeHtmlReport } from './report.js';
import { CpuHog, mixAtSnr, pinkNoise, pinSelf } from './load.js';

/**
 * The latency benchmark: N concurrent real-time calls through a gateway, each with its own
 * packet phase, committed speech in, a native test agent replying; per-hop latency from packet
 * timestamps, the audio's own delay from cross-correlation, clear-to-silence on the wire.
 */
const HELP = `usage: npm run bench -- [options]
  --calls 1,25,50,100   load levels (concurrent calls)
  --seconds 10          duration of each level
  --agent-dialect native
                        who answers: native (the test agent) and/or AI service dialects dialled
                        directly through their stand-ins (openai-realtime, gemini-live, elevenlabs,
                        deepgram, ultravox); several, comma-separated, run side by side
  --transport udp       how calls arrive: udp (RTP over UDP), ws (RTP over WebSocket), sip (a SIP
                        INVITE, then RTP), twilio (the Twilio Media Streams edge: webhook, then JSON
                        media); several, comma-separated, run side by side at each level
  --gateway URL         measure a running gateway instead of starting one
  --workers N           DSP worker threads of the started gateway (default: one per core)
  --quality Q           speex resampler quality of the started gateway (default 3)
  --sweep               after the levels, find the most calls with inbound p99 <= 25 ms
  --compare 1,50        RTP-over-WebSocket levels run twice, on the uWS edge server and on a \`ws\`
                        server in the same gateway process (same pipeline), reported as ratios;
                        'none' skips (needs a gateway started by the bench)
  --out DIR             where results.json and report.html go (default bench/results)
  --pin-gateway CPUS    run the started gateway on these cores only (taskset -c, e.g. 0)
  --pin-load CPUS       run this process (the calls' load and the agent) on these cores (e.g. 1)
  --hog N               a CPU hog of N busy threads runs during each level (after the calls are up)
  --hog-cpus CPUS       the cores the hog is pinned to (default: the gateway's, else any)
  --overload            during each level, try a new call every 500 ms (refused ones are counted;
                        accepted ones stream too, but are not in the figures)
  --denoise on|off|auto the route's denoise (default: the gateway's default)
  --noisy PCT           this share of the calls carries pink noise at 5 dB SNR (the rest clean)
  --gateway-dir DIR     start the build of another checkout (e.g. an older commit, for before/after)
  --env K=V,K=V         extra environment of the started gateway (e.g. ADMIT_MAX_LOAD=0.9)
Exits 1 if single-hop p99 exceeds 80 ms at any measured load.`;

export interface Stats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  /** histogram buckets for the report: [upper bound ms, count] */
  buckets: [number, number][];
}

export interface LevelResult {
  calls: number;
  transport: Transport;
  /** the agent's dialect (native, or an AI service through its stand-in) */
  dialect: string;
  seconds: number;
  inbound: Stats;
  outbound: Stats;
  clearToSilence: Stats;
  /** audio delay by cross-correlation, ms (call 0) */
  inboundAudioDelayMs: number;
  /** algorithmic floor reported by the gateway, ms */
  inboundFloorMs: number;
  outboundFloorMs: number;
  /** gateway CPU above its idle baseline, per call, % of one core */
  cpuPercentPerCall: number;
  gatewayCpuPercent: number;
  idleCpuPercent: number;
  eventLoopLagP99Ms: number;
  /** the gateway's own inbound histogram, p50 and p99 as bucket bounds, ms */
  gatewayInboundP50Ms: number;
  gatewayInboundP99Ms: number;
  drops: number;
  underruns: number;
  framesMissing: number;
  /** new calls tried during the level (--overload): refused (503), accepted */
  extraRefused: number;
  extraAccepted: number;
  /** frames sent with RNNoise bypassed because the DSP fell behind; audio dropped past its deadline */
  shedFrames: number;
  dspOverloadDrops: number;
}

/** How a level loads the gateway besides its calls. */
export interface LevelLoad {
  hog?: { threads: number; cpus?: string };
  overload?: boolean;
  denoise?: 'on' | 'off' | 'auto';
  /** percent of calls with noise */
  noisy?: number;
}

function histogram(values: number[]): Stats {
  // HDR histogram in µs, 3 significant digits.
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  for (const v of values) h.recordValue(Math.max(1, Math.round(v * 1000)));
  const q = (p: number) => h.getValueAtPercentile(p) / 1000;
  const buckets: [number, number][] = [];
  const edges = [0.5, 1, 2, 3, 5, 7.5, 10, 12.5, 15, 17.5, 20, 25, 30, 40, 60, 80, 120, 250, 1000];
  let prev = 0;
  for (const e of edges) {
    buckets.push([e, values.filter((v) => v > prev && v <= e).length]);
    prev = e;
  }
  buckets.push([Infinity, values.filter((v) => v > prev).length]);
  const s = {
    count: values.length,
    p50: q(50),
    p90: q(90),
    p99: q(99),
    p999: q(99.9),
    max: values.length ? h.maxValue / 1000 : 0,
    buckets,
  };
  h.destroy();
  return s;
}

function fixture(name: string): PcmAudio {
  return readWav(new URL(`../../../test/fixtures/audio/${name}`, import.meta.url).pathname);
}

/** Loops `clip` to `samples` long. */
function looped(clip: Int16Array, samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i += clip.length) out.set(clip.subarray(0, Math.min(clip.length, samples - i)), i);
  return out;
}

function audible(payload: Uint8Array): boolean {
  const pcm = new Int16Array(payload.length);
  g711DecodeInto('ulaw', payload, pcm);
  for (const v of pcm) if (v > 64 || v < -64) return true;
  return false;
}

/** Cross-correlation lag (samples) of `b` behind `a` over 0..maxLag. */
function lagOf(a: Float32Array | Int16Array, b: Float32Array | Int16Array, maxLag: number): { lag: number; peak: number } {
  let best = { lag: 0, peak: -Infinity };
  for (let lag = 0; lag <= maxLag; lag++) {
    let num = 0;
    let ea = 0;
    let eb = 0;
    for (let i = 0; i < a.length && i + lag < b.length; i++) {
      num += a[i]! * b[i + lag]!;
      ea += a[i]! * a[i]!;
      eb += b[i + lag]! * b[i + lag]!;
    }
    const c = num / Math.sqrt(ea * eb + 1e-9);
    if (c > best.peak) best = { lag, peak: c };
  }
  return best;
}

async function runLevel(
  gateway: string,
  agent: BenchAgent,
  n: number,
  seconds: number,
  transport: Transport,
  cpuMs: () => number,
  edgeUrl?: string,
  sip?: string,
  load: LevelLoad = {},
): Promise<LevelResult> {
  const clips = ['caller-en-us-8k.wav', 'caller-en-f-8k.wav', 'caller-en-gb-8k.wav'].map((f) => looped(fixture(f).samples, 8000 * seconds));
  const noisyCalls = Math.round((n * (load.noisy ?? 0)) / 100);
  const clipOf = (i: number) => (i < noisyCalls ? mixAtSnr(clips[i % 3]!, pinkNoise(8000 * seconds, 1000 + i), 5) : clips[i % 3]!);
  const denoise = load.denoise === undefined ? {} : { denoise: load.denoise === 'auto' ? 'auto' : load.denoise === 'on' };
  const reply = fixture('agent-reply-24k.wav').samples;
  const replyMs = Math.min(seconds - 3, 5) * 1000;
  const replyPcm = looped(reply, (24 * replyMs) | 0);
  // A 20 ms 1 kHz burst starts the reply so its first packet is unmistakable.
  for (let i = 0; i < 480; i++) replyPcm[i] = Math.round(12000 * Math.sin((2 * Math.PI * 1000 * i) / 24000));

  const dropsBefore = await scrape(gateway, 'gateway_drops_total');
  const overloadBefore = await scrape(gateway, 'gateway_drops_total', (l) => l.includes('DSP_OVERLOAD'));
  const shedBefore = await scrape(gateway, 'gateway_dsp_shed_frames_total');
  const underrunsBefore = await scrape(gateway, 'gateway_playout_underruns_total');
  const lateness0 = await scrapeBuckets(gateway, 'gateway_playout_tick_lateness_seconds');
  const inside0 = await scrapeBuckets(gateway, 'gateway_inbound_processing_seconds');
  // A level starts on a ready gateway (one that just shed RNNoise refuses calls for a few seconds).
  for (let k = 0; k < 150 && (await fetch(`${gateway}/readyz`)).status !== 200; k++) await sleep(100);
  // Idle baseline of the gateway process (timers, metrics, idle workers), subtracted per call.
  const idle0 = cpuMs();
  await sleep(1000);
  const idleCpuPercent = (cpuMs() - idle0) / 10;
  const calls: RtpCaller[] = [];
  for (let i = 0; i < n; i++)
    calls.push(
      await RtpCaller.place({
        gateway,
        transport,
        route: { ...(agent.route(i) as object), ...denoise },
        ...(edgeUrl !== undefined ? { edgeUrl } : {}),
        ...(sip !== undefined ? { sip } : {}),
      }),
    );
  const sessions: BenchSession[] = await Promise.all(calls.map((c, i) => agent.session(i, c.callId)));
  const info = (await (await fetch(`${gateway}/v1/calls/${calls[0]!.callId}`)).json()) as {
    delayMs: { inbound: number; outbound: number };
  };

  const hog = load.hog === undefined ? null : CpuHog.start(load.hog.threads, seconds + 1, load.hog.cpus);
  const extra = { refused: 0, accepted: 0, calls: [] as Promise<void>[] };
  const tryExtra = async () => {
    try {
      const c = await RtpCaller.place({ gateway, transport, route: { ...(agent.route(0) as object), ...denoise } });
      extra.accepted++;
      const left = Math.max(0, seconds * 1000 - (performance.now() - t0) - 500);
      extra.calls.push(c.stream(clips[0]!.subarray(0, Math.floor(8 * left))).then(() => c.end()));
    } catch {
      extra.refused++;
    }
  };
  const extraTimer = load.overload === true ? setInterval(() => void tryExtra(), 500) : null;
  const cpu0 = cpuMs();
  const t0 = performance.now();
  const chunkSent: number[][] = calls.map(() => []);
  const clearAt: number[] = calls.map(() => 0);
  await Promise.all(
    calls.map(async (c, i) => {
      const s = sessions[i]!;
      const agentSide = (async () => {
        await sleep(1000 + Math.random() * 20);
        await s.stream(replyPcm, (_k, t) => chunkSent[i]!.push(t));
        // clear-to-silence: a 2 s burst, cleared after 300 ms of playout
        s.burst(reply.subarray(0, 48000));
        await sleep(300);
        clearAt[i] = s.clear();
      })();
      await Promise.all([c.stream(clipOf(i), { phaseMs: Math.random() * 20 }), agentSide]);
    }),
  );
  const elapsed = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  if (extraTimer !== null) clearInterval(extraTimer);
  await hog?.stop();
  await Promise.all(extra.calls);
  await sleep(200);
  const lag = bucketPercentile(lateness0, await scrapeBuckets(gateway, 'gateway_playout_tick_lateness_seconds'), 99);
  // The gateway's own view of the inbound hop (packet received → frame written), bucket bound:
  // the difference to the harness' figure is time spent in the kernel and in the load generator.
  const inside1 = await scrapeBuckets(gateway, 'gateway_inbound_processing_seconds');
  const insideP99 = bucketPercentile(inside0, inside1, 99);
  const insideP50 = bucketPercentile(inside0, inside1, 50);
  await Promise.all(calls.map((c) => (transport === 'udp' ? c.end() : c.hangup())));

  const inbound: number[] = [];
  const outbound: number[] = [];
  const clears: number[] = [];
  let framesMissing = 0;
  calls.forEach((c, i) => {
    const s = sessions[i]!;
    // The gateway emits one frame per packet, in order: frame k answers packet k. (Not after a
    // packet dropped as DSP_OVERLOAD: each drop makes the later frames of that call look 20 ms
    // later. Runs with drops are judged by the gateway's own histogram, which pairs exactly.)
    const n = Math.min(c.sent.length, s.frames.length);
    framesMissing += c.sent.length - s.frames.length;
    for (let k = 0; k < n; k++) inbound.push(s.frames[k]!.atMs - c.sent[k]!.sentMs);
    const rx = c.received;
    const start = rx.findIndex((p) => p.arrivalMs > chunkSent[i]![0]! && audible(p.payload));
    if (start >= 0) {
      const chunks = chunkSent[i]!;
      for (let k = 0; k < chunks.length && start + k < rx.length; k++) outbound.push(rx[start + k]!.arrivalMs - chunks[k]!);
    }
    // Clear → the caller hears silence: the first packet after the clear that is silent and
    // followed only by silence (old audio after a silent packet would count against us).
    let silentFrom = -1;
    for (const p of rx) {
      if (p.arrivalMs <= clearAt[i]!) continue;
      if (audible(p.payload)) silentFrom = -1;
      else if (silentFrom < 0) silentFrom = p.arrivalMs;
    }
    if (silentFrom >= 0) clears.push(silentFrom - clearAt[i]!);
  });

  // The audio's own delay (call 0): caller speech vs what the agent heard, both at 8 kHz.
  const heard = sessions[0]!.audio();
  const step = sessions[0]!.rate / 8000;
  const heard8 = new Float32Array(Math.floor(heard.length / step)).map((_, i) => heard[step * i]!);
  const ref = clips[0]!.subarray(8000, 8000 * 3);
  const { lag: audioLag } = lagOf(ref, heard8.subarray(8000), 400);

  const cpuPercent = (100 * cpu) / elapsed;
  return {
    calls: n,
    transport,
    dialect: agent.dialect,
    seconds,
    inbound: histogram(inbound),
    outbound: histogram(outbound),
    clearToSilence: histogram(clears),
    inboundAudioDelayMs: audioLag / 8,
    inboundFloorMs: info.delayMs.inbound,
    outboundFloorMs: info.delayMs.outbound,
    cpuPercentPerCall: Math.max(0, cpuPercent - idleCpuPercent) / n,
    gatewayCpuPercent: cpuPercent,
    idleCpuPercent,
    eventLoopLagP99Ms: lag * 1000,
    gatewayInboundP50Ms: insideP50 * 1000,
    gatewayInboundP99Ms: insideP99 * 1000,
    drops: (await scrape(gateway, 'gateway_drops_total')) - dropsBefore,
    underruns: (await scrape(gateway, 'gateway_playout_underruns_total')) - underrunsBefore,
    framesMissing,
    extraRefused: extra.refused,
    extraAccepted: extra.accepted,
    shedFrames: (await scrape(gateway, 'gateway_dsp_shed_frames_total')) - shedBefore,
    dspOverloadDrops: (await scrape(gateway, 'gateway_drops_total', (l) => l.includes('DSP_OVERLOAD'))) - overloadBefore,
  };
}

function table(results: LevelResult[]): string {
  const f = (x: number) => x.toFixed(2);
  const rows = [
    '| calls (edge) | inbound added: packet→frame p50 / p90 / p99 / p99.9 / max (ms) | + audio delay (floor) ms | = inbound total p50 / p99 ms | inside gateway p50 / p99 ≤ ms | outbound p50 / p99 / max (floor) ms | clear→silence p50 / max (ms) | CPU % per call (gateway total) | tick lag p99 ≤ ms | drops (DSP_OVERLOAD) | underruns | frames missing | RNNoise shed frames | new calls refused / accepted |',
    '|---:|---|---|---|---:|---|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    rows.push(
      `| ${r.calls} (${r.transport}${r.dialect !== 'native' ? `, ${r.dialect}` : ''}) | ${f(r.inbound.p50)} / ${f(r.inbound.p90)} / ${f(r.inbound.p99)} / ${f(r.inbound.p999)} / ${f(r.inbound.max)} | ${f(r.inboundAudioDelayMs)} (${f(r.inboundFloorMs)}) | ${f(r.inbound.p50 + r.inboundAudioDelayMs)} / ${f(r.inbound.p99 + r.inboundAudioDelayMs)} | ${f(r.gatewayInboundP50Ms)} / ${f(r.gatewayInboundP99Ms)} | ${f(r.outbound.p50)} / ${f(r.outbound.p99)} / ${f(r.outbound.max)} (${f(r.outboundFloorMs)}) | ${f(r.clearToSilence.p50)} / ${f(r.clearToSilence.max)} | ${f(r.cpuPercentPerCall)} (${f(r.gatewayCpuPercent)}) | ${f(r.eventLoopLagP99Ms)} | ${r.drops} (${r.dspOverloadDrops}) | ${r.underruns} | ${r.framesMissing} | ${r.shedFrames} | ${r.extraRefused} / ${r.extraAccepted} |`,
    );
  }
  return rows.join('\n');
}

/** uWS vs ws edge server: each figure as uWS / ws, and the ratio ws ÷ uWS (> 1: uWS is better). */
function compareTable(rows: { calls: number; uws: LevelResult; ws: LevelResult }[]): string {
  const f = (a: number, b: number) => `${a.toFixed(2)} / ${b.toFixed(2)} (×${(b / Math.max(a, 1e-9)).toFixed(2)})`;
  const out = [
    '| calls | inbound p50: uWS / ws (ws÷uWS) | inbound p99 | outbound p50 | outbound p99 | gateway CPU % per call |',
    '|---:|---|---|---|---|---|',
  ];
  for (const { calls, uws, ws } of rows) {
    out.push(
      `| ${calls} | ${f(uws.inbound.p50, ws.inbound.p50)} | ${f(uws.inbound.p99, ws.inbound.p99)} | ${f(uws.outbound.p50, ws.outbound.p50)} | ${f(uws.outbound.p99, ws.outbound.p99)} | ${f(uws.cpuPercentPerCall, ws.cpuPercentPerCall)} |`,
    );
  }
  return out.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '1,25,50,100' },
      seconds: { type: 'string', default: '10' },
      transport: { type: 'string', default: 'udp' },
      'agent-dialect': { type: 'string', default: 'native' },
      gateway: { type: 'string' },
      workers: { type: 'string' },
      quality: { type: 'string', default: '3' },
      sweep: { type: 'boolean', default: false },
      compare: { type: 'string', default: '1,50' },
      out: { type: 'string', default: 'bench/results' },
      'pin-gateway': { type: 'string' },
      'pin-load': { type: 'string' },
      hog: { type: 'string' },
      'hog-cpus': { type: 'string' },
      overload: { type: 'boolean', default: false },
      denoise: { type: 'string' },
      noisy: { type: 'string' },
      'gateway-dir': { type: 'string' },
      env: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const levels = values.calls.split(',').map(Number);
  const seconds = Number(values.seconds);
  const transports = values.transport.split(',') as Transport[];
  const transport = transports[0]!;
  if (seconds < 5) throw new Error('--seconds must be at least 5 (1 s lead-in, reply, clear)');
  const agents = await Promise.all(values['agent-dialect'].split(',').map((d) => benchAgent(d.trim())));
  const agent = agents.find((a) => a.dialect === 'native') ?? (await benchAgent('native'));
  if (!agents.includes(agent)) agents.push(agent);
  // SIP calls are routed by the gateway's routing table: every number to this bench's agent.
  const config = join(mkdtempSync(join(os.tmpdir(), 'bench-')), 'routing.json');
  writeFileSync(config, JSON.stringify({ default: agent.route(0) }));
  const env: Record<string, string> = { RESAMPLE_QUALITY: values.quality, EDGE_WS_SERVER: 'ws', GATEWAY_CONFIG: config };
  if (values.workers !== undefined) env['DSP_WORKERS'] = values.workers;
  for (const kv of (values.env ?? '').split(',').filter(Boolean)) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  if (values['pin-load'] !== undefined) pinSelf(values['pin-load']);
  const proc =
    values.gateway === undefined
      ? await GatewayProcess.start(env, {
          built: true,
          ...(values['pin-gateway'] !== undefined && { cpus: values['pin-gateway'] }),
          ...(values['gateway-dir'] !== undefined && { root: values['gateway-dir'] }),
        })
      : null;
  const hogCpus = values['hog-cpus'] ?? values['pin-gateway'];
  const load: LevelLoad = {
    ...(values.hog !== undefined && { hog: { threads: Number(values.hog), ...(hogCpus !== undefined && { cpus: hogCpus }) } }),
    overload: values.overload,
    ...(values.denoise !== undefined && { denoise: values.denoise as 'on' | 'off' | 'auto' }),
    ...(values.noisy !== undefined && { noisy: Number(values.noisy) }),
  };
  const gateway = values.gateway ?? proc!.url;
  const sip = proc?.sip ?? undefined;
  if (transports.includes('sip') && sip === undefined) throw new Error('--transport sip needs a gateway started by the bench, with SIP on');
  const cpuMs = proc ? () => proc.cpuMs() : () => NaN;
  const results: LevelResult[] = [];
  const comparison: { calls: number; uws: LevelResult; ws: LevelResult }[] = [];
  try {
    // Warm-up call: JIT, lazy module loads and WASM tier-up happen here, not in level 1.
    await runLevel(gateway, agent, 2, 5, transport, cpuMs, undefined, sip);
    agent.reset();
    const dialects = agents.filter((a) => values['agent-dialect'].split(',').includes(a.dialect));
    for (const n of levels) {
      for (const t of transports) {
        for (const a of dialects) {
          const r = await runLevel(gateway, a, n, seconds, t, cpuMs, undefined, sip, load);
          results.push(r);
          console.log(table([r]).split('\n').at(-1));
          a.reset();
        }
      }
    }
    if (values.sweep) {
      // The most calls with inbound p99 ≤ 25 ms and no frame missing: grow past the measured
      // levels while they hold, then bisect between the last good and the first bad count.
      const ok = (r: LevelResult) => r.inbound.p99 <= 25 && r.framesMissing === 0;
      let lo = Math.max(0, ...results.filter(ok).map((r) => r.calls));
      let hi = Math.min(Infinity, ...results.filter((r) => !ok(r) && r.calls > lo).map((r) => r.calls));
      while (hi === Infinity || hi - lo > Math.max(2, Math.round(lo * 0.1))) {
        const n = hi === Infinity ? Math.round(Math.max(lo, 1) * 1.25) : Math.round((lo + hi) / 2);
        const r = await runLevel(gateway, agent, n, seconds, transport, cpuMs, undefined, sip, load);
        agent.reset();
        console.log(`sweep ${n} calls: inbound p99 ${r.inbound.p99.toFixed(2)} ms, ${r.framesMissing} frames missing`);
        results.push(r);
        if (ok(r)) lo = n;
        else hi = n;
      }
      console.log(`sweep: ${lo} calls keep inbound p99 ≤ 25 ms`);
    }
    const wsEdge = proc?.wsEdgeUrl ?? null;
    if (values.compare !== 'none' && wsEdge !== null) {
      for (const n of values.compare.split(',').map(Number)) {
        const uws = await runLevel(gateway, agent, n, seconds, 'ws', cpuMs);
        agent.reset();
        const ws = await runLevel(gateway, agent, n, seconds, 'ws', cpuMs, wsEdge);
        agent.reset();
        comparison.push({ calls: n, uws, ws });
        console.log(
          compareTable([comparison.at(-1)!])
            .split('\n')
            .at(-1),
        );
      }
    }
  } finally {
    await Promise.all(agents.map((a) => a.close()));
    await proc?.stop();
  }
  const machine = `${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} cores, Node ${process.version}`;
  console.log(
    `\n${machine}; ${transports.join(', ')}; ${seconds} s per level; workers ${values.workers ?? 'default'}; speex Q${values.quality}; gateway cores ${values['pin-gateway'] ?? 'any'}, load cores ${values['pin-load'] ?? 'any'}; ${JSON.stringify(load)}\n`,
  );
  console.log(table(results));
  if (comparison.length > 0)
    console.log(`\nRTP over WebSocket, edge server uWS vs ws (same process, same pipeline):\n\n${compareTable(comparison)}`);
  mkdirSync(values.out, { recursive: true });
  const doc = { machine, date: new Date().toISOString(), transport, seconds, results, comparison };
  writeFileSync(
    `${values.out}/results.json`,
    JSON.stringify(doc, (_k, v: unknown) => (v === Infinity ? 'inf' : v), 2),
  );
  writeHtmlReport(`${values.out}/report.html`, doc);
  console.log(`\nwrote ${values.out}/results.json and ${values.out}/report.html`);
  // Single hop = what the gateway adds to one direction, algorithmic delay included.
  const worst = Math.max(...results.map((r) => Math.max(r.inbound.p99 + r.inboundAudioDelayMs, r.outbound.p99 + r.outboundFloorMs)));
  if (worst > 80) {
    console.error(`single-hop p99 ${worst.toFixed(1)} ms exceeds 80 ms`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
