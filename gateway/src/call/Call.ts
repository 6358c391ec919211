import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Agent, AgentCommands, GatewayEvent } from '../agent/Agent.js';
import { outputRateOf, type Route } from '../route.js';
import type { Edge } from '../edge/Edge.js';
import type { GatewayErrorCode } from '../errors.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { EdgeCodecName } from '../media/edgeCodecs.js';
import { Playout } from '../media/Playout.js';
import type { Tickable } from '../media/PlayoutClock.js';
import { BargeInMonitor } from './BargeInMonitor.js';
import { duckPlayout } from './duckPlayout.js';
import { CallRecord } from './CallRecord.js';
import type { CallDeps, CallSetup, CloseReason } from './callTypes.js';
import { callSnapshot } from './callSnapshot.js';
import { transferCall } from './callTransfer.js';
import { InboundLeg } from './InboundLeg.js';

/**
 * One call. It owns its parts and wires them; each does one job:
 *   edge → InboundLeg (reorder, decode, echo cancel, DSP) → agent, and → BargeInMonitor
 *   agent → Playout (queue, resample, encode, marks, DTMF) → edge; CallRecord sees both ways
 * `close()` is idempotent and cascades to every part; `'@close'` tells the registry.
 */
export class Call extends EventEmitter<{ '@close': [Call] }> implements AgentCommands, Tickable {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly route: Route;
  readonly codec: EdgeCodecName;
  readonly createdAt = Date.now();
  state: 'active' | 'closed' = 'active';
  closeReason: CloseReason | null = null;
  readonly edge: Edge;
  readonly inbound: InboundLeg;
  readonly monitor: BargeInMonitor;
  readonly playout: Playout;
  readonly record: CallRecord;
  readonly #m: Metrics;
  readonly #now: () => number;
  #agent: Agent | null = null;
  #readyDone: (ready: boolean) => void = () => {};
  readonly #ready = new Promise<boolean>((resolve) => {
    this.#readyDone = resolve;
  });
  /** agentError: why the last agent failed (a service's own error text, keys masked), logged and shown */
  readonly stats = { packetsOut: 0, dropped: 0, framesToAgent: 0, dspRestarts: 0, agentError: null as string | null };
  /** Asked when the agent fails (unreachable, closed, timed out): true if another agent is on its way. */
  onAgentGone: (code: string, reason: string) => boolean = () => false;
  /** agents that failed on this call so far (the failover policy counts them) */
  agentFailures = 0;

  constructor(deps: CallDeps, setup: CallSetup, edge: Edge) {
    super();
    this.#m = deps.metrics;
    this.#now = deps.now ?? (() => performance.now());
    this.id = setup.id;
    this.from = setup.from;
    this.to = setup.to;
    this.route = setup.route;
    this.codec = setup.codec;
    this.edge = edge;
    const route = setup.route;
    this.monitor = new BargeInMonitor(route.bargeIn, deps.vad ?? null, setup.codec, deps.metrics, {
      speech: (ev) => {
        this.#tell(ev);
      },
      bargeIn: (atMs) => {
        this.#onBargeIn(atMs);
      },
      duck: (on, atMs, resumed) => duckPlayout(this, on, atMs, resumed),
    });
    this.inbound = new InboundLeg(
      { pool: deps.dspPool, metrics: deps.metrics, now: this.#now, speex: deps.speex },
      {
        codec: setup.codec,
        payloadType: setup.payloadType,
        dtmfPayloadType: setup.dtmfPayloadType,
        agentRate: route.sampleRate,
        denoise: route.denoise,
        quality: deps.resampleQuality,
      },
      {
        frame: (frame, vad, levels, arrivalMs) => {
          this.#onAgentFrame(frame, vad, levels, arrivalMs);
        },
        dtmf: (digit, durationMs) => {
          this.#tell({ type: 'dtmf', digit, durationMs });
        },
        echoPath: (lossDb, judgedLossDb, delayMs, measuredMs, searchPeak, correlatedErlDb) => {
          this.monitor.echoPath(lossDb, judgedLossDb, delayMs, measuredMs, searchPeak, correlatedErlDb);
        },
        cancelled: (judged, line, rate, atMs, lostMs, lineAtMs) =>
          this.monitor.cancelled(judged, line, rate, atMs, this.playout.playing, lostMs, lineAtMs),
        comfortNoise: (levelDb) => {
          this.monitor.comfortNoise(levelDb);
        },
        drop: (code) => {
          this.#drop(code);
        },
        played: (name) => {
          this.playout.confirm(name);
        },
        ended: (reason) => {
          this.close(reason);
        },
        denoise: (change) => {
          this.#m.denoiseSwitches.inc({ enabled: String(change.enabled) });
          this.#agent?.event({ type: 'denoise', ...change });
        },
        dsp: {
          restarted: () => {
            this.stats.dspRestarts++;
            this.#drop('DSP_WORKER_RESTARTED');
          },
          failed: (message) => {
            log('error', 'dsp_failed', { callId: this.id, message });
            this.close('error');
          },
        },
      },
    );
    this.playout = new Playout(
      deps.speex,
      { codec: setup.codec, agentRate: outputRateOf(route), maxSeconds: deps.playoutMaxSeconds, quality: deps.resampleQuality },
      edge,
      {
        mark: (name, cleared) => {
          this.#tell({ type: 'mark', name, cleared });
        },
        overflow: () => {
          this.#drop('PLAYOUT_OVERFLOW');
        },
        underrun: () => {
          this.record.quality.underrun();
        },
        started: (waited) => {
          this.record.quality.started(waited);
        },
        reference: (playsAtMs, frame, heard) => {
          // The echo is of what the far end plays, weighed in the band the line is heard in (Opus
          // 0–8 kHz, 16 kHz PCM 0–4: InboundLeg `reference`). The recording keeps the audio as sent.
          this.monitor.reference(playsAtMs, this.inbound.reference(playsAtMs, heard));
          this.record.played(playsAtMs, frame);
        },
      },
    );
    this.record = new CallRecord(this, deps);
    edge.attach(this.inbound);
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

  /**
   * Resolves true once an agent of this call can hear the caller (after retries or the fallback,
   * if it comes to that), false if the call ends first. A SIP call is answered only then.
   */
  whenAgentReady(): Promise<boolean> {
    return this.#ready;
  }

  /** Sets the agent and sends it the start message. */
  attachAgent(agent: Agent): void {
    this.#agent = agent;
    const ready = agent.ready ?? Promise.resolve();
    void ready.then(() => {
      if (this.#agent === agent) this.#readyDone(true);
    });
    agent.start({ callId: this.id, from: this.from, to: this.to, params: this.route.params, sampleRate: this.route.sampleRate });
  }

  #onAgentFrame(frame: Int16Array, vad: Float32Array, levels: Float32Array, arrivalMs: number): void {
    const agent = this.#agent;
    if (agent === null) return;
    agent.audio(frame);
    this.stats.framesToAgent++;
    this.#m.agentFrames.inc({ direction: 'out' });
    this.record.toAgent(frame, levels, arrivalMs);
    this.monitor.frame(frame, vad, arrivalMs, this.playout.playing);
  }

  /** The caller talks over the agent: tell the agent how much it heard; with autoClear, stop the audio now. */
  #onBargeIn(atMs: number): void {
    const playedMs = this.playout.heardMs(this.#now());
    const cleared = this.route.bargeIn.autoClear;
    this.#m.bargeIns.inc({ cleared: String(cleared) });
    log('info', 'barge_in', { callId: this.id, atMs, playedMs, cleared });
    this.#tell({ type: 'barge_in', atMs, playedMs, cleared });
    if (cleared) this.playout.clear();
  }

  /** An event for the agent, seen by the call's record on its way. */
  readonly #tell = (ev: GatewayEvent): void => this.#agent?.event(this.record.event(ev));

  #drop(reason: GatewayErrorCode): void {
    this.stats.dropped++;
    this.#m.drops.inc({ reason });
  }

  /** ms since the last valid packet from the edge. */
  idleMs(nowMs: number): number {
    return this.inbound.idleMs(nowMs);
  }

  /** Playout clock tick: stale reorder gaps, silence of a discontinuous edge, the outbound frame. */
  tick(nowMs: number, slots: number): void {
    if (this.state !== 'active') return;
    this.inbound.tick(nowMs);
    this.monitor.tick(nowMs, this.inbound.silentMs(nowMs), this.playout.playing);
    if (this.edge.paused === true) return;
    const before = this.playout.framesSent;
    this.playout.tick(nowMs, slots);
    const sent = this.playout.framesSent - before;
    if (sent > 0) {
      this.stats.packetsOut += sent;
      this.#m.packets.inc({ direction: 'out' }, sent);
    }
  }

  // AgentCommands

  audio(bytes: Uint8Array): void {
    this.#m.agentFrames.inc({ direction: 'in' });
    this.playout.enqueue(bytes, this.#now());
  }

  mark(name: string): void {
    if (!this.playout.mark(name, this.#now())) this.#drop('AGENT_FLOOD');
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

  heardMs(): number {
    return this.playout.heardMs(this.#now());
  }

  transfer(target: string): void {
    transferCall(this, target);
  }

  gone(code: string, reason: string): void {
    if (this.state !== 'active') return;
    log('warn', 'agent_gone', { callId: this.id, code, reason });
    this.stats.agentError = reason;
    if (this.onAgentGone(code, reason)) return;
    this.close(code === 'AGENT_UNREACHABLE' ? 'agent_unreachable' : code === 'AGENT_TIMEOUT' ? 'agent_timeout' : 'agent_closed');
  }

  invalid(code: GatewayErrorCode, message: string): void {
    this.#drop(code);
    this.#agent?.event({ type: 'error', code, message });
  }

  /** Ends the call: agent told and released, edge told and released, DSP freed. Idempotent. */
  close(reason: CloseReason): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.#readyDone(false);
    this.#agent?.close(reason);
    this.edge.close(reason);
    this.inbound.close();
    this.monitor.close();
    this.playout.close();
    this.record.close();
    this.emit('@close', this);
  }

  /** Live stats for the API. */
  snapshot(): Record<string, unknown> {
    return callSnapshot(this);
  }
}
