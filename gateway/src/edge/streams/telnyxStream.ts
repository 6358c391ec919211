import { buildTelnyxClear, buildTelnyxSendMark, buildTelnyxSendMedia, parseTelnyxEvent, type TelnyxEvent } from '../../platforms/telnyx.js';
import type { EdgeCodecName } from '../../media/edgeCodecs.js';
import { b64, IGNORE, invalid, readJson, STOP, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * Telnyx media streaming, bidirectional RTP mode (TeXML `<Stream bidirectionalMode="rtp">`):
 * Twilio's events in snake_case with a top-level `stream_id`; PCMU or PCMA at 8 kHz; we send
 * `media`, `mark` and `clear` (no stream id needed). The answer's token is in the stream URL.
 * https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming
 */
export function telnyxProtocol(): StreamProtocol {
  return {
    binaryMedia: false,
    text: (text, query) => readJson(text, parseTelnyxEvent, (m) => telnyxEvent(m, query)),
  };
}

const ENCODINGS: Readonly<Record<string, EdgeCodecName>> = {
  PCMU: 'PCMU',
  PCMA: 'PCMA',
  'audio/x-mulaw': 'PCMU', // older docs
  'audio/x-alaw': 'PCMA',
};

function telnyxEvent(m: TelnyxEvent, query: URLSearchParams): StreamEvent {
  switch (m.event) {
    case 'media':
      return { kind: 'media', b64: m.media.payload };
    case 'mark':
      return { kind: 'played', id: m.mark.name };
    case 'dtmf':
      return { kind: 'dtmf', digit: m.dtmf.digit, durationMs: 0 };
    case 'stop':
      return STOP;
    case 'connected':
    case 'error': // Telnyx refusing one of our messages; nothing to undo
      return IGNORE;
    case 'start': {
      const f = m.start.media_format;
      const codec = ENCODINGS[f.encoding];
      if (codec === undefined || f.sample_rate !== 8000)
        return invalid(`media_format ${f.encoding}/${f.sample_rate}: only PCMU or PCMA at 8000`, 'CODEC_UNSUPPORTED');
      return {
        kind: 'start',
        start: {
          codec,
          token: m.start.custom_parameters?.['gw'] ?? query.get('gw'),
          wire: {
            media: (p) => JSON.stringify(buildTelnyxSendMedia(b64(p))),
            mark: (id) => JSON.stringify(buildTelnyxSendMark(id)),
            clear: () => JSON.stringify(buildTelnyxClear()),
            hangup: () => null,
          },
        },
      };
    }
  }
}
