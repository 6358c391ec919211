import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { readWav, seqDiff } from '../../../codecs/src/index.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import type { AgentSession, TestAgent } from '../../../testkit/TestAgent.js';
import type { Target } from './target.js';

const LATENESS = 'gateway_playout_tick_lateness_seconds';
const fixture = (name: string) => readWav(fileURLToPath(new URL(`../../../test/fixtures/audio/${name}`, import.meta.url))).samples;

/** What a healthy call saw over a window of time: the figures finding 1 asks for. */
export interface WindowStats {
  /** largest gap between RTP packets arriving at the phone (outbound), ms */
  outGapMs: number;
  /** outbound packets missing at the phone (sequence gaps) */
  outLost: number;
  /** largest gap between caller frames arriving at the agent (inbound), ms */
  agentGapMs: number;
  /** the gateway's own count for this call (GET /v1/calls/{id}): packets lost, arrived too late, frames concealed */
  gwLost: number;
  gwLate: number;
  gwConcealed: number;
  /** frames the gateway dropped on this call (any reason, e.g. DSP_OVERLOAD) */
  gwDropped: number;
  /** playout ticks (all calls) later than 20 / 50 ms, and the bucket of the latest one (/metrics histogram) */
  ticksOver20: number;
  ticksOver50: number;
  tickWorst: string;
  /** largest event-loop delay the gateway measured in the window (prom-client, reset at each scrape), ms */
  loopLagMaxMs: number;
}

interface Mark {
  rx: number;
  frames: number;
  stats: CallStats;
  buckets: Map<number, number>;
}

interface CallStats {
  packets: { lost: number; late: number; dropped: number };
  concealedFrames: number;
}

/**
 * The call an attack must not disturb: a phone on UDP streaming speech in real time, and an agent
 * on loopback that queued a minute of reply at once, so the gateway plays it out on its own 20 ms
 * clock. Windows of time are measured from both ends and from the gateway's own counters.
 */
export class HealthyCall {
  readonly #t: Target;
  readonly #phone: RtpCaller;
  readonly #session: AgentSession;
  readonly #stop = new AbortController();
  readonly #streaming: Promise<void>;

  private constructor(t: Target, phone: RtpCaller, session: AgentSession) {
    this.#t = t;
    this.#phone = phone;
    this.#session = session;
    const voice = fixture('caller-en-us-8k.wav');
    const pcm = new Int16Array(8000 * 120).map((_, i) => voice[i % voice.length]!);
    this.#streaming = phone.stream(pcm, { signal: this.#stop.signal });
  }

  static async start(t: Target, agent: TestAgent): Promise<HealthyCall> {
    const phone = await RtpCaller.place({
      gateway: t.url,
      transport: 'udp',
      headers: t.auth,
      route: { agent: { url: agent.url }, bargeIn: { enabled: false } },
    });
    const session = await agent.session(phone.callId);
    // A minute of reply in 1 s messages (24 kHz PCM16, the native default): the gateway's queue
    // holds it and its clock plays it, whatever the probe's own thread is doing.
    const reply = fixture('agent-reply-24k.wav');
    for (let s = 0; s < 60; s++) session.sendAudio(new Int16Array(24000).map((_, i) => reply[(s * 24000 + i) % reply.length]!));
    const h = new HealthyCall(t, phone, session);
    await sleep(1500); // past the first packets and the jitter buffer's start
    return h;
  }

  async #stats(): Promise<CallStats> {
    const r = await this.#t.api('GET', `/v1/calls/${this.#phone.callId}`);
    if (r.status !== 200) throw new Error(`healthy call gone: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json as unknown as CallStats;
  }

  /** Starts a window (and resets the gateway's event-loop maximum by reading it). */
  async mark(): Promise<Mark> {
    await this.#t.metric('nodejs_eventloop_lag_max_seconds');
    return {
      rx: this.#phone.received.length,
      frames: this.#session.frames.length,
      stats: await this.#stats(),
      buckets: await this.#t.buckets(LATENESS),
    };
  }

  /** The window from `m` to now. */
  async measure(m: Mark): Promise<WindowStats> {
    const loopLagMaxMs = 1000 * (await this.#t.metric('nodejs_eventloop_lag_max_seconds'));
    const rx = this.#phone.received.slice(Math.max(0, m.rx - 1));
    const frames = this.#session.frames.slice(Math.max(0, m.frames - 1));
    let outGapMs = 0;
    let outLost = 0;
    for (let i = 1; i < rx.length; i++) {
      outGapMs = Math.max(outGapMs, rx[i]!.arrivalMs - rx[i - 1]!.arrivalMs);
      outLost += Math.max(0, seqDiff(rx[i]!.seq, rx[i - 1]!.seq) - 1);
    }
    // a stall that lasts to the end of the window counts up to now
    if (rx.length > 0) outGapMs = Math.max(outGapMs, performance.now() - rx[rx.length - 1]!.arrivalMs);
    let agentGapMs = 0;
    for (let i = 1; i < frames.length; i++) agentGapMs = Math.max(agentGapMs, frames[i]!.atMs - frames[i - 1]!.atMs);
    const st = await this.#stats();
    const b = await this.#t.buckets(LATENESS);
    const delta = (le: number) => (b.get(le) ?? 0) - (m.buckets.get(le) ?? 0);
    const total = delta(Infinity);
    const bounds = [...b.keys()].filter((k) => k !== Infinity).sort((x, y) => x - y);
    const latest = bounds.find((k) => delta(k) === total);
    return {
      outGapMs,
      outLost,
      agentGapMs,
      gwLost: st.packets.lost - m.stats.packets.lost,
      gwLate: st.packets.late - m.stats.packets.late,
      gwConcealed: st.concealedFrames - m.stats.concealedFrames,
      gwDropped: st.packets.dropped - m.stats.packets.dropped,
      ticksOver20: total - delta(0.02),
      ticksOver50: total - delta(0.05),
      tickWorst: total === 0 ? 'no ticks' : latest === undefined ? `> ${1000 * bounds[bounds.length - 1]!} ms` : `≤ ${1000 * latest} ms`,
      loopLagMaxMs,
    };
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#streaming;
    await this.#phone.end();
  }
}
