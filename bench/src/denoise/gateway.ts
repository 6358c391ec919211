import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadResamplerModule } from '../../../codecs/src/index.js';
import { GatewayProcess, scrape } from '../../../testkit/GatewayProcess.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { TestAgent, type AgentSession } from '../../../testkit/TestAgent.js';
import { RATE, type Mixture } from './mixtures.js';
import { to8k } from './offline.js';
import { measure, type Quality } from './quality.js';

/**
 * Runs the mixtures as real-time PCMU calls over UDP through a gateway process built from this
 * checkout, to a native test agent recording the 24 kHz frames it gets. Calls run in parallel
 * batches, one mode per batch, so the gateway's CPU time over a mode's batches is that mode's.
 */
export const MODES = ['off', 'on', 'auto'] as const;
export type Mode = (typeof MODES)[number];
const ROUTE_DENOISE: Record<Mode, boolean | string> = { off: false, on: true, auto: 'auto' };
const AGENT_RATE = 24000;

export interface CallResult {
  mode: Mode;
  noise: Mixture['noise'];
  snrDb: number;
  speech: string;
  q: Quality;
  /** packets sent − frames the agent got */
  framesMissing: number;
  /** frames the gateway let bypass RNNoise because its DSP fell behind (stats denoise.shedFrames) */
  shedFrames: number;
  /** what `auto` applied, as the gateway reported it ("n/a" when it reports nothing) */
  choice: string;
  /** the gateway's SNR estimate, dB, when it reports one */
  snrEstimateDb: number | null;
  /** ms of caller audio at auto's first decision (stats denoise.decidedAtMs), when reported */
  decidedAtMs: number | null;
  /** inbound delay the gateway states for the call, ms */
  delayMs: number | null;
}

export interface ModeRun {
  mode: Mode;
  supported: boolean;
  /** why not, as the gateway answered */
  refusal?: string;
  calls: number;
  callSeconds: number;
  wallSeconds: number;
  /** gateway process CPU above its idle rate, per concurrent call, % of one core */
  cpuPercentPerCall: number;
  idleCpuPercent: number;
  /** over all attempts, retried batches included */
  dspOverloadDrops: number;
  drops: number;
  /** batches run again because a call lost frames */
  retriedBatches: number;
}

/** The mode auto chose, from the call's stats, its agent's events or start params. */
export function readChoice(stats: Record<string, unknown>, s: AgentSession): { choice: string; snr: number | null } {
  const pick = (d: unknown): { choice: string; snr: number | null } | null => {
    if (typeof d === 'boolean') return { choice: d ? 'on' : 'off', snr: null };
    // "auto" is the route's setting, not a decision: look further
    if (typeof d === 'string') return d === 'auto' ? null : { choice: d, snr: null };
    if (typeof d !== 'object' || d === null) return null;
    const o = d as Record<string, unknown>;
    const v = o['applied'] ?? o['active'] ?? o['enabled'] ?? o['decision'] ?? o['chosen'] ?? o['mode'];
    const snr = o['snrDb'] ?? o['estimatedSnrDb'] ?? o['snr'];
    const base = pick(v);
    return base === null ? null : { choice: base.choice, snr: typeof snr === 'number' ? snr : null };
  };
  const fromEvents = s.events.filter((e) => String(e.msg['type']).includes('denoise')).at(-1)?.msg;
  const params = s.start?.['params'] as Record<string, unknown> | undefined;
  return pick(stats['denoise']) ?? pick(fromEvents) ?? pick(params?.['denoise']) ?? { choice: 'n/a', snr: null };
}

function pcm16(x: Float32Array): Int16Array {
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
}

