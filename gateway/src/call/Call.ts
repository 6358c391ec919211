import { performance } from 'node:perf_hooks';
import { createRtpPacket, dtmfDigit, EchoCanceller, tryParseRtp, tsDiff, type RtpPacket } from '../../../codecs/src/index.js';
import type { Agent, AgentCommands, GatewayEvent } from '../agent/Agent.js';
import type { Route } from '../config.js';
import type { EdgeTransport } from '../edge/EdgeTransport.js';
import type { GatewayErrorCode } from '../errors.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { CODEC_INFO, createDecoder, type EdgeCodecInfo, type EdgeCodecName, type FrameDecoder } from '../media/edgeCodecs.js';
import type { DspPool, InboundChain } from '../media/DspPool.js';
import type { SpeexModule } from '../media/InboundDsp.js';
import { Playout } from '../media/Playout.js';
import type { Tickable } from '../media/PlayoutClock.js';
import { Reorderer } from '../media/Reorderer.js';
import { VoiceActivity } from '../media/VoiceActivity.js';
import { BargeInDetector, levelDb } from '../media/BargeIn.js';
import { TokenBucket } from '../rateLimit.js';

export type CallState = 'active' | 'closed';

/** Why a call ended (stable strings: they appear in logs, stop messages and the API). */
export type CloseReason =
  | 'edge_stop'
  | 'edge_closed'
  | 'api_delete'
  | 'agent_hangup'
  | 'agent_closed'
  | 'agent_unreachable'
  | 'agent_timeout'
  | 'shutdown'
  | 'media_timeout'
  | 'error';

export interface CallDeps {
  metrics: Metrics;
  /** where the inbound chain runs (inline or a worker thread) */
  dspPool: DspPool;
  /** this thread's resampler module, for outbound playout */
  speex: SpeexModule;
  resampleQuality: number;
  playoutMaxSeconds: number;
  /** the clock, ms (performance.now; the barge-in evaluation runs calls in simulated time) */
  now?: () => number;
  /** RTP packets/s a call may send before packets are dropped (50 is nominal; bursts of 1 s pass) */
  rtpPacketsPerSecond?: number;
}

export interface CallSetup {
  id: string;
  from: string;
  to: string;
  route: Route;
  codec: EdgeCodecName;
  payloadType: number;
  dtmfPayloadType: number;
}

/** An edge quiet for this long (ms) is taken as silence by the voice-activity detector. */
const SILENT_EDGE_MS = 100;

/** RFC 3389 comfort noise: accepted and ignored (we conceal or pass silence instead). */
const PT_COMFORT_NOISE = 13;

/**
 * One call: owns its edge transport, inbound chain (reorder → decode/conceal → DSP → VAD),
 * agent, and outbound playout. `close()` is idempotent and cascades to every part; the registry
 * and the clock forget the call through `onClosed`.
 */
export class Call implements AgentCommands, Tickable {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly route: Route;
  readonly codec: EdgeCodecInfo;
  readonly payloadType: number;
  readonly dtmfPayloadType: number;
  readonly createdAt = Date.now();
  state: CallState = 'active';
  closeReason: CloseReason | null = null;

