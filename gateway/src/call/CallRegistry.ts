import { performance } from 'node:perf_hooks';
import type { AgentSupervisor } from '../agent/AgentSupervisor.js';
import type { Settings } from '../settings.js';
import type { Edge } from '../edge/Edge.js';
import { GatewayError } from '../errors.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PlayoutClock } from '../media/PlayoutClock.js';
import { TokenBucket } from '../rateLimit.js';
import type { Headroom } from './Headroom.js';
import { Call } from './Call.js';
import { instanceTag, newCallId } from './callId.js';
import type { CallDeps } from './callTypes.js';
import type { CallRequest } from './callRequest.js';

/**
 * The live calls of this gateway: who may start one (admission), creating it for an edge (its
 * agent connected, its playout on the shared clock), finding it, and ending calls whose edge has
 * gone silent. Each call leaves the registry through its '@close'.
 */
export class CallRegistry {
  readonly #calls = new Map<string, Call>();
  readonly #s: Settings;
  readonly #m: Metrics;
  readonly #clock: PlayoutClock<Call>;
  readonly #agents: AgentSupervisor;
  readonly #callRate: TokenBucket;
  #callDeps: CallDeps | null = null;
  /** measured DSP headroom (set once the DSP pool runs) */
  headroom: Headroom | null = null;
  #draining = false;
  /** the tag of this instance that every call id carries (see callId.ts) */
  readonly #idTag: string;

  constructor(settings: Settings, metrics: Metrics, clock: PlayoutClock<Call>, agents: AgentSupervisor) {
    this.#s = settings;
    this.#m = metrics;
    this.#clock = clock;
    this.#agents = agents;
    this.#callRate = new TokenBucket(settings.callsPerSecond, 2 * settings.callsPerSecond);
    this.#idTag = instanceTag(settings.instance);
  }

  /** What calls are built with; set once the DSP modules are loaded. */
  set callDeps(deps: CallDeps) {
    this.#callDeps = deps;
  }

  get size(): number {
    return this.#calls.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  get(id: string): Call | undefined {
    return this.#calls.get(id);
  }

  all(): IterableIterator<Call> {
    return this.#calls.values();
  }

  /** No new calls from now on (live ones go on). */
  stopAdmitting(): void {
    this.#draining = true;
  }

  /** Why a new call would be refused for capacity now (MAX_CALLS or measured headroom), or null. */
  atCapacity(): string | null {
    if (this.#calls.size >= this.#s.maxCalls) return `gateway is at its maximum of ${this.#s.maxCalls} calls (MAX_CALLS)`;
    const spent = this.headroom?.spent() ?? null;
    return spent === null ? null : `no DSP headroom: ${spent}`;
  }

  /** May a new call start now? Draining and capacity answer 503, a setup flood 429. */
  admit(): void {
    if (this.#draining) throw new GatewayError('DRAINING', 'gateway is draining: no new calls', { status: 503 });
    // The rate first: a setup flood is refused for what it is, before any other check.
    if (!this.#callRate.take(performance.now()))
      throw new GatewayError('RATE_LIMITED', `more than ${this.#s.callsPerSecond} new calls per second (CALL_RATE_LIMIT)`, { status: 429 });
    const full = this.atCapacity();
    if (full !== null) throw new GatewayError('AT_CAPACITY', `${full}: try again later or another instance`, { status: 503 });
  }

  /** A new call on `edge` (admitted already): registered, its agent connecting, its playout on the clock. */
  create(req: CallRequest, edge: Edge, id: string = newCallId(this.#s.instance, this.#idTag)): Call {
    if (this.#callDeps === null) throw new GatewayError('INTERNAL', 'gateway not started');
    const call = new Call(
      this.#callDeps,
      {
        id,
        from: req.from,
        to: req.to,
        route: req.route,
        codec: req.codec,
        payloadType: req.payloadType,
        dtmfPayloadType: req.dtmfPayloadType,
      },
      edge,
    );
    this.#calls.set(call.id, call);
    this.#m.callsActive.inc();
    this.#m.callsTotal.inc({ transport: edge.kind });
    call.once('@close', () => {
      this.#calls.delete(call.id);
      this.#clock.delete(call);
      this.#m.callsActive.dec();
    });
    log('info', 'call_started', {
      callId: call.id,
      transport: edge.kind,
      codec: req.codec,
      from: req.from,
      to: req.to,
      agent: req.route.agent.url,
      dialect: req.route.agent.dialect,
    });
    this.#agents.connect(call);
    this.#clock.add(call);
    return call;
  }

  /** Once a second: queue depths for /metrics, and calls whose edge went silent end. */
  housekeep(): void {
    const now = performance.now();
    for (const call of this.#calls.values()) {
      this.#m.queueDepth.observe(call.playout.queuedMs / 1000);
      if (call.idleMs(now) > this.#s.mediaTimeoutMs) call.close('media_timeout');
    }
  }

  /** Ends every call. */
  closeAll(): void {
    for (const call of [...this.#calls.values()]) call.close('shutdown');
  }
}