export async function runGateway(o: {
  mixtures: Mixture[];
  parallel: number;
  modes: Mode[];
  /** times a batch that lost frames is run again */
  retries: number;
  workers?: string;
}): Promise<{ results: CallResult[]; runs: ModeRun[] }> {
  const agent = await TestAgent.listen();
  const config = join(mkdtempSync(join(os.tmpdir(), 'bench-denoise-')), 'routing.json');
  writeFileSync(config, JSON.stringify({ default: { agent: { url: agent.url } } }));
  const env: Record<string, string> = { GATEWAY_CONFIG: config, SIP_PORT: 'off' };
  if (o.workers !== undefined) env['DSP_WORKERS'] = o.workers;
  const gw = await GatewayProcess.start(env, { built: true });
  const speex = await loadResamplerModule();
  const results: CallResult[] = [];
  const runs: ModeRun[] = [];
  try {
    // Warm-up, every mode (JIT, WASM tier-up, worker start): not measured.
    const warm = o.mixtures.slice(0, 2).map((m) => ({ ...m, noisy: m.noisy.subarray(0, 3 * RATE) }));
    const supported = new Map<Mode, string | null>();
    for (const mode of o.modes) supported.set(mode, (await batch(gw, agent, warm, mode)).refusal);
    for (const mode of o.modes) {
      const refusal = supported.get(mode) ?? null;
      if (refusal !== null) {
        runs.push({
          mode,
          supported: false,
          refusal,
          calls: 0,
          callSeconds: 0,
          wallSeconds: 0,
          cpuPercentPerCall: NaN,
          idleCpuPercent: NaN,
          dspOverloadDrops: 0,
          drops: 0,
          retriedBatches: 0,
        });
        continue;
      }
      const idle0 = gw.cpuMs();
      await sleep(2000);
      const idleRate = (gw.cpuMs() - idle0) / 2000; // ms of CPU per ms (10 ms clock ticks)
      const overload0 = await scrape(gw.url, 'gateway_drops_total', (l) => l.includes('DSP_OVERLOAD'));
      const drops0 = await scrape(gw.url, 'gateway_drops_total');
      let cpu = 0;
      let wall = 0;
      let callSeconds = 0;
      let retried = 0;
      for (let i = 0; i < o.mixtures.length; i += o.parallel) {
        const group = o.mixtures.slice(i, i + o.parallel);
        let b: Awaited<ReturnType<typeof batch>>;
        for (let attempt = 0; ; attempt++) {
          const c0 = gw.cpuMs();
          const t0 = performance.now();
          b = await batch(gw, agent, group, mode);
          const dt = performance.now() - t0;
          agent.sessions.length = 0;
          // A batch that lost frames stalled (DSP_OVERLOAD: a thread fell a second behind, on this
          // shared machine usually for a foreign process): run it again, and count it.
          if (attempt < o.retries && b.calls.some(disturbed)) {
            retried++;
            continue;
          }
          cpu += gw.cpuMs() - c0 - idleRate * dt;
          wall += dt;
          break;
        }
        for (const r of b.calls) {
          callSeconds += r.mix.noisy.length / RATE;
          const heard = to8k(speex, Float32Array.from(r.audio), AGENT_RATE);
          results.push({
            mode,
            noise: r.mix.noise,
            snrDb: r.mix.snrDb,
            speech: r.mix.speech,
            q: measure(r.mix, heard, 80),
            framesMissing: r.framesMissing,
            shedFrames: r.shedFrames,
            choice: mode === 'auto' ? r.choice.choice : mode,
            snrEstimateDb: r.choice.snr,
            decidedAtMs: r.decidedAtMs,
            delayMs: r.delayMs,
          });
        }
        process.stdout.write(`${mode} ${Math.min(i + o.parallel, o.mixtures.length)}/${o.mixtures.length}\r`);
      }
      process.stdout.write('\n');
      runs.push({
        mode,
        supported: true,
        calls: o.mixtures.length,
        callSeconds,
        wallSeconds: wall / 1000,
        cpuPercentPerCall: (100 * cpu) / (callSeconds * 1000),
        idleCpuPercent: 100 * idleRate,
        dspOverloadDrops: (await scrape(gw.url, 'gateway_drops_total', (l) => l.includes('DSP_OVERLOAD'))) - overload0,
        drops: (await scrape(gw.url, 'gateway_drops_total')) - drops0,
        retriedBatches: retried,
      });
    }
  } finally {
    await agent.close();
    await gw.stop();
  }
  return { results, runs };
}

