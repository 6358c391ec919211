import { randomUUID } from 'node:crypto';
import { log } from '../../log.js';
import { outputRateOf, type AgentRate, type AgentTarget, type Route } from '../../route.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseObject, type DialectContext, type DialectLink, type DialectSession } from '../dialects/Dialect.js';
import { Secrets } from './secrets.js';
import { ToolRunner, type ToolOutcome, type ToolSpec } from './tools.js';

/** Digits pressed within this long of each other reach the model as one message, ms. */
const DTMF_QUIET_MS = 1000;

const NO_LINK: DialectLink = { sessionReady: () => {}, fail: () => {}, noteError: () => {}, reconnect: () => {} };
const NO_COMMANDS: AgentCommands = {
  audio: () => {},
  mark: () => {},
  clear: () => {},
  hangup: () => {},
  dtmf: () => {},
  transfer: () => {},
  heardMs: () => 0,
  gone: () => {},
  invalid: () => {},
};

/**
 * What the five AI-service dialects share (the gateway is the service's client): the call's
 * context (route options, tools, masked secrets), the hooks to the link, caller digits gathered
 * into one text message, function calls run by the ToolRunner with their follow-ups (hang up
 * once the goodbye has played, transfer), error reporting, and the mute that follows the
 * gateway's own barge-in until the service says its interrupted turn is over.
 *
 * Each vendor's file holds only its messages: session setup, audio both ways, its interruption
 * signal, tool calls and results, text input.
 */
export abstract class ServiceDialect implements DialectSession {
  readonly handshake: boolean = false;
  protected link: DialectLink = NO_LINK;
  protected cmds: AgentCommands = NO_COMMANDS;
  protected sock: AgentSocket | null = null;
  protected readonly target: AgentTarget;
  protected readonly session: Readonly<Record<string, unknown>>;
  /** Hz of the caller audio sent, and of the service's audio */
  protected readonly inRate: AgentRate;
  protected readonly outRate: AgentRate;
  protected readonly ctx: DialectContext;
  /**
   * After the gateway's own barge-in during a turn the service is still streaming, the rest of
   * that turn is dropped until the service confirms the interruption or starts a new turn (its
   * audio comes faster than real time, and would otherwise resume mid-sentence after the clear).
   * Each dialect sets it in `interrupted`, knowing whether its turn is still streaming.
   */
  protected muted = false;
  #errored = false;
  #disposed = false;
  #digits = '';
  #dtmfTimer: NodeJS.Timeout | null = null;
  #hangupMark: string | null = null;

  constructor(
    route: Route,
    ctx: DialectContext | undefined,
    readonly name: string,
  ) {
    this.target = ctx?.target ?? route.agent;
    this.session = this.target.session ?? {};
    this.inRate = route.sampleRate;
    this.outRate = outputRateOf(route);
    const secrets = ctx?.secrets ?? new Secrets({});
    this.ctx = ctx ?? {
      target: this.target,
      callId: '',
      codec: 'PCMU',
      tools: new ToolRunner(this.target.tools, { callId: '', dialect: name, secret: null, secrets, canTransfer: false }),
      secrets,
      connectTimeoutMs: 5000,
    };
  }

  bind(link: DialectLink, cmds: AgentCommands): void {
    this.link = link;
    this.cmds = cmds;
  }

  /** Sends the service's session setup. */
  protected abstract open(sock: AgentSocket, info: CallInfo): void;
  /** One parsed JSON message from the service. */
  protected abstract json(m: Record<string, unknown>): void;
  /** A binary message from the service (audio, in the dialects that frame it so). */
  protected binary(_data: Uint8Array): void {
    this.cmds.invalid('CONTROL_INVALID', `${this.name} sends no binary messages`);
  }
  /** The caller talked over the agent (the gateway's detector): clear, and stop the service's turn its own way. */
  protected abstract interrupted(heardMs: number): void;
  /** Text for the model as if the caller had said it (their keypad digits). */
  protected abstract userText(text: string): void;

  start(sock: AgentSocket, info: CallInfo): void {
    this.sock = sock;
    this.open(sock, info);
  }

