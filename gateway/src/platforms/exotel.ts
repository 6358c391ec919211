import { b64, bad, dtmfDigit, optStr, parseWith, rec, str, strRecord, tag, unknownTag, isObj, type Obj, type Parsed } from './wire.js';

/**
 * Exotel Voicebot (AgentStream), bidirectional, in both directions (agent dialect and edge).
 * Audio is raw slin: 16-bit little-endian mono PCM in base64, 8 kHz by default (16/24 kHz via
 * `?sample-rate=` on the stream URL); Exotel sends ~100 ms chunks.
 * https://developer.exotel.com/docs/agentstream/websocket-protocol
 * https://developer.exotel.com/docs/agentstream/stream-voicebot-applet
 *
 * Exotel's pages disagree on number types (sequence_number, chunk: "1" on one page, 1 on another)
 * and on media_format ("audio/x-raw"/"16" vs "raw"/"128"). The parser accepts both and yields
 * the strings of the protocol page; builders emit those.
 */

// --- Exotel → customer --------------------------------------------------------------------------

export interface ExotelConnected {
  readonly event: 'connected';
}

export interface ExotelStart {
  readonly event: 'start';
  readonly sequence_number: string;
  readonly stream_sid: string;
  readonly start: {
    readonly stream_sid: string;
    readonly call_sid: string;
    readonly account_sid: string;
    readonly from: string;
    readonly to: string;
    /** up to 3 query parameters of the applet's URL */
    readonly custom_parameters: Readonly<Record<string, string>>;
    readonly media_format: { readonly encoding: string; readonly sample_rate: string; readonly bit_rate: string };
  };
}

export interface ExotelMedia {
  readonly event: 'media';
  readonly sequence_number: string;
  readonly stream_sid: string;
  readonly media: { readonly chunk: string; readonly timestamp: string; readonly payload: string };
}

export interface ExotelDtmf {
  readonly event: 'dtmf';
  readonly sequence_number: string;
  readonly stream_sid: string;
  readonly dtmf: { readonly digit: string; readonly duration: string };
}

/** Echo of a customer's mark once the audio before it has played. */
export interface ExotelMarkEcho {
  readonly event: 'mark';
  readonly sequence_number: string;
  readonly stream_sid: string;
  readonly mark: { readonly name: string };
}

export interface ExotelStop {
  readonly event: 'stop';
  readonly sequence_number: string;
  readonly stream_sid: string;
  /** reason: "stopped" (applet ended) or "callended" (caller hung up) */
  readonly stop: { readonly call_sid: string; readonly account_sid: string; readonly reason: string };
}

export type ExotelEvent = ExotelConnected | ExotelStart | ExotelMedia | ExotelDtmf | ExotelMarkEcho | ExotelStop;

// --- customer → Exotel --------------------------------------------------------------------------

/** Outgoing chunks: ≥ 3.2 KB (100 ms at 8 kHz), ≤ 100 KB, a multiple of 320 B (else 20 ms gaps). */
export const EXOTEL_CHUNK = { minBytes: 3200, maxBytes: 100_000, multipleOf: 320 } as const;

export interface ExotelSendMedia {
  readonly event: 'media';
  readonly stream_sid: string;
  readonly media: { readonly payload: string };
}

export interface ExotelSendMark {
  readonly event: 'mark';
  readonly stream_sid: string;
  readonly mark: { readonly name: string };
}

export interface ExotelClear {
  readonly event: 'clear';
  readonly stream_sid: string;
}

export type ExotelCommand = ExotelSendMedia | ExotelSendMark | ExotelClear;

// --- parsers ------------------------------------------------------------------------------------

export function parseExotelEvent(json: unknown): Parsed<ExotelEvent> {
  return parseWith((): ExotelEvent => {
    const { m, t } = tag(json);
    switch (t) {
      case 'connected':
        return { event: t };
      case 'start': {
        const s = rec(m['start'], 'start.start');
        const f = rec(s['media_format'], 'start.media_format');
        return buildExotelStart({
          sequenceNumber: numText(m, 'sequence_number', t),
          streamSid: str(m, 'stream_sid', t),
          callSid: str(s, 'call_sid', 'start.start'),
          accountSid: str(s, 'account_sid', 'start.start'),
          from: str(s, 'from', 'start.start'),
          to: str(s, 'to', 'start.start'),
          customParameters: isObj(s['custom_parameters']) ? strRecord(s, 'custom_parameters', 'start.start') : {},
          encoding: str(f, 'encoding', 'start.media_format'),
          sampleRate: numText(f, 'sample_rate', 'start.media_format'),
          bitRate: numText(f, 'bit_rate', 'start.media_format'),
        });
      }
      case 'media': {
        const md = rec(m['media'], 'media.media');
        return buildExotelMedia({
          sequenceNumber: numText(m, 'sequence_number', t),
          streamSid: str(m, 'stream_sid', t),
          chunk: numText(md, 'chunk', 'media.media'),
          timestamp: numText(md, 'timestamp', 'media.media'),
          payload: b64(md, 'payload', 'media.media', 2),
        });
      }
      case 'dtmf': {
        const d = rec(m['dtmf'], 'dtmf.dtmf');
        return buildExotelDtmf({
          sequenceNumber: numText(m, 'sequence_number', t),
          streamSid: str(m, 'stream_sid', t),
          digit: dtmfDigit(str(d, 'digit', 'dtmf.dtmf')),
          duration: d['duration'] === undefined ? '0' : numText(d, 'duration', 'dtmf.dtmf'),
        });
      }
      case 'mark':
        return buildExotelMarkEcho({
          sequenceNumber: numText(m, 'sequence_number', t),
          streamSid: str(m, 'stream_sid', t),
          name: str(rec(m['mark'], 'mark.mark'), 'name', 'mark.mark'),
        });
      case 'stop': {
        const s = rec(m['stop'], 'stop.stop');
        return buildExotelStop({
          sequenceNumber: numText(m, 'sequence_number', t),
          streamSid: str(m, 'stream_sid', t),
          callSid: str(s, 'call_sid', 'stop.stop'),
          accountSid: str(s, 'account_sid', 'stop.stop'),
          reason: optStr(s, 'reason', 'stop.stop') ?? '',
        });
      }
      default:
        return unknownTag(t);
    }
  });
}

