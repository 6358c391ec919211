import type { Agent, AgentCommands, CallInfo, GatewayEvent } from './Agent.js';
import { AGENT_SEND_LIMIT, dialAgent, type AgentSocket, type SocketHandlers } from './AgentSocket.js';
import { performance } from 'node:perf_hooks';
import { bytesInbox, type SocketInbox } from '../SocketInbox.js';
import type { DialGuard } from './dialGuard.js';
import type { DialectLink, DialectSession, DialTarget } from './dialects/Dialect.js';

/** Caller audio kept while the agent is still connecting: up to 1 s, then the oldest goes. */
const PRECONNECT_FRAMES = 50;
/**
 * Messages an agent may send: 300/s sustained, 1500 at once (a long reply streamed in 20 ms
 * chunks as fast as TTS makes it fits). Beyond, messages are dropped (AGENT_FLOOD) before any
 * parsing; an agent that keeps going past another burst's worth is cut off (1008). Those within
 * the budget are handled a few dozen per event-loop turn (SocketInbox), so one agent cannot stall
 * the event loop that every call's 20 ms clock shares.
 */
const AGENT_MESSAGE_RATE = 300;
const AGENT_MESSAGE_BURST = 1500;

export interface AgentLinkOptions {
  dialect: DialectSession;
  /** told of each caller frame dropped, by reason */
  drop(
    reason: 'AGENT_BACKPRESSURE' | 'AGENT_NOT_CONNECTED' | 'FRAME_TOO_LARGE' | 'AGENT_FLOOD' | 'AGENT_URL_FORBIDDEN',
    count?: number,
  ): void;
  /** where dial-outs may go (absent: anywhere, for embedders and benches) */
  guard?: DialGuard;
  maxPayload: number;
  /** ms the agent has to accept the WebSocket (and a service to set its session up) */
  connectTimeoutMs: number;
  /** caller frames to deliver first (held by a failed predecessor) */
  held?: Int16Array[];
  /** masks secrets in failure reasons (what a service quotes back of its headers) */
  redact?: (text: string) => string;
}

/**
 * A remote agent over WebSocket, in some dialect: either dialled out by the gateway or attached
 * by the agent itself (dial-in). Until the socket is open, caller frames are held (≤ 1 s) so the
 * first words are not lost to the connection setup; a dialect with a handshake (an AI service's
 * session setup) keeps them held until it says the session is ready.
 */
export class AgentLink implements Agent, DialectLink {
  readonly #o: AgentLinkOptions;
  readonly #cmds: AgentCommands;
  #sock: AgentSocket | null = null;
  /** the socket is open: the dialect may speak */
  #sockOpen = false;
  /** caller audio and events flow (socket open and, for a handshake, the session ready) */
  #open = false;
  #info: CallInfo | null = null;
  readonly #pending: Int16Array[] = [];
  #closed = false;
  #dialTimer: NodeJS.Timeout | null = null;
  #setupTimer: NodeJS.Timeout | null = null;
  /** what was dialled (after the dialect's connect step), for a reconnect */
  #target: DialTarget | null = null;
  /** socket generation: events of a socket replaced by a reconnect are ignored */
  #gen = 0;
  /** the last service error that did not end the session, named if the socket closes next */
  #lastError: string | null = null;
  #markReady: () => void = () => {};
  /** the current socket's messages: budget, per-turn bound, order (one per socket generation) */
  #inbox: SocketInbox<Uint8Array> | null = null;
  readonly ready = new Promise<void>((resolve) => {
    this.#markReady = resolve;
  });

  constructor(cmds: AgentCommands, opts: AgentLinkOptions) {
    this.#cmds = cmds;
    this.#o = opts;
    if (opts.held) this.#pending.push(...opts.held.slice(-PRECONNECT_FRAMES));
    opts.dialect.bind?.(this, cmds);
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
    const dialect = this.#o.dialect;
    if (dialect.prepare === undefined) return this.#connect({ url, headers });
    dialect.prepare({ url, headers }).then(
      (t) => {
        this.#connect(t);
      },
      (err: unknown) => {
        this.error(err as Error);
      },
    );
  }