  readonly #m: Metrics;
  readonly #rtpBucket: TokenBucket;
  readonly #now: () => number;
  #edge: EdgeTransport | null = null;
  #agent: Agent | null = null;
  readonly #decoder: FrameDecoder;
  readonly #reorder: Reorderer;
  readonly #dsp: InboundChain;
  readonly #vad = new VoiceActivity();
  readonly #bargeIn: BargeInDetector;
  /** line echo canceller for narrowband edges (G.711); null for Opus (48 kHz: 6× the cost) */
  readonly #aec: EchoCanceller | null;
  /** shared sample clock of the canceller: index of the first audio packet's first sample, its RTP timestamp */
  #aecBase = NaN;
  #aecTs0 = 0;
  /** raw levels (dBFS, two per 20 ms) of audio pushed into the DSP, consumed in order by its frames */
  readonly #rawLevels: number[] = [];
  readonly playout: Playout;
  readonly #pkt: RtpPacket = createRtpPacket();
  readonly #pcm = new Int16Array(5760); // one decoded packet, up to 120 ms at 48 kHz
  #ssrc = -1;
  #lastDtmfTs = -1;
  /** RFC 3550 A.8 interarrival jitter, in timestamp units (kept ×16 scaled as the RFC's integer form is not needed) */
  #jitter = 0;
  #lastTransit = NaN;
  #lastPacketAt = 0;
  readonly stats = {
    packetsIn: 0,
    packetsOut: 0,
    bytesIn: 0,
    lost: 0,
    late: 0,
    duplicate: 0,
    concealed: 0,
    dropped: 0,
    framesToAgent: 0,
    dtmfIn: 0,
  };
  onClosed: (call: Call) => void = () => {};
  /** Asked when the agent fails (unreachable, closed, timed out): true if another agent is on its way. */
  onAgentGone: (code: string, reason: string) => boolean = () => false;
  /** agents that failed on this call so far (the failover policy counts them) */
  agentFailures = 0;

