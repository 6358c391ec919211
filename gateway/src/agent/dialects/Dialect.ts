import type { Route } from '../../route.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';

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
 * The agent→CPaaS commands of the Twilio family (Twilio, Telnyx, Exotel): `media` with a base64
 * payload, `mark` with a name, `clear`. Reports anything else as CONTROL_INVALID.
 */
export function streamCommand(m: Record<string, unknown>, decode: (b64: string) => Uint8Array, cmds: AgentCommands): void {
  switch (m['event']) {
    case 'media': {
      const payload = obj(m['media'])['payload'];
      if (typeof payload !== 'string') return cmds.invalid('CONTROL_INVALID', 'media.payload must be a base64 string');
      return cmds.audio(decode(payload));
    }
    case 'mark': {
      const name = obj(m['mark'])['name'];
      if (typeof name !== 'string') return cmds.invalid('CONTROL_INVALID', 'mark.name must be a string');
      return cmds.mark(name);
    }
    case 'clear':
      return cmds.clear();
    default:
      return cmds.invalid('CONTROL_INVALID', `unknown event ${JSON.stringify(m['event'])}`);
  }
}