  #connect(t: DialTarget): void {
    if (this.#closed) return;
    this.#target = t;
    const guard = this.#o.guard;
    try {
      guard?.checkUrl(t.url);
    } catch (err) {
      // Reported from a timer, as a failed connection would be: the call is still being set up.
      this.#dialTimer = setTimeout(() => {
        this.#dialTimer = null;
        this.error(err as Error);
      }, 0);
      return;
    }
    const gen = ++this.#gen;
    this.#newInbox();
    const h: SocketHandlers = {
      open: () => gen === this.#gen && this.open(),
      message: (data, isBinary) => gen === this.#gen && this.message(data, isBinary),
      closed: (code, reason) => gen === this.#gen && this.closed(code, reason),
      error: (err) => gen === this.#gen && this.error(err),
    };
    const { maxPayload, connectTimeoutMs, dialect } = this.#o;
    this.#sock = dialAgent(t.url, t.headers, h, maxPayload, connectTimeoutMs, dialect.subprotocol, guard?.lookup);
  }

  /** Dial-in: the agent's socket, already open. */
  attach(sock: AgentSocket): void {
    this.#sock = sock;
    this.#newInbox();
    this.open();
  }

  #newInbox(): void {
    this.#inbox?.close();
    this.#inbox = bytesInbox({
      rate: AGENT_MESSAGE_RATE,
      burst: AGENT_MESSAGE_BURST,
      handle: (data, isBinary) => {
        const sock = this.#sock;
        if (!this.#closed && sock !== null) this.#o.dialect.message(sock, data, isBinary, this.#cmds);
      },
      flooded: (n) => {
        this.#o.drop('AGENT_FLOOD', n);
      },
      cutoff: () => {
        this.#sock?.close(1008, 'message flood');
        this.#closedNow(1008, 'message flood');
      },
    });
  }

  start(info: CallInfo): void {
    this.#info = info;
    if (this.#sockOpen) this.#o.dialect.start(this.#sock!, info);
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
    this.#stopTimers();
    if (this.#sock !== null) {
      if (this.#sockOpen) this.#o.dialect.stop(this.#sock, reason);
      this.#sock.close(1000, reason);
    }
    this.#sockOpen = false;
    this.#open = false;
    this.#pending.length = 0;
    this.#inbox?.close();
    this.#o.dialect.dispose?.();
  }

  #stopTimers(): void {
    if (this.#dialTimer !== null) clearTimeout(this.#dialTimer);
    if (this.#setupTimer !== null) clearTimeout(this.#setupTimer);
    this.#dialTimer = this.#setupTimer = null;
  }

  // DialectLink

  sessionReady(): void {
    if (this.#closed || !this.#sockOpen || this.#open) return;
    if (this.#setupTimer !== null) clearTimeout(this.#setupTimer);
    this.#setupTimer = null;
    this.#open = true;
    this.#markReady();
    for (const f of this.#pending.splice(0)) this.#o.dialect.audio(this.#sock!, f);
  }

  fail(reason: string): void {
    if (this.#closed) return;
    this.#gen++; // what the socket says from now on is about a failure already reported
    this.#inbox?.close();
    this.#sock?.close(1000, 'service error');
    this.#lost('AGENT_CLOSED', reason);
  }

  noteError(text: string): void {
    this.#lastError = text;
  }

  reconnect(): void {
    if (this.#closed || this.#target === null) return;
    this.#gen++;
    this.#sock?.close(1000, 'reconnecting');
    this.#sockOpen = this.#open = false;
    this.#connect(this.#target);
  }

  // Socket events (of the current socket only)

  open(): void {
    if (this.#closed) return;
    this.#sockOpen = true;
    if (this.#info !== null) this.#o.dialect.start(this.#sock!, this.#info);
    if (this.#o.dialect.handshake !== true) return this.sessionReady();
    const ms = this.#o.connectTimeoutMs;
    this.#setupTimer ??= setTimeout(() => {
      this.#setupTimer = null;
      this.fail(`${this.#o.dialect.name ?? 'the agent'} did not set the session up within ${ms} ms`);
    }, ms);
  }

  /** One message of the current socket (`data` borrowed). */
  message(data: Uint8Array, isBinary: boolean): void {
    if (!this.#closed) this.#inbox?.push(data, isBinary, performance.now());
  }

  /** The socket closed: handled after the messages it sent before. */
  closed(code: number, reason: string): void {
    const inbox = this.#inbox;
    if (inbox === null) return this.#closedNow(code, reason);
    inbox.end(() => {
      this.#closedNow(code, reason);
    });
  }

  #closedNow(code: number, reason: string): void {
    this.#sockOpen = this.#open = false;
    if (this.#closed) return;
    if (this.#o.dialect.closedBy?.(code) === 'hangup') {
      this.#o.dialect.dispose?.();
      this.#cmds.hangup(`the service ended the conversation (${code}${reason ? ` ${reason}` : ''})`);
      return;
    }
    const why = `agent closed the socket (${code}${reason ? ` ${reason}` : ''})`;
    this.#lost('AGENT_CLOSED', this.#lastError === null ? why : `${this.#lastError}; ${why}`);
  }

  error(err: Error): void {
    const wasOpen = this.#sockOpen;
    // ws refuses a message over maxPayload with this code and closes 1009 (RFC 6455 §7.4.1)
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#o.drop('FRAME_TOO_LARGE');
    if (code === 'AGENT_URL_FORBIDDEN') this.#o.drop('AGENT_URL_FORBIDDEN');
    this.#sockOpen = this.#open = false;
    this.#lost(wasOpen ? 'AGENT_CLOSED' : 'AGENT_UNREACHABLE', err.message);
  }

  /** The agent is gone: timers and dialect released, the call told (its failover decides what next). */
  #lost(code: 'AGENT_CLOSED' | 'AGENT_UNREACHABLE', reason: string): void {
    this.#sockOpen = this.#open = false;
    if (this.#closed) return;
    this.#stopTimers();
    this.#inbox?.close();
    this.#o.dialect.dispose?.();
    this.#cmds.gone(code, this.#o.redact?.(reason) ?? reason);
  }
}
