import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU by component from V8 CPU profiles (`--cpu-prof`: one file per thread, main and DSP
 * workers). Each sample's time goes to the component of its innermost frame that lives in a file
 * of ours (WASM frames count for the JS that called them: RNNoise under Denoiser, speex under
 * Resampler); samples with no frame of ours are the runtime's: GC, idle, or "(node/uWS
 * internals)". Prints CPU per component and per thread, and % of one core per call: CPU time
 * over the call-seconds the run carried (the bench's warm-up, 2 calls × 5 s, plus its levels).
 *
 *   GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- --calls 40 …
 *   node --import tsx bench/src/latency/profile.ts /tmp/prof --call-seconds 410
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Component of a source file (first match wins), or null when the file is not ours. */
const COMPONENTS: [RegExp, string][] = [
  [/codecs\/src\/denoiser/, 'RNNoise'],
  [/codecs\/src\/resampler/, 'resamplers'],
  [/codecs\/src\/echoCanceller|call\/BargeInMonitor|media\/BargeIn|media\/VoiceActivity/, 'echo canceller + barge-in'],
  [/codecs\/src\/(g711|opus|plc)|media\/edgeCodecs/, 'G.711/Opus'],
  [/media\/(InboundDsp|DenoiseStage|NoiseEstimator)|codecs\/src\/pcm/, 'inbound chain (framing, levels, SNR)'],
  [/media\/(DspPool|dspProtocol|dspWorker|RingPool)/, 'thread hand-off (rings, doorbells)'],
  [/media\/(Playout|PlayoutClock|PlayoutQueue|DtmfSchedule)/, 'playout (tick, resample, encode)'],
  [/edge\/|codecs\/src\/rtp|media\/Reorderer|call\/InboundLeg/, 'RTP in/out (edge, reorder)'],
  [/agent\//, 'agent WebSocket (dialect, send, receive)'],
  [/metrics|prom-client/, 'metrics'],
  [/gateway\/src|codecs\/src/, 'other gateway code'],
];

function componentOf(url: string): string | null {
  if (url === '' || url.startsWith('node:')) return null;
  for (const [re, name] of COMPONENTS) if (re.test(url)) return name;
  return null;
}

function analyse(p: Profile): Map<string, number> {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const memo = new Map<number, string>();
  const classify = (id: number): string => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName;
    let out: string;
    if (fn === '(idle)' || fn === '(garbage collector)' || fn === '(program)') out = fn;
    else out = componentOf(n.callFrame.url) ?? (parent.has(id) ? classify(parent.get(id)!) : '(node/uWS internals)');
    if (out === '(root)') out = '(node/uWS internals)';
    memo.set(id, out);
    return out;
  };
  const ms = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const c = classify(id);
    ms.set(c, (ms.get(c) ?? 0) + (p.timeDeltas[i] ?? 0) / 1000);
  });
  return ms;
}

const dir = process.argv[2] ?? '/tmp/prof';
const callSeconds = Number(process.argv[process.argv.indexOf('--call-seconds') + 1] || 1);
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
const total = new Map<string, number>();
let wallMs = 0;
for (const f of files) {
  const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
  wallMs = Math.max(wallMs, (p.endTime - p.startTime) / 1000);
  const ms = analyse(p);
  const busy = [...ms].filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
  console.log(`${f}: ${(busy / 1000).toFixed(1)} s busy of ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s`);
  for (const [k, v] of ms) total.set(k, (total.get(k) ?? 0) + v);
}
console.log(
  `\n| component | CPU s (all threads, ${(wallMs / 1000).toFixed(0)} s profiled) | % of one core per call (${callSeconds} call-seconds) |`,
);
console.log('|---|---:|---:|');
const rows = [...total].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
const perCall = (ms: number) => ((100 * ms) / 1000 / callSeconds).toFixed(3);
for (const [k, v] of rows) console.log(`| ${k} | ${(v / 1000).toFixed(2)} | ${perCall(v)} |`);
const sum = rows.reduce((a, [, v]) => a + v, 0);
console.log(`| **total** | ${(sum / 1000).toFixed(2)} | ${perCall(sum)} |`);
