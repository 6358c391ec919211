import { b64, bad, intStr, parseWith, rec, str, strArray, strRecord, tag, unknownTag, dtmfDigit, type Parsed } from './wire.js';

/**
 * Twilio Media Streams, bidirectional (`<Connect><Stream>`), in both directions. The same types
 * serve the agent dialect (gateway plays Twilio: builds events, parses commands) and the Twilio
 * edge (gateway is Twilio's customer: parses events, builds commands).
 *
 * Shapes and key order: https://www.twilio.com/docs/voice/media-streams/websocket-messages
 * All frames are JSON text; every number inside a message is a string, except mediaFormat's.
 * The webhook side lives in twilioAnswer.ts (TwiML) and twilioSignature.ts, re-exported here.
 */

export * from './twilioAnswer.js';
export * from './twilioSignature.js';

// --- Twilio → customer ------------------------------------------------------------------------

export interface TwilioConnected {
  readonly event: 'connected';
  readonly protocol: string; // "Call"
  readonly version: string; // "1.0.0"
}

export interface TwilioMediaFormat {
  readonly encoding: string; // always "audio/x-mulaw" per the docs
  readonly sampleRate: number; // always 8000
  readonly channels: number; // always 1
}

export interface TwilioStart {
  readonly event: 'start';
  readonly sequenceNumber: string;
  readonly start: {
    readonly accountSid: string;
    readonly streamSid: string;
    readonly callSid: string;
    readonly tracks: readonly string[];
    readonly mediaFormat: TwilioMediaFormat;
    /** `<Parameter name value>` pairs of the TwiML, verbatim */
    readonly customParameters: Readonly<Record<string, string>>;
  };
  readonly streamSid: string;
}

export interface TwilioMedia {
  readonly event: 'media';
  readonly sequenceNumber: string;
  readonly media: {
    readonly track: string; // "inbound" | "outbound"
    readonly chunk: string; // from "1"
    readonly timestamp: string; // ms since stream start
    readonly payload: string; // base64 µ-law 8 kHz, no header
  };
  readonly streamSid: string;
}

export interface TwilioDtmf {
  readonly event: 'dtmf';
  readonly streamSid: string;
  readonly sequenceNumber: string;
  readonly dtmf: { readonly track: string; readonly digit: string };
}

/** Echo of a customer's mark: its audio has played, or a clear dropped it (no way to tell). */
export interface TwilioMarkEcho {
  readonly event: 'mark';
  readonly sequenceNumber: string;
  readonly streamSid: string;
  readonly mark: { readonly name: string };
}

export interface TwilioStop {
  readonly event: 'stop';
  readonly sequenceNumber: string;
  readonly streamSid: string;
  readonly stop: { readonly accountSid: string; readonly callSid: string };
}

export type TwilioEvent = TwilioConnected | TwilioStart | TwilioMedia | TwilioDtmf | TwilioMarkEcho | TwilioStop;

// --- customer → Twilio ------------------------------------------------------------------------

export interface TwilioSendMedia {
  readonly event: 'media';
  readonly streamSid: string;
  /** base64 µ-law 8 kHz of any length; Twilio buffers and plays in order */
  readonly media: { readonly payload: string };
}

export interface TwilioSendMark {
  readonly event: 'mark';
  readonly streamSid: string;
  readonly mark: { readonly name: string };
}

export interface TwilioClear {
  readonly event: 'clear';
  readonly streamSid: string;
}

export type TwilioCommand = TwilioSendMedia | TwilioSendMark | TwilioClear;

// --- parsers ------------------------------------------------------------------------------------

