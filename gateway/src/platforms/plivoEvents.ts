import { b64, bad, dtmfDigit, int, optStr, parseWith, rec, str, strArray, tag, unknownTag, type Obj, type Parsed } from './wire.js';

/**
 * Plivo/Vobiz → customer: the events of a Plivo Audio Stream (and Vobiz's clone), their parser and
 * builders. See plivo.ts for the protocol and the Vobiz differences.
 */

// --- Plivo/Vobiz → customer ---------------------------------------------------------------------

export interface PlivoStart {
  readonly event: 'start';
  readonly sequenceNumber: number;
  readonly start: {
    readonly callId: string;
    readonly streamId: string;
    readonly accountId: string | number; // "MA…" on Plivo, numeric on Vobiz
    readonly tracks: readonly string[];
    readonly mediaFormat: { readonly encoding: string; readonly sampleRate: number };
  };
  /** the XML's extraHeaders, "k=v;k2=v2" on Plivo ("{}" on Vobiz when none) */
  readonly extra_headers?: string;
}

export interface PlivoMedia {
  readonly event: 'media';
  readonly sequenceNumber: number;
  readonly streamId: string;
  readonly media: {
    readonly track: string;
    readonly timestamp: string; // ms; epoch ms on Vobiz's clock
    readonly chunk: number;
    readonly payload: string;
  };
}

export interface PlivoDtmf {
  readonly event: 'dtmf';
  readonly sequenceNumber: number;
  readonly streamId: string;
  readonly dtmf: { readonly digit: string };
}

/** A checkpoint's audio has played (never sent for checkpoints a clearAudio dropped). */
export interface PlivoPlayedStream {
  readonly event: 'playedStream';
  readonly sequenceNumber?: number;
  readonly streamId?: string; // absent on Vobiz
  readonly name: string;
}

export interface PlivoClearedAudio {
  readonly event: 'clearedAudio';
  readonly sequenceNumber?: number;
  readonly streamId: string;
}

export type PlivoEvent = PlivoStart | PlivoMedia | PlivoDtmf | PlivoPlayedStream | PlivoClearedAudio;

// --- parser -------------------------------------------------------------------------------------

export function parsePlivoEvent(json: unknown): Parsed<PlivoEvent> {
  return parseWith((): PlivoEvent => {
    const { m, t } = tag(json);
    switch (t) {
      case 'start': {
        const s = rec(m['start'], 'start.start');
        const f = rec(s['mediaFormat'], 'start.mediaFormat');
        const accountId = s['accountId'];
        if (typeof accountId !== 'string' && typeof accountId !== 'number') return bad('start.start.accountId must be a string or number');
        return buildPlivoStart({
          sequenceNumber: int(m, 'sequenceNumber', t),
          callId: str(s, 'callId', 'start.start'),
          streamId: str(s, 'streamId', 'start.start'),
          accountId,
          tracks: strArray(s, 'tracks', 'start.start'),
          encoding: str(f, 'encoding', 'start.mediaFormat'),
          sampleRate: int(f, 'sampleRate', 'start.mediaFormat'),
          extraHeaders: optStr(m, 'extra_headers', t),
        });
      }
      case 'media': {
        const md = rec(m['media'], 'media.media');
        return buildPlivoMedia({
          sequenceNumber: int(m, 'sequenceNumber', t),
          streamId: str(m, 'streamId', t),
          track: str(md, 'track', 'media.media'),
          timestamp: str(md, 'timestamp', 'media.media'),
          chunk: int(md, 'chunk', 'media.media'),
          payload: b64(md, 'payload', 'media.media'),
        });
      }
      case 'dtmf':
        return buildPlivoDtmf({
          sequenceNumber: int(m, 'sequenceNumber', t),
          streamId: str(m, 'streamId', t),
          digit: dtmfDigit(str(rec(m['dtmf'], 'dtmf.dtmf'), 'digit', 'dtmf.dtmf')),
        });
      // A Plivo support article names the ack "played"; the protocol page "playedStream".
      case 'played':
      case 'playedStream':
        return buildPlivoPlayedStream({
          sequenceNumber: optSeq(m),
          streamId: optStr(m, 'streamId', 'playedStream'),
          name: str(m, 'name', 'playedStream'),
        });
      case 'clearedAudio':
        return buildPlivoClearedAudio({ sequenceNumber: optSeq(m), streamId: str(m, 'streamId', t) });
      default:
        return unknownTag(t);
    }
  });
}

function optSeq(m: Obj): number | undefined {
  return m['sequenceNumber'] === undefined ? undefined : int(m, 'sequenceNumber', 'message');
}

// --- builders -------------------------------------------------------------------------------------

export function buildPlivoStart(f: {
  sequenceNumber: number;
  callId: string;
  streamId: string;
  accountId: string | number;
  tracks: readonly string[];
  encoding: string;
  sampleRate: number;
  extraHeaders?: string | undefined;
}): PlivoStart {
  const start = {
    callId: f.callId,
    streamId: f.streamId,
    accountId: f.accountId,
    tracks: f.tracks,
    mediaFormat: { encoding: f.encoding, sampleRate: f.sampleRate },
  };
  return f.extraHeaders === undefined
    ? { event: 'start', sequenceNumber: f.sequenceNumber, start }
    : { event: 'start', sequenceNumber: f.sequenceNumber, start, extra_headers: f.extraHeaders };
}

export function buildPlivoMedia(f: {
  sequenceNumber: number;
  streamId: string;
  track: string;
  timestamp: string;
  chunk: number;
  payload: string;
}): PlivoMedia {
  return {
    event: 'media',
    sequenceNumber: f.sequenceNumber,
    streamId: f.streamId,
    media: { track: f.track, timestamp: f.timestamp, chunk: f.chunk, payload: f.payload },
  };
}

export function buildPlivoDtmf(f: { sequenceNumber: number; streamId: string; digit: string }): PlivoDtmf {
  return { event: 'dtmf', sequenceNumber: f.sequenceNumber, streamId: f.streamId, dtmf: { digit: f.digit } };
}

/** Omit streamId for Vobiz (its playedStream has none). */
export function buildPlivoPlayedStream(f: {
  sequenceNumber?: number | undefined;
  streamId?: string | undefined;
  name: string;
}): PlivoPlayedStream {
  return {
    event: 'playedStream',
    ...(f.sequenceNumber !== undefined && { sequenceNumber: f.sequenceNumber }),
    ...(f.streamId !== undefined && { streamId: f.streamId }),
    name: f.name,
  };
}

export function buildPlivoClearedAudio(f: { sequenceNumber?: number | undefined; streamId: string }): PlivoClearedAudio {
  return {
    event: 'clearedAudio',
    ...(f.sequenceNumber !== undefined && { sequenceNumber: f.sequenceNumber }),
    streamId: f.streamId,
  };
}
