import type { GatewayErrorCode } from '../../errors.js';
import type { EdgeCodecName } from '../../media/edgeCodecs.js';
import { parseJsonText, type Parsed } from '../../platforms/wire.js';
import type { StreamWire } from './StreamEdge.js';

/** The platforms that stream calls into the gateway, by the path segment of their endpoints. */
export const CPAAS_PLATFORMS = ['twilio', 'plivo', 'vobiz', 'telnyx', 'exotel', 'vonage'] as const;
export type CpaasPlatform = (typeof CPAAS_PLATFORMS)[number];
export type StreamPlatform = CpaasPlatform | 'asterisk' | 'freeswitch';

/** What a stream's start says, whatever the platform's words for it. */
export interface StreamStart {
  codec: EdgeCodecName;
  /** the one-time token the answer webhook put in the stream's parameters (null: none given) */
  token: string | null;
  /** numbers the platform names itself (PBXes); a CPaaS call takes them from its answer webhook */
  from?: string;
  to?: string;
  /** how to talk back on this stream */
  wire: StreamWire;
}

/** One message from the platform, in the edge's terms. */
export type StreamEvent =
  | { readonly kind: 'start'; readonly start: StreamStart }
  | { readonly kind: 'media'; readonly b64: string }
  | { readonly kind: 'dtmf'; readonly digit: string; readonly durationMs: number }
  | { readonly kind: 'played'; readonly id: string }
  | { readonly kind: 'stop' }
  | { readonly kind: 'ignore' }
  | { readonly kind: 'invalid'; readonly code: GatewayErrorCode; readonly reason: string };

/** One platform's inbound vocabulary, per connection (some hold state: Asterisk's control format). */
export interface StreamProtocol {
  /** Reads one text message. `query`: the connection URL's parameters. */
  text(text: string, query: URLSearchParams): StreamEvent;
  /** Binary messages carry audio (Vonage, Asterisk, FreeSWITCH) rather than being refused. */
  readonly binaryMedia: boolean;
  /** A stream that may begin with audio (FreeSWITCH: its metadata text is optional). */
  implicitStart?(query: URLSearchParams): StreamEvent;
}

export const IGNORE: StreamEvent = { kind: 'ignore' };
export const STOP: StreamEvent = { kind: 'stop' };

export function invalid(reason: string, code: GatewayErrorCode = 'CONTROL_INVALID'): StreamEvent {
  return { kind: 'invalid', code, reason };
}

/** JSON text → the platform's parser → an event; parse failures become `invalid` events. */
export function readJson<T>(text: string, parse: (json: unknown) => Parsed<T>, then: (msg: T) => StreamEvent): StreamEvent {
  const j = parseJsonText(text);
  if (!j.ok) return invalid(j.reason, j.code);
  const p = parse(j.msg);
  return p.ok ? then(p.msg) : invalid(p.reason, p.code);
}

/** base64 of a view, for the JSON media messages. */
export function b64(payload: Uint8Array): string {
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64');
}
