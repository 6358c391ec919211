import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import {
  createRtpPacket,
  g711DecodeInto,
  g711EncodeFloatInto,
  loadDenoiserModule,
  loadResamplerModule,
} from '../../../codecs/src/index.js';
import type { Agent, GatewayEvent } from '../../../gateway/src/agent/Agent.js';
import { Call } from '../../../gateway/src/call/Call.js';
import { parseRoute } from '../../../gateway/src/route.js';
import type { Edge } from '../../../gateway/src/edge/Edge.js';
import { setLogLevel } from '../../../gateway/src/log.js';
import { DspPool } from '../../../gateway/src/media/DspPool.js';
import { Metrics } from '../../../gateway/src/metrics.js';
import { activeRms, click, cough, dbToGain, list, load, noise, onsetIndex, RATE, rng, type NoiseKind } from './signals.js';

/**
 * Barge-in evaluation with ground truth by construction. Each trial runs a real Call (inline DSP,
 * RNNoise, the production detector and autoClear) in simulated time: the agent's utterance is
 * played out; the caller's microphone carries the echo of what was played (15–30 dB down,
 * 20–250 ms late), background noise, and possibly an event (interruption, backchannel, cough,
 * click) at a known time. `npm run bench:bargein`.
 */
setLogLevel('silent');
const FRAME = 160; // 20 ms at 8 kHz
const bargeInOverrides: Record<string, unknown> = {};
const NOISES: (NoiseKind | 'none')[] = ['none', 'white', 'pink', 'babble', 'music'];

type Kind = 'interruption' | 'backchannel' | 'cough' | 'click' | 'echo-only' | 'noise-only';

interface Trial {
  kind: Kind;
  agent: string;
  event: Float32Array | null;
  /** caller timeline position of the event, s */
  eventAt: number;
  /** ground-truth speech onset, s (interruptions) */
  onset: number;
  echoDelayMs: number;
  erlDb: number;
  noise: NoiseKind | 'none';
  noiseRms: number;
  label: string;
}

interface Outcome {
  trial: Trial;
  bargeIns: number[]; // simulated ms
  lastAgentPacketMs: number; // last audible agent packet on the wire
  agentSpeechMs: number;
  /** what the detector had learned by the end */
  erlDb: number;
  erleDb: number;
  delayMs: number;
}

