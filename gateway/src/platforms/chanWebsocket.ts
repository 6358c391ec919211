import { fail, parseJsonText, show, type Parsed } from './wire.js';

/**
 * Asterisk chan_websocket, both directions: BINARY frames are raw media in the channel's format,
 * TEXT frames are control (plain text, or JSON since 20.18/22.8/23.2).
 * https://docs.asterisk.org/Configuration/Channel-Drivers/WebSocket/
 */

/** Larger WebSocket messages make Asterisk close the socket and hang up. */
export const ASTERISK_WS_MAX_MESSAGE = 65500;

export type AsteriskControlFormat = 'json' | 'plain-text';

// --- Asterisk → customer ------------------------------------------------------------------------

export interface AsteriskMediaStart {
  readonly event: 'MEDIA_START';
  readonly connection_id: string;
  readonly channel: string;
  readonly channel_id?: string; // not in older plain-text MEDIA_START
  readonly format: string; // ulaw, alaw, slin, slin16, …
  readonly optimal_frame_size: number;
  readonly ptime?: number;
  readonly channel_variables?: Readonly<Record<string, string>>; // JSON only
}

export interface AsteriskDtmfEnd {
  readonly event: 'DTMF_END';
  readonly channel_id?: string;
  readonly digit: string;
}

export interface AsteriskFlowEvent {
  readonly event: 'MEDIA_XOFF' | 'MEDIA_XON' | 'QUEUE_DRAINED';
  readonly channel_id?: string;
}

/** MEDIA_MARK_PROCESSED: a MARK_MEDIA reached the head of the queue (= about to be heard). */
export interface AsteriskCorrelatedEvent {
  readonly event: 'MEDIA_BUFFERING_COMPLETED' | 'MEDIA_MARK_PROCESSED';
  readonly channel_id?: string;
  readonly correlation_id?: string;
}

export interface AsteriskStatus {
  readonly event: 'STATUS';
  readonly channel_id?: string;
  readonly queue_length: number;
  readonly xon_level: number;
  readonly xoff_level: number;
  readonly queue_full: boolean;
  readonly bulk_media: boolean;
  readonly media_paused: boolean;
}

export type AsteriskWsEvent = AsteriskMediaStart | AsteriskDtmfEnd | AsteriskFlowEvent | AsteriskCorrelatedEvent | AsteriskStatus;

// --- customer → Asterisk ------------------------------------------------------------------------

export interface AsteriskSimpleCommand {
  /** FLUSH_MEDIA drops queued media (barge-in) */
  readonly command: 'ANSWER' | 'HANGUP' | 'START_MEDIA_BUFFERING' | 'FLUSH_MEDIA' | 'GET_STATUS' | 'REPORT_QUEUE_DRAINED';
}

export interface AsteriskCorrelatedCommand {
  readonly command: 'STOP_MEDIA_BUFFERING' | 'MARK_MEDIA';
  readonly correlation_id?: string;
}

export type AsteriskWsCommand = AsteriskSimpleCommand | AsteriskCorrelatedCommand;

const SIMPLE_COMMANDS = ['ANSWER', 'HANGUP', 'START_MEDIA_BUFFERING', 'FLUSH_MEDIA', 'GET_STATUS', 'REPORT_QUEUE_DRAINED'] as const;
const CORRELATED_COMMANDS = ['STOP_MEDIA_BUFFERING', 'MARK_MEDIA'] as const;

// --- text framing -------------------------------------------------------------------------------

/**
 * A control message as key/value fields, from either format: JSON `{"event"|"command": X, …}`,
 * or plain text `X key:value key:value` where a bare word is the correlation id (as in the
 * documented `STOP_MEDIA_BUFFERING <id>` and `MEDIA_BUFFERING_COMPLETED [<id>]`).
 */
function fields(text: string, key: 'event' | 'command'): Parsed<Readonly<Record<string, unknown>>> {
  if (text.length > ASTERISK_WS_MAX_MESSAGE) return fail(`control message of ${text.length} chars`, 'FRAME_TOO_LARGE');
  if (text.trimStart().startsWith('{')) {
    const j = parseJsonText(text);
    if (!j.ok) return j;
    if (typeof j.msg !== 'object' || j.msg === null || Array.isArray(j.msg)) return fail('control message must be a JSON object');
    return { ok: true, msg: j.msg as Record<string, unknown> };
  }
  const [name, ...rest] = text.trim().split(/\s+/);
  const out: Record<string, unknown> = { [key]: name };
  for (const tok of rest) {
    const i = tok.indexOf(':');
    if (i > 0) out[tok.slice(0, i)] = tok.slice(i + 1);
    else out['correlation_id'] = tok;
  }
  return { ok: true, msg: out };
}

function optS(o: Readonly<Record<string, unknown>>, k: string): string | undefined | null {
  const v = o[k];
  return v === undefined ? undefined : typeof v === 'string' ? v : null;
}

/** A number in JSON, or its decimal text in plain-text messages. */
function num(o: Readonly<Record<string, unknown>>, k: string): number | null {
  const v = o[k];
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d{1,9}$/.test(v)) return Number(v);
  return null;
}

function bool(o: Readonly<Record<string, unknown>>, k: string): boolean | null {
  const v = o[k];
  return v === true || v === 'true' ? true : v === false || v === 'false' ? false : null;
}

