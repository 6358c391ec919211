import {
  buildPlivoCheckpoint,
  buildPlivoClearAudio,
  buildPlivoPlayAudio,
  buildPlivoSendDtmf,
  buildVobizStop,
  parsePlivoEvent,
  type PlivoContentType,
  type PlivoEvent,
} from '../../platforms/plivo.js';
import type { EdgeCodecName } from '../../media/edgeCodecs.js';
import { b64, IGNORE, invalid, readJson, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * Plivo Audio Stream and its clone Vobiz (`<Stream bidirectional="true" keepCallAlive="true">`):
 * `start`, `media` (µ-law 8 kHz, or L16 at 8/16 kHz), `dtmf`, `playedStream` for our checkpoints,
 * `clearedAudio`; we send `playAudio`, `checkpoint`, `clearAudio`, `sendDTMF` (and Vobiz's `stop`
 * when we end the call). Neither sends a stop: the socket closing ends the stream. The answer's
 * token arrives in `extra_headers` ("gw=…;k=v" on Plivo, a JSON object on Vobiz).
 * https://plivo.com/docs/voice/audio-streaming/audio-streaming, https://www.vobiz.ai/docs
 */
export function plivoProtocol(vobiz: boolean): StreamProtocol {
  return {
    binaryMedia: false,
    text: (text, query) => readJson(text, parsePlivoEvent, (m) => plivoEvent(m, query, vobiz)),
  };
}

function plivoEvent(m: PlivoEvent, query: URLSearchParams, vobiz: boolean): StreamEvent {
  switch (m.event) {
    case 'media':
      return { kind: 'media', b64: m.media.payload };
    case 'playedStream':
      return { kind: 'played', id: m.name };
    case 'dtmf':
      return { kind: 'dtmf', digit: m.dtmf.digit, durationMs: 0 };
    case 'clearedAudio':
      return IGNORE;
    case 'start': {
      const { encoding, sampleRate } = m.start.mediaFormat;
      const codec = codecOf(encoding, sampleRate);
      if (codec === null)
        return invalid(`mediaFormat ${encoding}/${sampleRate}: only audio/x-mulaw 8000 or audio/x-l16 8000/16000`, 'CODEC_UNSUPPORTED');
      const streamId = m.start.streamId;
      const contentType: PlivoContentType = codec === 'PCMU' ? 'audio/x-mulaw' : 'audio/x-l16';
      const rate = sampleRate === 16000 ? 16000 : 8000;
      return {
        kind: 'start',
        start: {
          codec,
          token: extraHeader(m.extra_headers, 'gw') ?? query.get('gw'),
          wire: {
            media: (p) => JSON.stringify(buildPlivoPlayAudio({ contentType, sampleRate: rate, payload: b64(p), streamId })),
            mark: (id) => JSON.stringify(buildPlivoCheckpoint(streamId, id)),
            clear: () => JSON.stringify(buildPlivoClearAudio(streamId)),
            hangup: () => (vobiz ? JSON.stringify(buildVobizStop(streamId)) : null),
            dtmf: (digit) => JSON.stringify(buildPlivoSendDtmf(digit)),
          },
        },
      };
    }
  }
}

function codecOf(encoding: string, rate: number): EdgeCodecName | null {
  if (encoding === 'audio/x-mulaw') return rate === 8000 ? 'PCMU' : null;
  if (encoding === 'audio/x-l16') return rate === 8000 ? 'slin8' : rate === 16000 ? 'slin16' : null;
  return null;
}

/** One value of `extra_headers`: "k=v;k2=v2" (Plivo; "," accepted too) or a JSON object (Vobiz). */
export function extraHeader(extra: string | undefined, key: string): string | null {
  if (extra === undefined || extra === '') return null;
  if (extra.trimStart().startsWith('{')) {
    try {
      const o = JSON.parse(extra) as unknown;
      const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined;
      return typeof v === 'string' ? v : null;
    } catch {
      return null;
    }
  }
  for (const pair of extra.split(/[;,]/)) {
    const i = pair.indexOf('=');
    if (i > 0 && pair.slice(0, i).trim() === key) return pair.slice(i + 1).trim();
  }
  return null;
}
