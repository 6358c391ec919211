import {
  b64,
  bad,
  dtmfDigit,
  int,
  intStr,
  isObj,
  optStr,
  parseWith,
  rec,
  str,
  strArray,
  strRecord,
  tag,
  unknownTag,
  type Parsed,
} from './wire.js';

/**
 * Telnyx media streaming, bidirectional RTP mode, in both directions (agent dialect and edge).
 * Twilio-like in snake_case: `stream_id` is top-level, numbers are strings, and customer
 * messages carry no stream id at all.
 * https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming
 * https://developers.telnyx.com/api-reference/websockets/stream-call-media-over-websocket
 *
 * Telnyx does not guarantee order: consumers reorder media by chunk/sequence_number and DTMF by
 * occurred_at.
 * The webhook side lives in telnyxAnswer.ts (TeXML) and telnyxSignature.ts, re-exported here.
 */

export * from './telnyxAnswer.js';
export * from './telnyxSignature.js';

// --- Telnyx → customer --------------------------------------------------------------------------

export interface TelnyxConnected {
  readonly event: 'connected';
  readonly version: string;
}

export interface TelnyxStart {
  readonly event: 'start';
  readonly sequence_number: string;
  readonly start: {
    readonly user_id?: string;
    readonly call_control_id: string;
    readonly call_session_id?: string;
    readonly from?: string;
    readonly to?: string;
    readonly tags?: readonly string[];
    readonly client_state?: string;
    readonly custom_parameters?: Readonly<Record<string, string>>;
    /** encoding "PCMU" | "PCMA" | … (older docs: "audio/x-mulaw") */
    readonly media_format: { readonly encoding: string; readonly sample_rate: number; readonly channels: number };
  };
  readonly stream_id: string;
}

export interface TelnyxMedia {
  readonly event: 'media';
  readonly sequence_number: string;
  readonly media: { readonly track: string; readonly chunk: string; readonly timestamp: string; readonly payload: string };
  readonly stream_id: string;
}

export interface TelnyxDtmf {
  readonly event: 'dtmf';
  readonly stream_id: string;
  readonly occurred_at: string;
  readonly sequence_number: string;
  readonly dtmf: { readonly digit: string };
}

/** Echo of a customer's mark: played, or dropped by a clear. */
export interface TelnyxMarkEcho {
  readonly event: 'mark';
  readonly stream_id: string;
  readonly sequence_number: string;
  readonly mark: { readonly name: string };
}

export interface TelnyxStop {
  readonly event: 'stop';
  readonly sequence_number: string;
  readonly stop: { readonly user_id?: string; readonly call_control_id: string };
  readonly stream_id: string;
}

/** 100002 unknown_error, 100003 malformed_frame, 100004 invalid_media, 100005 rate_limit_reached */
export interface TelnyxError {
  readonly event: 'error';
  readonly payload: { readonly code: number; readonly title: string; readonly detail: string };
  readonly stream_id: string;
}

export type TelnyxEvent = TelnyxConnected | TelnyxStart | TelnyxMedia | TelnyxDtmf | TelnyxMarkEcho | TelnyxStop | TelnyxError;

// --- customer → Telnyx --------------------------------------------------------------------------

export interface TelnyxSendMedia {
  readonly event: 'media';
  /** base64 RTP payload in the bidirectional codec, 20 ms to 30 s per message */
  readonly media: { readonly payload: string };
}

export interface TelnyxSendMark {
  readonly event: 'mark';
  readonly mark: { readonly name: string };
}

export interface TelnyxClear {
  readonly event: 'clear';
}

export type TelnyxCommand = TelnyxSendMedia | TelnyxSendMark | TelnyxClear;

// --- parsers ------------------------------------------------------------------------------------