function runTrial(
  t: Trial,
  pool: DspPool,
  speex: Awaited<ReturnType<typeof loadResamplerModule>>,
  metrics: Metrics,
  r: () => number,
): Outcome {
  let now = 0;
  const agentPcm = load(t.agent);
  const bargeIns: number[] = [];
  const agent: Agent = {
    start: () => {},
    audio: () => {},
    event: (ev: GatewayEvent) => {
      if (ev.type === 'barge_in') bargeIns.push(now);
    },
    close: () => {},
  };
  const seconds =
    t.kind === 'echo-only' || t.kind === 'noise-only'
      ? agentPcm.length / RATE + 0.5
      : Math.min(agentPcm.length / RATE, t.eventAt + t.event!.length / RATE + 1);
  const frames = Math.ceil((seconds * RATE) / FRAME);
  const played = new Float32Array((frames + 2) * FRAME);
  const decoded = new Int16Array(FRAME);
  let lastAgentPacketMs = 0;
  let agentSpeechMs = 0;
  // A simulated RTP edge on the call's clock: what the playout sends is what the phone plays.
  const edge: Edge = {
    kind: 'sim',
    playback: 'clocked',
    leadMs: 0,
    attach: () => {},
    send: (f) => {
      if (f.kind !== 'audio') return true;
      g711DecodeInto('ulaw', f.payload, decoded);
      const k = now / 20; // the frame sent at time 20k ms is played over [20k, 20k + 20) ms
      played.set(decoded, k * FRAME);
      let e = 0;
      for (const v of decoded) e += v * v;
      if (e / FRAME > 100) {
        lastAgentPacketMs = now;
        agentSpeechMs += 20;
      }
      return true;
    },
    mark: () => {},
    clear: () => {},
    close: () => {},
  };
  const call = new Call(
    { metrics, dspPool: pool, speex, resampleQuality: 3, playoutMaxSeconds: 60, now: () => now },
    {
      id: 'eval',
      from: '',
      to: '',
      route: parseRoute({ agent: { url: 'builtin:echo' }, sampleRate: 8000, bargeIn: bargeInOverrides }),
      codec: 'PCMU',
      payloadType: 0,
      dtmfPayloadType: 101,
    },
    edge,
  );
  call.attachAgent(agent);
  call.audio(new Uint8Array(Int16Array.from(agentPcm).buffer));
  const nz = t.noise === 'none' ? null : noise(t.noise, seconds + 1, r);
  const mic = new Float32Array(FRAME);
  const codes = new Uint8Array(FRAME);
  const rx = createRtpPacket();
  rx.ssrc = 1;
  rx.payload = codes;
  const echoGain = dbToGain(-t.erlDb);
  const d = Math.round((t.echoDelayMs * RATE) / 1000);
  const ev0 = Math.round(t.eventAt * RATE);
  for (let k = 0; k < frames; k++) {
    now = 20 * (k + 1);
    call.tick(now, 1);
    for (let i = 0; i < FRAME; i++) {
      const n = k * FRAME + i;
      let v = n - d >= 0 ? played[n - d]! * echoGain : 0;
      if (nz) v += nz[n]! * (t.noiseRms / 1000);
      if (t.event && n >= ev0 && n - ev0 < t.event.length) v += t.event[n - ev0]!;
      mic[i] = v;
    }
    g711EncodeFloatInto('ulaw', mic, codes);
    rx.marker = k === 0;
    rx.sequenceNumber = k & 0xffff;
    rx.timestamp = k * FRAME;
    call.inbound.media(rx, now);
  }
  const { erlDb, erleDb, delayMs } = call.inbound.echoPath;
  call.close('api_delete');
  return { trial: t, bargeIns, lastAgentPacketMs, agentSpeechMs, erlDb, erleDb, delayMs };
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '48' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string', default: 'bench/results' },
      // detector options to try, e.g. --set minSpeechMs=150 --set vadThreshold=0.8
      set: { type: 'string', multiple: true, default: [] },
    },
  });
  for (const kv of values.set) {
    const [k, v] = kv.split('=');
    bargeInOverrides[k!] = v === 'true' ? true : v === 'false' ? false : Number(v);
  }
  const n = Number(values.trials);
  const r = rng(Number(values.seed));
  const [speex, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
  const pool = await DspPool.create({ speex, rnnoise }, 0);
  const metrics = new Metrics();
  const agents = list('agent-');
  const interrupts = list('interrupt-');
  const backchannels = list('backchannel-');
  const agentRms = activeRms(load(agents[0]!));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const trials: Trial[] = [];
  const base = (kind: Kind, event: Float32Array | null, callerDb: number): Trial => {
    const nk = pick(NOISES);
    const callerRms = agentRms * dbToGain(callerDb);
    const snr = 20 * r();
    return {
      kind,
      agent: pick(agents),
      event,
      eventAt: 1 + 3 * r(),
      onset: 0,
      echoDelayMs: 20 + 230 * r(),
      erlDb: 15 + 15 * r(),
      noise: nk,
      noiseRms: nk === 'none' ? 0 : callerRms * dbToGain(-snr),
      label: `${nk}${nk === 'none' ? '' : `@${snr.toFixed(0)}dB`}`,
    };
  };
  // Interruptions at two loudness levels relative to the agent: −6 dB and −16 dB.
  for (let i = 0; i < n; i++) {
    const clip = load(pick(interrupts));
    const callerDb = i % 2 === 0 ? -6 : -16;
    const ev = clip.map((v) => (v * agentRms * dbToGain(callerDb)) / activeRms(clip));
    const t = base('interruption', ev, callerDb);
    t.onset = t.eventAt + onsetIndex(ev) / RATE;
    trials.push(t);
  }
  for (let i = 0; i < n / 2; i++) {
    const clip = load(pick(backchannels));
    const callerDb = i % 2 === 0 ? -6 : -16;
    trials.push(
      base(
        'backchannel',
        clip.map((v) => (v * agentRms * dbToGain(callerDb)) / activeRms(clip)),
        callerDb,
      ),
    );
  }
  for (let i = 0; i < n / 4; i++) trials.push(base('cough', cough(r), -10));
  for (let i = 0; i < n / 4; i++) trials.push(base('click', click(r), -10));
  for (let i = 0; i < n / 2; i++) trials.push({ ...base('echo-only', null, -10), noise: 'none', noiseRms: 0, label: 'none' });
  for (let i = 0; i < n / 2; i++) {
    const t = base('noise-only', null, -10);
    if (t.noise === 'none') t.noise = 'babble';
    t.noiseRms = agentRms * dbToGain(-10 - 20 * r());
    trials.push(t);
  }

  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  for (const t of trials) outcomes.push(runTrial(t, pool, speex, metrics, r));
  const elapsed = (Date.now() - t0) / 1000;

  // ---- scoring ---------------------------------------------------------------------------
  const delays: number[] = [];
  const stops: number[] = [];
  let tp = 0;
  const fpByKind = new Map<Kind, number>();
  const speechMsByKind = new Map<Kind, number>();
  const missedDetail: string[] = [];
  const falseDetail: string[] = [];
  for (const o of outcomes) {
    const k = o.trial.kind;
    speechMsByKind.set(k, (speechMsByKind.get(k) ?? 0) + o.agentSpeechMs);
    if (k === 'interruption') {
      const onsetMs = o.trial.onset * 1000;
      const hit = o.bargeIns.find((b) => b >= onsetMs && b <= onsetMs + 500);
      const early = o.bargeIns.filter((b) => b < onsetMs).length;
      fpByKind.set(k, (fpByKind.get(k) ?? 0) + early);
      if (hit !== undefined) {
        tp++;
        delays.push(hit - onsetMs);
        stops.push(o.lastAgentPacketMs - onsetMs);
      } else {
        missedDetail.push(
          `${o.trial.agent} erl ${o.trial.erlDb.toFixed(0)} dB (measured ${o.erlDb.toFixed(1)} + ERLE ${o.erleDb.toFixed(1)}) delay ${o.trial.echoDelayMs.toFixed(0)} ms (measured ${o.delayMs.toFixed(0)}) noise ${o.trial.label} ${early ? '(false barge-in first)' : ''}`,
        );
      }
    } else {
      fpByKind.set(k, (fpByKind.get(k) ?? 0) + o.bargeIns.length);
      if (o.bargeIns.length > 0)
        falseDetail.push(
          `${k}: ${o.trial.agent} erl ${o.trial.erlDb.toFixed(0)} dB (measured ${o.erlDb.toFixed(1)} + ERLE ${o.erleDb.toFixed(1)}) delay ${o.trial.echoDelayMs.toFixed(0)} ms (measured ${o.delayMs.toFixed(0)}) noise ${o.trial.label}`,
        );
    }
  }
  const interruptions = outcomes.filter((o) => o.trial.kind === 'interruption').length;
  const mixedFp = ['interruption', 'backchannel', 'cough', 'click'].reduce((a, k) => a + (fpByKind.get(k as Kind) ?? 0), 0);
  const per10min = (k: Kind) => ((fpByKind.get(k) ?? 0) * 600_000) / Math.max(1, speechMsByKind.get(k) ?? 0);
  const rows = [
    ['detection delay from speech onset, p50', `${pct(delays, 50).toFixed(0)} ms`, '≤ 150 ms'],
    ['detection delay, p95', `${pct(delays, 95).toFixed(0)} ms`, '≤ 250 ms'],
    ['onset → last agent packet on the wire, p50', `${pct(stops, 50).toFixed(0)} ms`, '≤ 170 ms'],
    ['onset → last agent packet on the wire, p95', `${pct(stops, 95).toFixed(0)} ms`, '≤ 275 ms'],
    ['recall within 500 ms', `${((100 * tp) / interruptions).toFixed(1)} % (${tp}/${interruptions})`, '≥ 98 %'],
    [
      'false barge-ins per 10 min of agent speech, echo only',
      `${per10min('echo-only').toFixed(2)} (${fpByKind.get('echo-only') ?? 0} in ${((speechMsByKind.get('echo-only') ?? 0) / 60000).toFixed(1)} min)`,
      '≤ 1',
    ],
    [
      'false barge-ins per 10 min of agent speech, noise + echo',
      `${per10min('noise-only').toFixed(2)} (${fpByKind.get('noise-only') ?? 0} in ${((speechMsByKind.get('noise-only') ?? 0) / 60000).toFixed(1)} min)`,
      '≤ 1',
    ],
    [
      'precision on the mixed set (interruptions, backchannels, coughs, clicks)',
      `${((100 * tp) / Math.max(1, tp + mixedFp)).toFixed(1)} % (${tp} true, ${mixedFp} false: ${fpByKind.get('backchannel') ?? 0} backchannel, ${fpByKind.get('cough') ?? 0} cough, ${fpByKind.get('click') ?? 0} click, ${fpByKind.get('interruption') ?? 0} before an interruption)`,
      '≥ 90 %',
    ],
  ];
  const machine = `${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`;
  const table = ['| metric | measured | goal |', '|---|---|---|', ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
  console.log(`${trials.length} trials (${interruptions} interruptions), seed ${values.seed}, ${elapsed.toFixed(0)} s on ${machine}\n`);
  console.log(table);
  if (process.env['VERBOSE'] && missedDetail.length) console.log(`\nmissed interruptions:\n- ${missedDetail.join('\n- ')}`);
  const byNoise = new Map<string, number>();
  for (const o of outcomes) {
    const early = o.trial.kind === 'interruption' ? o.bargeIns.filter((b) => b < o.trial.onset * 1000).length : o.bargeIns.length;
    byNoise.set(o.trial.noise, (byNoise.get(o.trial.noise) ?? 0) + early);
  }
  console.log(`\nfalse barge-ins by background: ${[...byNoise].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (process.env['VERBOSE'] && falseDetail.length) console.log(`\nfalse barge-ins:\n- ${falseDetail.join('\n- ')}`);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(
    `${values.out}/bargein.json`,
    JSON.stringify({ machine, date: new Date().toISOString(), seed: values.seed, rows, delays, stops, missed: missedDetail }, null, 2),
  );
  await pool.close();
  process.exit(0); // metrics collectors would keep the process alive
}

void main();