  constructor(deps: CallDeps, setup: CallSetup) {
    this.#m = deps.metrics;
    this.#now = deps.now ?? (() => performance.now());
    this.id = setup.id;
    this.from = setup.from;
    this.to = setup.to;
    this.route = setup.route;
    this.codec = CODEC_INFO[setup.codec];
    this.payloadType = setup.payloadType;
    this.dtmfPayloadType = setup.dtmfPayloadType;
    this.#lastPacketAt = this.#now();
    const rate = deps.rtpPacketsPerSecond ?? Infinity;
    this.#rtpBucket = new TokenBucket(rate, Math.max(50, rate / 2));
    this.#decoder = createDecoder(setup.codec);
    this.#bargeIn = new BargeInDetector(setup.route.bargeIn);
    this.#aec = this.codec.pcmRate <= 16000 ? new EchoCanceller({ rate: this.codec.pcmRate }) : null;
    this.#reorder = new Reorderer({
      packet: (pt, ts, payload, arrival) => this.#onOrderedPacket(pt, ts, payload, arrival),
      lost: (n) => this.#onLost(n),
    });
    this.#dsp = deps.dspPool.open(
      { inRate: this.codec.pcmRate, outRate: setup.route.sampleRate, denoise: setup.route.denoise, quality: deps.resampleQuality },
      (frame, vad, arrival) => this.#onAgentFrame(frame, vad, arrival),
      () => this.#drop('DSP_OVERLOAD'),
    );
    this.playout = new Playout(
      deps.speex,
      {
        codec: setup.codec,
        payloadType: setup.payloadType,
        dtmfPayloadType: setup.dtmfPayloadType,
        ssrc: (Math.random() * 0xffffffff) >>> 0,
        agentRate: setup.route.sampleRate,
        maxSeconds: deps.playoutMaxSeconds,
        quality: deps.resampleQuality,
      },
      {
        send: (pkt) => {
          if (this.#edge?.send(pkt)) {
            this.stats.packetsOut++;
            this.#m.packets.inc({ direction: 'out' });
          }
        },
        mark: (name, cleared) => this.#agent?.event({ type: 'mark', name, cleared }),
        overflow: () => this.#drop('PLAYOUT_OVERFLOW'),
        underrun: () => this.#m.underruns.inc(),
        started: (waited) => this.#m.outboundLatency.observe(waited / 1000),
        reference: (now, frame) => {
          this.#bargeIn.reference(now, frame);
          this.#aec?.playRef(frame, Math.round((now * this.codec.pcmRate) / 1000));
        },
      },
    );
  }

  /** What the echo canceller has measured of the echo path (for evaluation and stats). */
  get echoPath(): { erlDb: number; erleDb: number; delayMs: number } {
    const a = this.#aec;
    return a === null || !a.locked
      ? { erlDb: NaN, erleDb: NaN, delayMs: NaN }
      : { erlDb: a.erlDb, erleDb: a.erleDb, delayMs: (1000 * a.delay) / a.rate };
  }

  /** Algorithmic delay of the inbound chain, ms. */
  get inboundDelayMs(): number {
    return this.#dsp.delayMs;
  }

  attachEdge(edge: EdgeTransport): void {
    this.#edge = edge;
  }

  /** The current agent (null before one is attached). */
  get agent(): Agent | null {
    return this.#agent;
  }

  /**
   * Swaps in another agent (a retry or the fallback) after the current one failed. What the old
   * agent queued is dropped: the new one starts its own conversation, and its marks must not
   * wait behind audio nobody will account for.
   */
  replaceAgent(agent: Agent): void {
    this.#agent?.close('agent_replaced');
    this.#agent = null;
    this.playout.clear();
    this.attachAgent(agent);
  }

  /** Sets the agent and sends it the start message. */
  attachAgent(agent: Agent): void {
    this.#agent = agent;
    agent.start({ callId: this.id, from: this.from, to: this.to, params: this.route.params, sampleRate: this.route.sampleRate });
  }

  /** One RTP packet from the edge. `buf` may be borrowed (uWS): nothing keeps it past this call. */
  onRtp(buf: Uint8Array, arrivalMs: number): void {
    if (this.state !== 'active') return;
    // A flood costs the flooder: packets beyond the rate are dropped before any parsing.
    if (!this.#rtpBucket.take(arrivalMs)) return this.#drop('RTP_RATE_LIMITED');
    const p = this.#pkt;
    const err = tryParseRtp(buf, p);
    if (err !== null) return this.#drop(err);
    if (p.payloadType !== this.payloadType && p.payloadType !== this.dtmfPayloadType) {
      if (p.payloadType !== PT_COMFORT_NOISE) this.#drop('RTP_UNKNOWN_PAYLOAD_TYPE');
      return;
    }
    if (p.ssrc !== this.#ssrc) {
      if (this.#ssrc >= 0) {
        // A new source (transfer, re-INVITE, edge restart): start its sequence afresh.
        this.#m.drops.inc({ reason: 'RTP_SSRC_CHANGED' });
        this.#reorder.reset();
        this.#lastTransit = NaN;
        this.#aecBase = NaN;
      }
      this.#ssrc = p.ssrc;
    }
    this.stats.packetsIn++;
    this.stats.bytesIn += buf.length;
    this.#m.packets.inc({ direction: 'in' });
    this.#lastPacketAt = arrivalMs;
    if (p.payloadType === this.payloadType) this.#updateJitter(p.timestamp, arrivalMs);
    const verdict = this.#reorder.push(p.sequenceNumber, p.payloadType, p.timestamp, p.payload, arrivalMs, p.marker);
    if (verdict === 'late') {
      this.stats.late++;
      this.#drop('RTP_LATE');
    } else if (verdict === 'duplicate') {
      this.stats.duplicate++;
      this.#drop('RTP_DUPLICATE');
    }
  }

  /** ms since the last valid packet from the edge. */
  idleMs(nowMs: number): number {
    return nowMs - this.#lastPacketAt;
  }

  /** RFC 3550 §6.4.1 / A.8: J += (|D| − J) / 16, D from transit-time differences. */
  #updateJitter(ts: number, arrivalMs: number): void {
    const transit = (arrivalMs * this.codec.clockRate) / 1000 - ts;
    if (!Number.isNaN(this.#lastTransit)) {
      let d = transit - this.#lastTransit;
      // timestamps wrap at 2^32
      if (d > 2 ** 31) d -= 2 ** 32;
      else if (d < -(2 ** 31)) d += 2 ** 32;
      this.#jitter += (Math.abs(d) - this.#jitter) / 16;
    }
    this.#lastTransit = transit;
  }

  #onOrderedPacket(pt: number, ts: number, payload: Uint8Array, arrivalMs: number): void {
    if (pt === this.dtmfPayloadType) return this.#onTelephoneEvent(ts, payload);
    let n: number;
    try {
      n = this.#decoder.decode(payload, this.#pcm);
    } catch {
      this.#drop('CODEC_BAD_FRAME');
      return;
    }
    if (n === 0) return;
    const pcm = this.#pcm.subarray(0, n);
    if (this.#aec !== null) {
      // Sample clock from RTP timestamps (jitter-free), anchored at the first packet's arrival.
      if (Number.isNaN(this.#aecBase)) {
        this.#aecBase = Math.round(((arrivalMs - 20) * this.codec.pcmRate) / 1000);
        this.#aecTs0 = ts;
      }
      this.#aec.process(pcm, this.#aecBase + tsDiff(this.#aecTs0, ts), pcm);
      if (this.#aec.locked) {
        const delayMs = (1000 * this.#aec.delay) / this.codec.pcmRate + this.#dsp.delayMs;
        this.#bargeIn.setEchoPath(this.#aec.lossDb, Math.round(delayMs / 10));
      }
    }
    this.#pushDsp(pcm, arrivalMs);
  }

  /** Into the inbound chain, remembering the raw level of each 10 ms for the barge-in detector. */
  #pushDsp(pcm: Int16Array, arrivalMs: number): void {
    // one level per 10 ms, as the chain emits two frames' worth of VAD per 20 ms (any packet length)
    const tenMs = this.codec.pcmRate / 100;
    for (let o = 0; o + tenMs <= pcm.length && this.#rawLevels.length < 64; o += tenMs) this.#rawLevels.push(levelDb(pcm, o, o + tenMs));
    if (!this.#dsp.push(pcm, arrivalMs)) this.#drop('DSP_OVERLOAD');
  }

  #onLost(count: number): void {
    this.stats.lost += count;
    // Conceal up to 200 ms; beyond that the concealers are silent anyway, and the agent is
    // better served by fewer, honest frames.
    const frames = Math.min(count, 10);
    const now = this.#now();
    for (let i = 0; i < frames; i++) {
      const n = this.#decoder.conceal(this.#pcm);
      this.stats.concealed++;
      this.#m.concealed.inc();
      this.#pushDsp(this.#pcm.subarray(0, n), now);
    }
  }

  /** RFC 4733 §2.5.1.3–4: report a digit once, on its first end packet (ends are repeated). */
  #onTelephoneEvent(ts: number, payload: Uint8Array): void {
    if (payload.length < 4) return this.#drop('DTMF_TRUNCATED');
    const end = (payload[1]! & 0x80) !== 0;
    if (!end || ts === this.#lastDtmfTs) return;
    this.#lastDtmfTs = ts;
    const digit = dtmfDigit(payload[0]!);
    if (digit === null) return;
    const duration = (payload[2]! << 8) | payload[3]!;
    this.stats.dtmfIn++;
    this.#sendEvent({ type: 'dtmf', digit, durationMs: Math.round((1000 * duration) / this.codec.clockRate) });
  }

  #onAgentFrame(frame: Int16Array, vad: Float32Array, arrivalMs: number): void {
    const agent = this.#agent;
    if (agent === null) return;
    agent.audio(frame);
    this.stats.framesToAgent++;
    this.#m.agentFrames.inc({ direction: 'out' });
    this.#m.inboundLatency.observe((this.#now() - arrivalMs) / 1000);
    const half = frame.length >> 1;
    for (let i = 0; i < 2; i++) {
      // The packet's audio spans the 20 ms before its arrival: halves at −10 ms and 0 ms.
      const t = arrivalMs - 10 + 10 * i;
      const level = levelDb(frame, i * half, (i + 1) * half);
      const verdict = this.#bargeIn.push(t, level, vad[i]!, this.playout.playing, this.#rawLevels.shift() ?? level);
      // Echo of the agent is not the caller: the voice-activity events see only caller speech.
      const ev = this.#vad.push(verdict === null ? Math.min(vad[i]!, 0.1) : vad[i]!);
      if (ev !== null) this.#sendEvent(ev);
      if (verdict === 'barge_in') this.#onBargeIn(t);
    }
  }

  /** The caller talks over the agent: tell the agent how much it heard; with autoClear, stop the audio now. */
  #onBargeIn(tMs: number): void {
    const now = this.#now();
    const atMs = Math.max(0, this.#vad.nowMs - Math.round(tMs - this.#bargeIn.onsetMs) - 10);
    const playedMs = this.playout.heardMs(now);
    const cleared = this.route.bargeIn.autoClear;
    this.#m.bargeIns.inc({ cleared: String(cleared) });
    log('info', 'barge_in', { callId: this.id, atMs, playedMs, cleared });
    this.#sendEvent({ type: 'barge_in', atMs, playedMs, cleared });
    if (cleared) this.playout.clear();
  }

  #sendEvent(ev: GatewayEvent): void {
    this.#agent?.event(ev);
  }

  #drop(reason: GatewayErrorCode): void {
    this.stats.dropped++;
    this.#m.drops.inc({ reason });
  }

  /** Playout clock tick: outbound frame, stale reorder gaps, silence of a discontinuous edge. */
  tick(nowMs: number, slots: number): void {
    if (this.state !== 'active') return;
    this.#reorder.flushStale(nowMs);
    // Edges with silence suppression or DTX (RFC 3389, Opus DTX) stop sending while the caller
    // is quiet: that silence must still end the caller's speech.
    if (this.#vad.speaking && this.idleMs(nowMs) > SILENT_EDGE_MS) {
      for (let i = 0; i < 2; i++) {
        const ev = this.#vad.push(0);
        if (ev !== null) this.#sendEvent(ev);
      }
    }
    this.playout.tick(nowMs, slots);
  }

  // AgentCommands

  audio(bytes: Uint8Array): void {
    this.#m.agentFrames.inc({ direction: 'in' });
    this.playout.enqueue(bytes, this.#now());
  }

  mark(name: string): void {
    this.playout.mark(name, this.#now());
  }

  clear(): void {
    this.playout.clear();
  }

  hangup(reason: string): void {
    log('info', 'agent_hangup', { callId: this.id, reason });
    this.close('agent_hangup');
  }

  dtmf(digits: string): void {
    this.playout.sendDtmf(digits);
  }

  gone(code: string, reason: string): void {
    if (this.state !== 'active') return;
    log('warn', 'agent_gone', { callId: this.id, code, reason });
    if (this.onAgentGone(code, reason)) return;
    this.close(code === 'AGENT_UNREACHABLE' ? 'agent_unreachable' : code === 'AGENT_TIMEOUT' ? 'agent_timeout' : 'agent_closed');
  }

  invalid(code: string, message: string): void {
    this.#drop(code as GatewayErrorCode);
    this.#agent?.event({ type: 'error', code, message });
  }

  /** Ends the call: agent told and released, edge told and released, DSP freed. Idempotent. */
  close(reason: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.#agent?.close(reason);
    this.#edge?.close(reason);
    this.#dsp.close();
    this.#decoder.close();
    this.playout.close();
    log('info', 'call_ended', { callId: this.id, reason, durationMs: Date.now() - this.createdAt, ...this.stats });
    this.onClosed(this);
  }

  /** Live stats for the API. */
  snapshot(): Record<string, unknown> {
    return {
      callId: this.id,
      state: this.state,
      from: this.from,
      to: this.to,
      codec: this.codec.name,
      transport: this.#edge?.kind ?? null,
      agent: { url: this.route.agent.url, dialect: this.route.agent.dialect, sampleRate: this.route.sampleRate },
      startedAt: new Date(this.createdAt).toISOString(),
      packets: {
        in: this.stats.packetsIn,
        out: this.stats.packetsOut,
        lost: this.stats.lost,
        late: this.stats.late,
        duplicate: this.stats.duplicate,
        dropped: this.stats.dropped,
      },
      lossRate: this.stats.packetsIn + this.stats.lost > 0 ? this.stats.lost / (this.stats.packetsIn + this.stats.lost) : 0,
      jitterMs: Math.round((100 * 1000 * this.#jitter) / this.codec.clockRate) / 100,
      framesToAgent: this.stats.framesToAgent,
      concealedFrames: this.stats.concealed,
      playout: { queuedMs: Math.round(this.playout.queuedMs), playing: this.playout.playing, packetsSent: this.playout.packetsSent },
      speaking: this.#vad.speaking,
      delayMs: { inbound: Math.round(this.#dsp.delayMs * 100) / 100, outbound: Math.round(this.playout.delayMs * 100) / 100 },
    };
  }
}
