import type { AgentTarget, Route } from '../../route.js';
import type { EdgeCodecName } from '../../media/edgeCodecs.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import type { DialGuard } from '../dialGuard.js';
import type { Secrets } from '../services/secrets.js';
import type { ToolRunner } from '../services/tools.js';
import { parseJsonText, type Parsed } from '../../platforms/wire.js';

/**
 * A wire dialect, per call: an envelope translator between the call's semantic interface
 * (Agent / AgentCommands) and one protocol's messages. It holds only envelope state (stream ids,
 * sequence and chunk counters); playout, marks and clear live in the call, shared by all dialects.
 */
export interface DialectSession {
  /** WebSocket subprotocol to offer when dialling out, if the dialect names one */
  readonly subprotocol?: string;
  /** the dialect's name in failure reasons (AI services) */
  readonly name?: string;
  /** true: caller audio is held after `start` until the dialect calls `link.sessionReady()` (a service's session setup) */
  readonly handshake?: boolean;
  /** Called once by the link, first: dialects with timers or handshakes keep the link and the call's commands. */
  bind?(link: DialectLink, cmds: AgentCommands): void;
  /** A step before the WebSocket, which says where to connect (Ultravox creates its call over HTTP first). */
  prepare?(dial: DialTarget): Promise<DialTarget>;
  /** The socket closed with `code`: a service that ends the conversation itself says 'hangup' (not a failure). */
  closedBy?(code: number): 'hangup' | 'failover';
  /** Releases the dialect's timers; called once when the link closes or fails. */
  dispose?(): void;
  start(sock: AgentSocket, info: CallInfo): void;
  /** One 20 ms caller frame at the route's rate (borrowed). Backpressure is the engine's (AgentLink). */
  audio(sock: AgentSocket, frame: Int16Array): void;
  event(sock: AgentSocket, ev: GatewayEvent): void;
  stop(sock: AgentSocket, reason: string): void;
  /** Decodes one agent message into commands. `data` is borrowed. */
  message(sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void;
}

/** Where a dial goes: URL and headers (placeholders already filled). */
export interface DialTarget {
  url: string;
  headers: Readonly<Record<string, string>>;
}

/** What a dialect may ask of its link (AgentLink) beyond the call's commands. */
export interface DialectLink {
  /** The service's session is set up: caller audio flows (what was held first) and the agent counts as ready. */
  sessionReady(): void;
  /** A fatal service error: the socket is closed and the route's failover runs, with this reason. */
  fail(reason: string): void;
  /** A service error that did not end the session: remembered, and named if the socket closes next. */
  noteError(text: string): void;
  /** A new socket to the same service (Gemini's goAway): caller audio is held until `ready` again. */
  reconnect(): void;
}

/** A call's context for the AI-service dialects (agent/services/), given by the supervisor. */
export interface DialectContext {
  /** the agent being dialled (the route's agent or its fallback): `session`, `tools` */
  target: AgentTarget;
  callId: string;
  /** the edge's codec (OpenAI takes G.711 as the edge speaks it) */
  codec: EdgeCodecName;
  tools: ToolRunner;
  /** the values filled into placeholders, to mask in whatever is logged */
  secrets: Secrets;
  guard?: DialGuard | undefined;
  /** ms a service has to answer a connect step or set its session up */
  connectTimeoutMs: number;
}

export type DialectFactory = (route: Route, ctx?: DialectContext) => DialectSession;

const utf8 = new TextDecoder();

/** Parses a text message as a JSON object, or reports CONTROL_INVALID and returns null. */
export function parseObject(data: Uint8Array, cmds: AgentCommands): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(utf8.decode(data));
  } catch {
    cmds.invalid('CONTROL_INVALID', 'text message is not JSON');
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    cmds.invalid('CONTROL_INVALID', 'message must be a JSON object');
    return null;
  }
  return v as Record<string, unknown>;
}

/** A nested object field, or an empty object. */
export function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** `prefix` + 32 lowercase hex digits, as Twilio SIDs are (^XX[0-9a-fA-F]{32}$). */
export function sid(prefix: string, hex32?: string): string {
  if (hex32 !== undefined) return prefix + hex32;
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return prefix + Buffer.from(b).toString('hex');
}

/** The 32 hex digits of a call's UUID, for SIDs derived from the call id. */
export function callHex(callId: string): string {
  return callId.replace(/-/g, '').toLowerCase();
}

/**
 * Decodes one text message with a platform's command parser (`platforms/*`, the same shapes the
 * stream edges use in the other direction); a failure is reported as `invalid` and yields null.
 */
export function parseCommand<T>(data: Uint8Array, parse: (json: unknown) => Parsed<T>, cmds: AgentCommands): T | null {
  const j = parseJsonText(utf8.decode(data));
  const p = j.ok ? parse(j.msg) : j;
  if (p.ok) return p.msg;
  cmds.invalid(p.code, p.reason);
  return null;
}

/** What the Twilio family of platforms (Twilio, Telnyx, Exotel) takes from the app: play, mark, clear. */
export type StreamCommand = { event: 'media'; media: { payload: string } } | { event: 'mark'; mark: { name: string } } | { event: 'clear' };

/** A Twilio-family command as the call's commands; `decode` turns the base64 payload into PCM16 LE. */
export function streamCommand(c: StreamCommand, decode: (b64: string) => Uint8Array, cmds: AgentCommands): void {
  switch (c.event) {
    case 'media':
      return cmds.audio(decode(c.media.payload));
    case 'mark':
      return cmds.mark(c.mark.name);
    case 'clear':
      return cmds.clear();
  }
}

/** Route params as string values (the platforms' custom parameters are strings). */
export function stringParams(params: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}
