import { b64, bad, oneOf, optStr, parseWith, rec, str, tag, unknownTag, type Parsed } from './wire.js';

/**
 * customer → Plivo/Vobiz: the commands of a Plivo Audio Stream (and Vobiz's `stop`), their parser
 * and builders. See plivo.ts for the protocol.
 */

export type PlivoContentType = 'audio/x-mulaw' | 'audio/x-l16';

// --- customer → Plivo/Vobiz ---------------------------------------------------------------------

export interface PlivoPlayAudio {
  readonly event: 'playAudio';
  /** µ-law only at 8000; L16 little-endian at 8000 or 16000 */
  readonly media: { readonly contentType: PlivoContentType; readonly sampleRate: 8000 | 16000; readonly payload: string };
  readonly streamId?: string;
}

export interface PlivoCheckpoint {
  readonly event: 'checkpoint';
  readonly streamId: string;
  readonly name: string;
}

export interface PlivoClearAudio {
  readonly event: 'clearAudio';
  readonly streamId: string;
}

export interface PlivoSendDtmf {
  readonly event: 'sendDTMF';
  readonly dtmf: string;
}

/** Vobiz only: ends the stream; the call continues with the next XML element (else hangs up). */
export interface VobizStop {
  readonly event: 'stop';
  readonly streamId: string;
}

export type PlivoCommand = PlivoPlayAudio | PlivoCheckpoint | PlivoClearAudio | PlivoSendDtmf | VobizStop;

// --- parser -------------------------------------------------------------------------------------

export function parsePlivoCommand(json: unknown): Parsed<PlivoCommand> {
  return parseWith((): PlivoCommand => {
    const { m, t } = tag(json);
    switch (t) {
      case 'playAudio': {
        const md = rec(m['media'], 'playAudio.media');
        const contentType = oneOf(md, 'contentType', 'playAudio.media', ['audio/x-mulaw', 'audio/x-l16']);
        const sampleRate = md['sampleRate'];
        if (sampleRate !== 8000 && sampleRate !== 16000) return bad('playAudio.media.sampleRate must be 8000 or 16000');
        if (contentType === 'audio/x-mulaw' && sampleRate !== 8000) return bad('playAudio µ-law must be 8000 Hz');
        const payload = b64(md, 'payload', 'playAudio.media', contentType === 'audio/x-l16' ? 2 : 1);
        return buildPlivoPlayAudio({ contentType, sampleRate, payload, streamId: optStr(m, 'streamId', t) });
      }
      case 'checkpoint':
        return buildPlivoCheckpoint(str(m, 'streamId', t), str(m, 'name', t));
      case 'clearAudio':
        return buildPlivoClearAudio(str(m, 'streamId', t));
      case 'sendDTMF': {
        const digits = str(m, 'dtmf', t);
        if (!/^[0-9*#A-D]{1,64}$/.test(digits)) return bad('sendDTMF.dtmf must be 1-64 of 0-9 * # A-D');
        return { event: 'sendDTMF', dtmf: digits };
      }
      case 'stop':
        return { event: 'stop', streamId: str(m, 'streamId', t) };
      default:
        return unknownTag(t);
    }
  });
}

// --- builders -------------------------------------------------------------------------------------

export function buildPlivoPlayAudio(f: {
  contentType: PlivoContentType;
  sampleRate: 8000 | 16000;
  payload: string;
  streamId?: string | undefined;
}): PlivoPlayAudio {
  const media = { contentType: f.contentType, sampleRate: f.sampleRate, payload: f.payload };
  return f.streamId === undefined ? { event: 'playAudio', media } : { event: 'playAudio', media, streamId: f.streamId };
}

export function buildPlivoCheckpoint(streamId: string, name: string): PlivoCheckpoint {
  return { event: 'checkpoint', streamId, name };
}

export function buildPlivoClearAudio(streamId: string): PlivoClearAudio {
  return { event: 'clearAudio', streamId };
}

export function buildPlivoSendDtmf(digits: string): PlivoSendDtmf {
  return { event: 'sendDTMF', dtmf: digits };
}

export function buildVobizStop(streamId: string): VobizStop {
  return { event: 'stop', streamId };
}