/** Sizes are not enforced here (agents may send any); an edge re-chunks to EXOTEL_CHUNK. */
export function parseExotelCommand(json: unknown): Parsed<ExotelCommand> {
  return parseWith((): ExotelCommand => {
    const { m, t } = tag(json);
    switch (t) {
      case 'media':
        return buildExotelSendMedia(str(m, 'stream_sid', t), b64(rec(m['media'], 'media.media'), 'payload', 'media.media', 2));
      case 'mark':
        return buildExotelSendMark(str(m, 'stream_sid', t), str(rec(m['mark'], 'mark.mark'), 'name', 'mark.mark'));
      case 'clear':
        return buildExotelClear(str(m, 'stream_sid', t));
      default:
        return unknownTag(t);
    }
  });
}

/** A non-negative integer sent as a string or a number, as text. */
function numText(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return v;
  return bad(`${path}.${key} must be a non-negative integer`);
}

// --- builders -------------------------------------------------------------------------------------

export function buildExotelConnected(): ExotelConnected {
  return { event: 'connected' };
}

export function buildExotelStart(f: {
  sequenceNumber: string;
  streamSid: string;
  callSid: string;
  accountSid: string;
  from: string;
  to: string;
  customParameters: Readonly<Record<string, string>>;
  encoding?: string;
  sampleRate: string;
  bitRate?: string;
}): ExotelStart {
  return {
    event: 'start',
    sequence_number: f.sequenceNumber,
    stream_sid: f.streamSid,
    start: {
      stream_sid: f.streamSid,
      call_sid: f.callSid,
      account_sid: f.accountSid,
      from: f.from,
      to: f.to,
      custom_parameters: f.customParameters,
      media_format: { encoding: f.encoding ?? 'audio/x-raw', sample_rate: f.sampleRate, bit_rate: f.bitRate ?? '16' },
    },
  };
}

export function buildExotelMedia(f: {
  sequenceNumber: string;
  streamSid: string;
  chunk: string;
  timestamp: string;
  payload: string;
}): ExotelMedia {
  return {
    event: 'media',
    sequence_number: f.sequenceNumber,
    stream_sid: f.streamSid,
    media: { chunk: f.chunk, timestamp: f.timestamp, payload: f.payload },
  };
}

export function buildExotelDtmf(f: { sequenceNumber: string; streamSid: string; digit: string; duration: string }): ExotelDtmf {
  return { event: 'dtmf', sequence_number: f.sequenceNumber, stream_sid: f.streamSid, dtmf: { digit: f.digit, duration: f.duration } };
}

export function buildExotelMarkEcho(f: { sequenceNumber: string; streamSid: string; name: string }): ExotelMarkEcho {
  return { event: 'mark', sequence_number: f.sequenceNumber, stream_sid: f.streamSid, mark: { name: f.name } };
}

export function buildExotelStop(f: {
  sequenceNumber: string;
  streamSid: string;
  callSid: string;
  accountSid: string;
  reason: string;
}): ExotelStop {
  return {
    event: 'stop',
    sequence_number: f.sequenceNumber,
    stream_sid: f.streamSid,
    stop: { call_sid: f.callSid, account_sid: f.accountSid, reason: f.reason },
  };
}

export function buildExotelSendMedia(streamSid: string, payload: string): ExotelSendMedia {
  return { event: 'media', stream_sid: streamSid, media: { payload } };
}

export function buildExotelSendMark(streamSid: string, name: string): ExotelSendMark {
  return { event: 'mark', stream_sid: streamSid, mark: { name } };
}

export function buildExotelClear(streamSid: string): ExotelClear {
  return { event: 'clear', stream_sid: streamSid };
}

// --- applet answer ------------------------------------------------------------------------------

/**
 * Exotel has no answer document: the Voicebot applet's URL is either the wss:// URL itself or an
 * https:// endpoint that answers with this JSON, naming the stream URL for this call.
 * https://developer.exotel.com/docs/agentstream/stream-voicebot-applet
 */
export function buildExotelStreamUrlAnswer(url: string): { readonly url: string } {
  return { url };
}