interface BatchCall {
  mix: Mixture;
  audio: Int16Array;
  framesMissing: number;
  shedFrames: number;
  choice: { choice: string; snr: number | null };
  delayMs: number | null;
  decidedAtMs: number | null;
}

/**
 * Places one call per mixture with the mode's `denoise`, streams them together in real time (each
 * with its own packet phase), then reads each call's stats and ends it. A gateway that refuses the
 * mode (400 naming `denoise`) yields its answer as `refusal`.
 */
async function batch(
  gw: GatewayProcess,
  agent: TestAgent,
  mixes: Mixture[],
  mode: Mode,
): Promise<{ calls: BatchCall[]; refusal: string | null }> {
  const route = { agent: { url: agent.url }, sampleRate: AGENT_RATE, denoise: ROUTE_DENOISE[mode] };
  const callers: RtpCaller[] = [];
  try {
    for (const _ of mixes) callers.push(await place(gw, route));
  } catch (err) {
    await Promise.all(callers.map((c) => c.end()));
    const msg = err instanceof Error ? err.message : String(err);
    if (/→ 400 /.test(msg) && msg.includes('denoise')) return { calls: [], refusal: msg.replace(/^.*?→ /, '') };
    throw err;
  }
  const sessions = await Promise.all(callers.map((c) => agent.session(c.callId)));
  await Promise.all(callers.map((c, i) => c.stream(pcm16(mixes[i]!.noisy), { phaseMs: Math.random() * 20 })));
  // The last packets' frames: the chain's delay plus a worker hop, well under this.
  await Promise.all(
    sessions.map((s, i) => s.until(() => s.frames.length >= callers[i]!.sent.length, 1000, 'last frames').catch(() => undefined)),
  );
  const calls: BatchCall[] = [];
  for (const [i, c] of callers.entries()) {
    const stats = (await (await fetch(`${gw.url}/v1/calls/${c.callId}`)).json()) as Record<string, unknown>;
    const s = sessions[i]!;
    const delay = (stats['delayMs'] as { inbound?: number } | undefined)?.inbound;
    const { shedFrames: shed, decidedAtMs } = (stats['denoise'] ?? {}) as { shedFrames?: unknown; decidedAtMs?: unknown };
    calls.push({
      mix: mixes[i]!,
      audio: s.audio(),
      framesMissing: c.sent.length - s.frames.length,
      shedFrames: typeof shed === 'number' ? shed : 0,
      choice: readChoice(stats, s),
      delayMs: typeof delay === 'number' ? delay : null,
      decidedAtMs: typeof decidedAtMs === 'number' ? decidedAtMs : null,
    });
  }
  await Promise.all(callers.map((c) => c.end()));
  return { calls, refusal: null };
}

/** A call whose audio the machine's load altered: frames lost, or RNNoise bypassed to keep up. */
export function disturbed(c: { framesMissing: number; shedFrames: number }): boolean {
  return c.framesMissing > 0 || c.shedFrames > 0;
}

/**
 * Places a call; a gateway that turns it away for lack of headroom (503 AT_CAPACITY, which
 * admission by DSP load answers on a busy machine) is asked again for up to 30 s.
 */
async function place(gw: GatewayProcess, route: unknown): Promise<RtpCaller> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await RtpCaller.place({ gateway: gw.url, transport: 'udp', codec: 'PCMU', route });
    } catch (err) {
      if (attempt >= 60 || !(err instanceof Error) || !err.message.includes('→ 503 ')) throw err;
      await sleep(500);
    }
  }
}
