import type { Route } from '../../route.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseJsonText, type Parsed } from '../../platforms/wire.js';

/**
 * A wire dialect, per call: an envelope translator between the call's semantic interface
 * (Agent / AgentCommands) and one protocol's messages. It holds only envelope state (stream ids,
 * sequence and chunk counters); playout, marks and clear live in the call, shared by all dialects.
 */
export interface DialectSession {
  /** WebSocket subprotocol to offer when dialling out, if the dialect names one */
  readonly subprotocol?: string;
  start(sock: AgentSocket, info: CallInfo): void;
  /** One 20 ms caller frame at the route's rate (borrowed). Backpressure is the engine's (AgentLink). */
  audio(sock: AgentSocket, frame: Int16Array): void;
  event(sock: AgentSocket, ev: GatewayEvent): void;
  stop(sock: AgentSocket, reason: string): void;
  /** Decodes one agent message into commands. `data` is borrowed. */
  message(sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void;
}

export type DialectFactory = (route: Route) => DialectSession;

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