/** Parses one TEXT frame Asterisk sends, in either control format. */
export function parseAsteriskWsEvent(text: string): Parsed<AsteriskWsEvent> {
  const f = fields(text, 'event');
  if (!f.ok) return f;
  const o = f.msg;
  const channelId = optS(o, 'channel_id');
  if (channelId === null) return fail('channel_id must be a string');
  const cid = channelId === undefined ? {} : { channel_id: channelId };
  switch (o['event']) {
    case 'MEDIA_START': {
      const [connection_id, channel, format] = [optS(o, 'connection_id'), optS(o, 'channel'), optS(o, 'format')];
      const size = num(o, 'optimal_frame_size');
      if (typeof connection_id !== 'string' || typeof channel !== 'string' || typeof format !== 'string' || size === null) {
        return fail('MEDIA_START needs connection_id, channel, format and optimal_frame_size');
      }
      const ptime = o['ptime'] === undefined ? undefined : num(o, 'ptime');
      if (ptime === null) return fail('MEDIA_START ptime must be an integer');
      const vars = o['channel_variables'];
      if (vars !== undefined && (typeof vars !== 'object' || vars === null || Array.isArray(vars)))
        return fail('channel_variables must be an object');
      return {
        ok: true,
        msg: {
          event: 'MEDIA_START',
          connection_id,
          channel,
          ...cid,
          format,
          optimal_frame_size: size,
          ...(ptime !== undefined && { ptime }),
          ...(vars !== undefined && { channel_variables: vars as Record<string, string> }),
        },
      };
    }
    case 'DTMF_END': {
      const digit = optS(o, 'digit');
      if (typeof digit !== 'string' || !/^[0-9*#A-D]$/.test(digit)) return fail('DTMF_END needs a digit');
      return { ok: true, msg: { event: 'DTMF_END', ...cid, digit } };
    }
    case 'MEDIA_XOFF':
    case 'MEDIA_XON':
    case 'QUEUE_DRAINED':
      return { ok: true, msg: { event: o['event'], ...cid } };
    case 'MEDIA_BUFFERING_COMPLETED':
    case 'MEDIA_MARK_PROCESSED': {
      const id = optS(o, 'correlation_id');
      if (id === null) return fail('correlation_id must be a string');
      return { ok: true, msg: { event: o['event'], ...cid, ...(id !== undefined && { correlation_id: id }) } };
    }
    case 'STATUS': {
      const [ql, xon, xoff] = [num(o, 'queue_length'), num(o, 'xon_level'), num(o, 'xoff_level')];
      const [full, bulk, paused] = [bool(o, 'queue_full'), bool(o, 'bulk_media'), bool(o, 'media_paused')];
      if (ql === null || xon === null || xoff === null || full === null || bulk === null || paused === null)
        return fail('STATUS fields malformed');
      return {
        ok: true,
        msg: {
          event: 'STATUS',
          ...cid,
          queue_length: ql,
          xon_level: xon,
          xoff_level: xoff,
          queue_full: full,
          bulk_media: bulk,
          media_paused: paused,
        },
      };
    }
    default:
      return fail(`unknown event ${show(o['event'])}`);
  }
}

/** Parses one TEXT frame a customer sends to Asterisk, in either control format. */
export function parseAsteriskWsCommand(text: string): Parsed<AsteriskWsCommand> {
  const f = fields(text, 'command');
  if (!f.ok) return f;
  const c = f.msg['command'];
  if ((SIMPLE_COMMANDS as readonly unknown[]).includes(c)) return { ok: true, msg: { command: c as AsteriskSimpleCommand['command'] } };
  if ((CORRELATED_COMMANDS as readonly unknown[]).includes(c)) {
    const id = optS(f.msg, 'correlation_id');
    if (id === null) return fail('correlation_id must be a string');
    return { ok: true, msg: { command: c as AsteriskCorrelatedCommand['command'], ...(id !== undefined && { correlation_id: id }) } };
  }
  return fail(`unknown command ${show(c)}`);
}

/**
 * Serializes a command or an event in the channel's control format. Plain text writes the name,
 * then a correlation id bare, then every other field as `key:value`; fields plain text cannot
 * carry (channel_variables) are left out, as Asterisk does.
 */
export function formatAsteriskWs(msg: AsteriskWsCommand | AsteriskWsEvent, format: AsteriskControlFormat): string {
  if (format === 'json') return JSON.stringify(msg);
  const { correlation_id: id, ...rest } = msg as unknown as Readonly<Record<string, unknown>>;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'event' || k === 'command') parts.unshift(v as string);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') parts.push(`${k}:${String(v)}`);
  }
  if (typeof id === 'string') parts.splice(1, 0, id);
  return parts.join(' ');
}

export function buildAsteriskMarkMedia(correlationId: string): AsteriskCorrelatedCommand {
  return { command: 'MARK_MEDIA', correlation_id: correlationId };
}

/** Codec, rate and sample width of a chan_websocket format, or null if we do not carry it
 *  (passthrough codecs such as opus, and g722). */
export function asteriskFormat(
  format: string,
): { readonly codec: 'ulaw' | 'alaw' | 'slin'; readonly rate: number; readonly bytesPerSample: 1 | 2 } | null {
  if (format === 'ulaw' || format === 'alaw') return { codec: format, rate: 8000, bytesPerSample: 1 };
  const m = /^slin(12|16|24|32|44|48|96|192)?$/.exec(format);
  if (!m) return null;
  const k = m[1] === undefined ? 8 : Number(m[1]);
  return { codec: 'slin', rate: k === 44 ? 44100 : k * 1000, bytesPerSample: 2 };
}