export function parseTelnyxEvent(json: unknown): Parsed<TelnyxEvent> {
  return parseWith((): TelnyxEvent => {
    const { m, t } = tag(json);
    switch (t) {
      case 'connected':
        return { event: t, version: str(m, 'version', t) };
      case 'start': {
        const s = rec(m['start'], 'start.start');
        const f = rec(s['media_format'], 'start.media_format');
        const start: Record<string, unknown> = {};
        // optional fields kept in the documented order, absent (or null) ones left out
        for (const k of ['user_id', 'call_control_id', 'call_session_id', 'from', 'to'] as const) {
          const v = k === 'call_control_id' ? str(s, k, 'start.start') : optStr(s, k, 'start.start');
          if (v !== undefined) start[k] = v;
        }
        if (s['tags'] !== undefined && s['tags'] !== null) start['tags'] = strArray(s, 'tags', 'start.start');
        const clientState = optStr(s, 'client_state', 'start.start');
        if (clientState !== undefined) start['client_state'] = clientState;
        if (isObj(s['custom_parameters'])) start['custom_parameters'] = strRecord(s, 'custom_parameters', 'start.start');
        start['media_format'] = {
          encoding: str(f, 'encoding', 'start.media_format'),
          sample_rate: int(f, 'sample_rate', 'start.media_format'),
          channels: int(f, 'channels', 'start.media_format'),
        };
        return {
          event: 'start',
          sequence_number: intStr(m, 'sequence_number', t),
          start: start as unknown as TelnyxStart['start'],
          stream_id: str(m, 'stream_id', t),
        };
      }
      case 'media': {
        const md = rec(m['media'], 'media.media');
        return buildTelnyxMedia({
          sequenceNumber: intStr(m, 'sequence_number', t),
          track: str(md, 'track', 'media.media'),
          chunk: intStr(md, 'chunk', 'media.media'),
          timestamp: intStr(md, 'timestamp', 'media.media'),
          payload: b64(md, 'payload', 'media.media'),
          streamId: str(m, 'stream_id', t),
        });
      }
      case 'dtmf':
        return buildTelnyxDtmf({
          streamId: str(m, 'stream_id', t),
          occurredAt: str(m, 'occurred_at', t),
          sequenceNumber: intStr(m, 'sequence_number', t),
          digit: dtmfDigit(str(rec(m['dtmf'], 'dtmf.dtmf'), 'digit', 'dtmf.dtmf')),
        });
      case 'mark':
        return buildTelnyxMarkEcho({
          streamId: str(m, 'stream_id', t),
          sequenceNumber: intStr(m, 'sequence_number', t),
          name: str(rec(m['mark'], 'mark.mark'), 'name', 'mark.mark'),
        });
      case 'stop': {
        const s = rec(m['stop'], 'stop.stop');
        return buildTelnyxStop({
          sequenceNumber: intStr(m, 'sequence_number', t),
          userId: optStr(s, 'user_id', 'stop.stop'),
          callControlId: str(s, 'call_control_id', 'stop.stop'),
          streamId: str(m, 'stream_id', t),
        });
      }
      case 'error': {
        const p = rec(m['payload'], 'error.payload');
        const code = p['code'];
        if (typeof code !== 'number') return bad('error.payload.code must be a number');
        return {
          event: 'error',
          payload: { code, title: str(p, 'title', 'error.payload'), detail: str(p, 'detail', 'error.payload') },
          stream_id: str(m, 'stream_id', t),
        };
      }
      default:
        return unknownTag(t);
    }
  });
}

export function parseTelnyxCommand(json: unknown): Parsed<TelnyxCommand> {
  return parseWith((): TelnyxCommand => {
    const { m, t } = tag(json);
    switch (t) {
      case 'media':
        return buildTelnyxSendMedia(b64(rec(m['media'], 'media.media'), 'payload', 'media.media'));
      case 'mark':
        return buildTelnyxSendMark(str(rec(m['mark'], 'mark.mark'), 'name', 'mark.mark'));
      case 'clear':
        return buildTelnyxClear();
      default:
        return unknownTag(t);
    }
  });
}

// --- builders -------------------------------------------------------------------------------------

export function buildTelnyxConnected(): TelnyxConnected {
  return { event: 'connected', version: '1.0.0' };
}

export function buildTelnyxStart(f: { sequenceNumber: string; start: TelnyxStart['start']; streamId: string }): TelnyxStart {
  return { event: 'start', sequence_number: f.sequenceNumber, start: f.start, stream_id: f.streamId };
}

export function buildTelnyxMedia(f: {
  sequenceNumber: string;
  track: string;
  chunk: string;
  timestamp: string;
  payload: string;
  streamId: string;
}): TelnyxMedia {
  return {
    event: 'media',
    sequence_number: f.sequenceNumber,
    media: { track: f.track, chunk: f.chunk, timestamp: f.timestamp, payload: f.payload },
    stream_id: f.streamId,
  };
}

export function buildTelnyxDtmf(f: { streamId: string; occurredAt: string; sequenceNumber: string; digit: string }): TelnyxDtmf {
  return { event: 'dtmf', stream_id: f.streamId, occurred_at: f.occurredAt, sequence_number: f.sequenceNumber, dtmf: { digit: f.digit } };
}

export function buildTelnyxMarkEcho(f: { streamId: string; sequenceNumber: string; name: string }): TelnyxMarkEcho {
  return { event: 'mark', stream_id: f.streamId, sequence_number: f.sequenceNumber, mark: { name: f.name } };
}

export function buildTelnyxStop(f: {
  sequenceNumber: string;
  userId?: string | undefined;
  callControlId: string;
  streamId: string;
}): TelnyxStop {
  return {
    event: 'stop',
    sequence_number: f.sequenceNumber,
    stop: f.userId === undefined ? { call_control_id: f.callControlId } : { user_id: f.userId, call_control_id: f.callControlId },
    stream_id: f.streamId,
  };
}

export function buildTelnyxSendMedia(payload: string): TelnyxSendMedia {
  return { event: 'media', media: { payload } };
}

export function buildTelnyxSendMark(name: string): TelnyxSendMark {
  return { event: 'mark', mark: { name } };
}

export function buildTelnyxClear(): TelnyxClear {
  return { event: 'clear' };
}
