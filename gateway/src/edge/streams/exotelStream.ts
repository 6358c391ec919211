import { buildExotelClear, buildExotelSendMark, buildExotelSendMedia, parseExotelEvent, type ExotelEvent } from '../../platforms/exotel.js';
import { b64, IGNORE, invalid, readJson, STOP, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * Exotel Voicebot (AgentStream): base64 16-bit LE PCM at 8 kHz (16 kHz with `?sample-rate=16000`
 * on the stream URL); `connected`, `start`, `media` (~100 ms chunks, re-framed to 20 ms), `dtmf`,
 * `mark` echoes, `stop`; we send `media`, `mark`, `clear`. The token is a URL parameter, which
 * Exotel also repeats in `start.custom_parameters`.
 *
 * Deviation: Exotel asks for outgoing chunks of ≥ 100 ms (multiples of 320 B); we send 20 ms
 * (640 B at 16 kHz, 320 B at 8 kHz: multiples of 320 B), as a 100 ms chunk would put 100 ms of
 * audio at the platform, beyond the 60 ms a clear or barge-in may take to be heard.
 * https://developer.exotel.com/docs/agentstream/websocket-protocol
 */
export function exotelProtocol(): StreamProtocol {
  return {
    binaryMedia: false,
    text: (text, query) => readJson(text, parseExotelEvent, (m) => exotelEvent(m, query)),
  };
}

function exotelEvent(m: ExotelEvent, query: URLSearchParams): StreamEvent {
  switch (m.event) {
    case 'media':
      return { kind: 'media', b64: m.media.payload };
    case 'mark':
      return { kind: 'played', id: m.mark.name };
    case 'dtmf':
      return { kind: 'dtmf', digit: m.dtmf.digit, durationMs: Number(m.dtmf.duration) };
    case 'stop':
      return STOP;
    case 'connected':
      return IGNORE;
    case 'start': {
      const rate = m.start.media_format.sample_rate;
      if (rate !== '8000' && rate !== '16000') return invalid(`media_format.sample_rate ${rate}: only 8000 or 16000`, 'CODEC_UNSUPPORTED');
      const sid = m.stream_sid;
      return {
        kind: 'start',
        start: {
          codec: rate === '8000' ? 'slin8' : 'slin16',
          token: m.start.custom_parameters['gw'] ?? query.get('gw'),
          wire: {
            media: (p) => JSON.stringify(buildExotelSendMedia(sid, b64(p))),
            mark: (id) => JSON.stringify(buildExotelSendMark(sid, id)),
            clear: () => JSON.stringify(buildExotelClear(sid)),
            hangup: () => null,
          },
        },
      };
    }
  }
}