  abstract audio(sock: AgentSocket, frame: Int16Array): void;

  event(_sock: AgentSocket, ev: GatewayEvent): void {
    switch (ev.type) {
      case 'barge_in':
        return this.interrupted(ev.playedMs);
      case 'dtmf':
        return this.#digit(ev.digit);
      case 'mark':
        if (ev.name === this.#hangupMark) this.cmds.hangup(`${this.name} agent ended the call`);
        return;
      default:
      // The services detect speech themselves; the gateway's errors to the agent are logged where they arise.
    }
  }

  /** Nothing to say: closing the socket ends a service's session. */
  stop(_sock: AgentSocket, _reason: string): void {
    this.dispose();
  }

  message(sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    this.cmds = cmds;
    this.sock = sock;
    if (isBinary) return this.binary(data);
    const m = parseObject(data, cmds);
    if (m !== null) this.json(m);
  }

  /** A normal close without an error is the service ending the conversation (its own hang-up tool); anything else fails over. */
  closedBy(code: number): 'hangup' | 'failover' {
    return code === 1000 && !this.#errored ? 'hangup' : 'failover';
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#dtmfTimer !== null) clearTimeout(this.#dtmfTimer);
    this.#dtmfTimer = null;
  }

  protected get disposed(): boolean {
    return this.#disposed;
  }

  protected send(msg: unknown): void {
    this.sock?.sendText(JSON.stringify(msg));
  }

  /** Queues the service's audio (PCM16 LE at `outRate`) for the caller, unless muted by a barge-in. */
  protected play(pcm: Uint8Array): void {
    if (!this.muted) this.cmds.audio(pcm);
  }

  /** The service stopped its turn (its own interruption signal) or began a new one: audio plays again. */
  protected unmute(): void {
    this.muted = false;
  }

  /**
   * A service error. Fatal: the session is over and the route's retries or fallback take the call.
   * Otherwise it is logged and remembered, and named if the service closes next.
   */
  protected serviceError(text: string, fatal: boolean): void {
    const msg = this.ctx.secrets.redact(`${this.name}: ${text}`);
    this.#errored = true;
    log('warn', 'agent_service_error', { callId: this.ctx.callId, dialect: this.name, error: msg, fatal });
    if (fatal) this.link.fail(msg);
    else this.link.noteError(msg);
  }

  /** The built-in tools to declare in the session (the route switches them on). */
  protected builtinTools(): ToolSpec[] {
    return this.ctx.tools.builtins();
  }

  /** Runs a function call; `reply` sends its output back in the service's terms, then the follow-up happens. */
  protected callTool(name: string, args: unknown, reply: (output: string) => void): void {
    void this.ctx.tools.run(name, args).then((r: ToolOutcome) => {
      if (this.#disposed) return;
      reply(r.output);
      if (r.then === undefined) return;
      if ('transfer' in r.then) this.cmds.transfer(r.then.transfer);
      else {
        // The goodbye is still queued: hang up once it has played (the mark comes back then).
        this.#hangupMark = `hangup-${randomUUID()}`;
        this.cmds.mark(this.#hangupMark);
      }
    });
  }

  #digit(d: string): void {
    this.#digits += d;
    if (this.#dtmfTimer !== null) clearTimeout(this.#dtmfTimer);
    this.#dtmfTimer = null;
    if (d === '#') return this.#flushDigits();
    this.#dtmfTimer = setTimeout(() => {
      this.#dtmfTimer = null;
      this.#flushDigits();
    }, DTMF_QUIET_MS);
  }

  #flushDigits(): void {
    const digits = this.#digits;
    this.#digits = '';
    if (digits !== '' && !this.#disposed) this.userText(`The caller pressed ${digits.split('').join(' ')} on the phone keypad.`);
  }
}

/** A field of a service's message as text for a log line (a string, a number, else its JSON). */
export function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);
}

/** Base64 of PCM16 frame bytes (little-endian on every platform the gateway runs on). */
export function pcmBase64(frame: Int16Array): string {
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength).toString('base64');
}
