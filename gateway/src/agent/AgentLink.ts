import type { Agent, AgentCommands, CallInfo, GatewayEvent } from './Agent.js';
import { AGENT_SEND_LIMIT, dialAgent, type AgentSocket, type SocketHandlers } from './AgentSocket.js';
import { performance } from 'node:perf_hooks';
import { TokenBucket } from '../rateLimit.js';
import type { DialGuard } from './dialGuard.js';
import type { DialectSession } from './dialects/Dialect.js';

/** Caller audio kept while the agent is still connecting: up to 1 s, then the oldest goes. */
const PRECONNECT_FRAMES = 50;
/**
 * Messages an agent may send: 300/s sustained, 1500 at once (a long reply streamed in 20 ms
 * chunks as fast as TTS makes it fits). Beyond, messages are dropped (AGENT_FLOOD) before any
 * parsing, so one agent cannot stall the event loop that every call's 20 ms clock shares; an
 * agent that keeps going past another burst's worth is cut off (1008).
 */
const AGENT_MESSAGE_RATE = 300;
const AGENT_MESSAGE_BURST = 1500;

export interface AgentLinkOptions {
  dialect: DialectSession;
  /** told of each caller frame dropped, by reason */
  drop(reason: 'AGENT_BACKPRESSURE' | 'AGENT_NOT_CONNECTED' | 'FRAME_TOO_LARGE' | 'AGENT_FLOOD' | 'AGENT_URL_FORBIDDEN'): void;
  /** where dial-outs may go (absent: anywhere, for embedders and benches) */
  guard?: DialGuard;
  maxPayload: number;
  /** ms the agent has to accept the WebSocket */
  connectTimeoutMs: number;
  /** caller frames to deliver first (held by a failed predecessor) */
  held?: Int16Array[];
}

/**
 * A remote agent over WebSocket, in some dialect: either dialled out by the gateway or attached
 * by the agent itself (dial-in). Until the socket is open, caller frames are held (≤ 1 s) so the
 * first words are not lost to the connection setup.
 */
export class AgentLink implements Agent, SocketHandlers {
  readonly #o: AgentLinkOptions;
  readonly #cmds: AgentCommands;
  #sock: AgentSocket | null = null;
  #open = false;
  #info: CallInfo | null = null;
  readonly #pending: Int16Array[] = [];
  #closed = false;
  #dialTimer: NodeJS.Timeout | null = null;
  #markReady: () => void = () => {};
  readonly #budget = new TokenBucket(AGENT_MESSAGE_RATE, AGENT_MESSAGE_BURST);
  #flooded = 0;
  readonly ready = new Promise<void>((resolve) => {
    this.#markReady = resolve;
  });

  constructor(cmds: AgentCommands, opts: AgentLinkOptions) {
    this.#cmds = cmds;
    this.#o = opts;
    if (opts.held) this.#pending.push(...opts.held.slice(-PRECONNECT_FRAMES));
  }

  /** The caller frames still waiting for this (failed) agent; they move to its successor. */
  takeHeld(): Int16Array[] {
    return this.#pending.splice(0);
  }

  /** Dial-out: connect to the agent's URL, after `delayMs` (a retry's backoff; caller audio is held meanwhile). */
  dial(url: string, headers: Readonly<Record<string, string>>, delayMs = 0): void {
    if (delayMs > 0) {
      this.#dialTimer = setTimeout(() => {
        this.#dialTimer = null;
        this.dial(url, headers);
      }, delayMs);
      return;
    }
    if (this.#closed) return;
    const guard = this.#o.guard;
    try {
      guard?.checkUrl(url);
    } catch (err) {
      // Reported from a timer, as a failed connection would be: the call is still being set up.
      this.#dialTimer = setTimeout(() => {
        this.#dialTimer = null;
        this.error(err as Error);
      }, 0);
      return;
    }
    this.#sock = dialAgent(url, headers, this, this.#o.maxPayload, this.#o.connectTimeoutMs, this.#o.dialect.subprotocol, guard?.lookup);
  }

  /** Dial-in: the agent's socket, already open. */
  attach(sock: AgentSocket): void {
    this.#sock = sock;
    this.open();
  }

  start(info: CallInfo): void {
    this.#info = info;
    if (this.#open) this.#o.dialect.start(this.#sock!, info);
  }

  audio(frame: Int16Array): void {
    if (this.#closed) return;
    if (!this.#open) {
      if (this.#pending.length >= PRECONNECT_FRAMES) {
        this.#pending.shift();
        this.#o.drop('AGENT_NOT_CONNECTED');
      }
      this.#pending.push(frame.slice());
      return;
    }
    const sock = this.#sock!;
    // Whatever the dialect's framing (binary PCM, JSON with base64), an agent that is not reading
    // leaves bytes unsent on its socket: beyond the limit its caller audio is dropped and counted.
    if (sock.bufferedAmount() > AGENT_SEND_LIMIT) this.#o.drop('AGENT_BACKPRESSURE');
    else this.#o.dialect.audio(sock, frame);
  }

  event(ev: GatewayEvent): void {
    if (this.#open && !this.#closed) this.#o.dialect.event(this.#sock!, ev);
  }

  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#dialTimer !== null) clearTimeout(this.#dialTimer);
    if (this.#sock !== null) {
      if (this.#open) this.#o.dialect.stop(this.#sock, reason);
      this.#sock.close(1000, reason);
    }
    this.#open = false;
    this.#pending.length = 0;
  }

  // SocketHandlers

  open(): void {
    if (this.#closed) return;
    this.#open = true;
    this.#markReady();
    if (this.#info !== null) this.#o.dialect.start(this.#sock!, this.#info);
    for (const f of this.#pending.splice(0)) this.#o.dialect.audio(this.#sock!, f);
  }

  message(data: Uint8Array, isBinary: boolean): void {
    const sock = this.#sock;
    if (this.#closed || sock === null) return;
    if (!this.#budget.take(performance.now())) {
      this.#o.drop('AGENT_FLOOD');
      if (++this.#flooded === AGENT_MESSAGE_BURST) {
        sock.close(1008, 'message flood');
        this.closed(1008, 'message flood');
      }
      return;
    }
    this.#o.dialect.message(sock, data, isBinary, this.#cmds);
  }

  closed(code: number, reason: string): void {
    this.#open = false;
    if (!this.#closed) this.#cmds.gone('AGENT_CLOSED', `agent closed the socket (${code}${reason ? ` ${reason}` : ''})`);
  }

  error(err: Error): void {
    const wasOpen = this.#open;
    // ws refuses a message over maxPayload with this code and closes 1009 (RFC 6455 §7.4.1)
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#o.drop('FRAME_TOO_LARGE');
    if (code === 'AGENT_URL_FORBIDDEN') this.#o.drop('AGENT_URL_FORBIDDEN');
    this.#open = false;
    if (!this.#closed) this.#cmds.gone(wasOpen ? 'AGENT_CLOSED' : 'AGENT_UNREACHABLE', err.message);
  }
}