/** Validates one message Twilio sends (already JSON-decoded). */
export function parseTwilioEvent(json: unknown): Parsed<TwilioEvent> {
  return parseWith((): TwilioEvent => {
    const { m, t } = tag(json);
    switch (t) {
      case 'connected':
        return { event: t, protocol: str(m, 'protocol', t), version: str(m, 'version', t) };
      case 'start': {
        const s = rec(m['start'], 'start.start');
        const f = rec(s['mediaFormat'], 'start.mediaFormat');
        if (typeof f['sampleRate'] !== 'number' || typeof f['channels'] !== 'number') {
          return bad('start.mediaFormat sampleRate and channels must be numbers');
        }
        return buildTwilioStart({
          sequenceNumber: intStr(m, 'sequenceNumber', t),
          accountSid: str(s, 'accountSid', 'start.start'),
          streamSid: str(m, 'streamSid', t),
          callSid: str(s, 'callSid', 'start.start'),
          tracks: strArray(s, 'tracks', 'start.start'),
          mediaFormat: { encoding: str(f, 'encoding', 'start.mediaFormat'), sampleRate: f['sampleRate'], channels: f['channels'] },
          customParameters: s['customParameters'] === undefined ? {} : strRecord(s, 'customParameters', 'start.start'),
        });
      }
      case 'media': {
        const md = rec(m['media'], 'media.media');
        return buildTwilioMedia({
          sequenceNumber: intStr(m, 'sequenceNumber', t),
          track: str(md, 'track', 'media.media'),
          chunk: intStr(md, 'chunk', 'media.media'),
          timestamp: intStr(md, 'timestamp', 'media.media'),
          payload: b64(md, 'payload', 'media.media'),
          streamSid: str(m, 'streamSid', t),
        });
      }
      case 'dtmf': {
        const d = rec(m['dtmf'], 'dtmf.dtmf');
        return buildTwilioDtmf({
          streamSid: str(m, 'streamSid', t),
          sequenceNumber: intStr(m, 'sequenceNumber', t),
          track: str(d, 'track', 'dtmf.dtmf'),
          digit: dtmfDigit(str(d, 'digit', 'dtmf.dtmf')),
        });
      }
      case 'mark':
        return buildTwilioMarkEcho({
          sequenceNumber: intStr(m, 'sequenceNumber', t),
          streamSid: str(m, 'streamSid', t),
          name: str(rec(m['mark'], 'mark.mark'), 'name', 'mark.mark'),
        });
      case 'stop': {
        const s = rec(m['stop'], 'stop.stop');
        return buildTwilioStop({
          sequenceNumber: intStr(m, 'sequenceNumber', t),
          streamSid: str(m, 'streamSid', t),
          accountSid: str(s, 'accountSid', 'stop.stop'),
          callSid: str(s, 'callSid', 'stop.stop'),
        });
      }
      default:
        return unknownTag(t);
    }
  });
}

/** Validates one message a customer sends to Twilio (already JSON-decoded). */
export function parseTwilioCommand(json: unknown): Parsed<TwilioCommand> {
  return parseWith((): TwilioCommand => {
    const { m, t } = tag(json);
    switch (t) {
      case 'media':
        return buildTwilioSendMedia(str(m, 'streamSid', t), b64(rec(m['media'], 'media.media'), 'payload', 'media.media'));
      case 'mark':
        return buildTwilioSendMark(str(m, 'streamSid', t), str(rec(m['mark'], 'mark.mark'), 'name', 'mark.mark'));
      case 'clear':
        return buildTwilioClear(str(m, 'streamSid', t));
      default:
        return unknownTag(t);
    }
  });
}

// --- builders (key order as in Twilio's examples) -------------------------------------------------

export function buildTwilioConnected(): TwilioConnected {
  return { event: 'connected', protocol: 'Call', version: '1.0.0' };
}

export function buildTwilioStart(f: {
  sequenceNumber: string;
  accountSid: string;
  streamSid: string;
  callSid: string;
  tracks: readonly string[];
  mediaFormat?: TwilioMediaFormat;
  customParameters: Readonly<Record<string, string>>;
}): TwilioStart {
  return {
    event: 'start',
    sequenceNumber: f.sequenceNumber,
    start: {
      accountSid: f.accountSid,
      streamSid: f.streamSid,
      callSid: f.callSid,
      tracks: f.tracks,
      mediaFormat: f.mediaFormat ?? { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters: f.customParameters,
    },
    streamSid: f.streamSid,
  };
}

export function buildTwilioMedia(f: {
  sequenceNumber: string;
  track: string;
  chunk: string;
  timestamp: string;
  payload: string;
  streamSid: string;
}): TwilioMedia {
  return {
    event: 'media',
    sequenceNumber: f.sequenceNumber,
    media: { track: f.track, chunk: f.chunk, timestamp: f.timestamp, payload: f.payload },
    streamSid: f.streamSid,
  };
}

export function buildTwilioDtmf(f: { streamSid: string; sequenceNumber: string; track?: string; digit: string }): TwilioDtmf {
  return {
    event: 'dtmf',
    streamSid: f.streamSid,
    sequenceNumber: f.sequenceNumber,
    dtmf: { track: f.track ?? 'inbound_track', digit: f.digit },
  };
}

export function buildTwilioMarkEcho(f: { sequenceNumber: string; streamSid: string; name: string }): TwilioMarkEcho {
  return { event: 'mark', sequenceNumber: f.sequenceNumber, streamSid: f.streamSid, mark: { name: f.name } };
}

export function buildTwilioStop(f: { sequenceNumber: string; streamSid: string; accountSid: string; callSid: string }): TwilioStop {
  return {
    event: 'stop',
    sequenceNumber: f.sequenceNumber,
    streamSid: f.streamSid,
    stop: { accountSid: f.accountSid, callSid: f.callSid },
  };
}

export function buildTwilioSendMedia(streamSid: string, payload: string): TwilioSendMedia {
  return { event: 'media', streamSid, media: { payload } };
}

export function buildTwilioSendMark(streamSid: string, name: string): TwilioSendMark {
  return { event: 'mark', streamSid, mark: { name } };
}

export function buildTwilioClear(streamSid: string): TwilioClear {
  return { event: 'clear', streamSid };
}
