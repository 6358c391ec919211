import type { Call } from '../call/Call.js';
import type { AgentTarget } from '../route.js';
import type { Settings } from '../settings.js';
import { SIGNATURE_HEADER, signDial } from '../auth.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Agent } from './Agent.js';
import { AgentLink } from './AgentLink.js';
import type { DialGuard } from './dialGuard.js';
import { DIALECT_FACTORIES } from './dialects/index.js';
import { EchoAgent } from './EchoAgent.js';
import { Secrets } from './services/secrets.js';
import { ToolRunner } from './services/tools.js';

/** Largest message from an agent, bytes (≈21 s of 24 kHz PCM16 in one burst). */
export const AGENT_MAX_MESSAGE = 1024 * 1024;
/** First retry of a failed agent after this, ms; each further retry waits twice as long. */
const AGENT_RETRY_MS = 200;

interface DialIn {
  link: AgentLink;
  timer: NodeJS.Timeout;
}

/**
 * Gives each call its agent and keeps it supplied: the first agent per the route (dialled out,
 * built in, or awaited as a dial-in), then the route's failover policy when one fails. It alone
 * holds the calls waiting for a dial-in agent and their timers.
 */
export class AgentSupervisor {
  readonly #s: Settings;
  readonly #m: Metrics;
  readonly #dialIns = new Map<string, DialIn>();
  readonly #guard: DialGuard;

  /** `guard`: the gateway's one dial guard (settings.dialAllow), which agent URLs pass. */
  constructor(settings: Settings, metrics: Metrics, guard: DialGuard) {
    this.#s = settings;
    this.#m = metrics;
    this.#guard = guard;
  }

  /** Creates the call's first agent and takes charge of its failures. */
  connect(call: Call): void {
    call.onAgentGone = (code, reason) => this.#failover(call, code, reason);
    call.once('@close', () => {
      this.#stopWaiting(call.id);
    });
    call.attachAgent(this.#agentFor(call, call.route.agent, 0, []));
  }

  /** Whether a call awaits a dial-in agent. */
  awaitsDialIn(callId: string): boolean {
    return this.#dialIns.has(callId);
  }

  /** The link of a call awaiting a dial-in agent, which stops waiting; undefined when none. */
  takeDialIn(callId: string): AgentLink | undefined {
    const d = this.#dialIns.get(callId);
    this.#stopWaiting(callId);
    return d?.link;
  }

  #stopWaiting(callId: string): void {
    const d = this.#dialIns.get(callId);
    if (d === undefined) return;
    clearTimeout(d.timer);
    this.#dialIns.delete(callId);
  }

  /** An agent for `target`, dialled after `delayMs`, starting with `held` caller frames to deliver. */
  #agentFor(call: Call, target: AgentTarget, delayMs: number, held: Int16Array[]): Agent {
    if (target.url === 'builtin:echo') return new EchoAgent(call);
    const secret = this.#s.authSecret;
    // Placeholders are filled per dial, from the environment as it is then (a rotated key is picked up).
    const secrets = new Secrets();
    const ctx = {
      target,
      callId: call.id,
      codec: call.codec,
      secrets,
      guard: this.#guard,
      connectTimeoutMs: this.#s.agentConnectTimeoutMs,
      tools: new ToolRunner(target.tools, {
        callId: call.id,
        dialect: target.dialect,
        guard: this.#guard,
        secret,
        secrets,
        canTransfer: call.edge.transfer !== undefined,
      }),
    };
    const link = new AgentLink(call, {
      dialect: DIALECT_FACTORIES[target.dialect](call.route, ctx),
      drop: (reason, count = 1) => {
        this.#m.drops.inc({ reason }, count);
      },
      maxPayload: AGENT_MAX_MESSAGE,
      guard: this.#guard,
      connectTimeoutMs: this.#s.agentConnectTimeoutMs,
      held,
      redact: (text) => secrets.redact(text),
    });
    if (target.url === 'dial-in') {
      const ms = this.#s.agentAttachTimeoutMs;
      const timer = setTimeout(() => {
        call.gone('AGENT_TIMEOUT', `no agent attached within ${ms} ms`);
      }, ms);
      this.#dialIns.set(call.id, { link, timer });
      return link;
    }
    let url: string;
    let headers: Record<string, string>;
    try {
      url = secrets.fill(target.url, 'the agent URL');
      headers = secrets.headers(target.headers, 'the agent');
    } catch (err) {
      // Told from a timer, as a failed dial would be: the call is still being set up.
      setTimeout(() => link.error(err as Error), 0);
      return link;
    }
    // Signed so the agent can tell the dial is ours, for this call (see auth.ts verifyDial).
    if (secret !== null) Object.assign(headers, { [SIGNATURE_HEADER]: signDial(secret, url, call.id), 'x-gateway-call-id': call.id });
    link.dial(url, headers, delayMs);
    return link;
  }

  /**
   * The route's policy when its agent fails: dial it again `retries` times (200 ms, 400 ms, …
   * apart), then the fallback (with its own retries); then give up and let the call hang up.
   * A dial-in agent that never came is not retried.
   */
  #failover(call: Call, code: string, reason: string): boolean {
    if (code === 'AGENT_TIMEOUT' || call.state !== 'active') return false;
    const { agent, fallback } = call.route;
    const n = ++call.agentFailures;
    const primary = 1 + agent.retries;
    let target: AgentTarget;
    let delayMs: number;
    if (n < primary) {
      target = agent;
      delayMs = AGENT_RETRY_MS * 2 ** (n - 1);
    } else if (fallback !== null && n < primary + 1 + fallback.retries) {
      target = fallback;
      delayMs = n === primary ? 0 : AGENT_RETRY_MS * 2 ** (n - primary - 1);
    } else return false;
    this.#m.agentFailovers.inc({ reason: code, to: target === agent ? 'retry' : 'fallback' });
    log('warn', 'agent_failover', { callId: call.id, code, reason, attempt: n + 1, url: target.url, delayMs });
    this.#stopWaiting(call.id);
    // The caller's words since the failure are passed on, not lost (≤ 1 s, as before connecting).
    const held = call.agent instanceof AgentLink ? call.agent.takeHeld() : [];
    call.replaceAgent(this.#agentFor(call, target, delayMs, held));
    return true;
  }
}
