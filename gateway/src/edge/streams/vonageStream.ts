import { buildVonageClear, buildVonageNotify, parseVonageEvent, vonageRate, type VonageEvent } from '../../platforms/vonage.js';
import { IGNORE, invalid, readJson, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * Vonage Voice API WebSocket (NCCO `connect` to a `websocket` endpoint): a text
 * `websocket:connected` with the content-type and the NCCO's headers (our token among them), then
 * binary 16-bit LE PCM, 20 ms a message, both ways; `websocket:dtmf`; `notify` is Vonage's mark
 * (echoed as `websocket:notify` once the audio before it has played); `clear` → `websocket:cleared`.
 * Vonage has no stop message: the socket closes when the call ends.
 * https://developer.vonage.com/en/voice/voice-api/concepts/websockets
 */
export function vonageProtocol(): StreamProtocol {
  return {
    binaryMedia: true,
    text: (text, query) => readJson(text, parseVonageEvent, (m) => vonageEvent(m, query)),
  };
}

function vonageEvent(m: VonageEvent, query: URLSearchParams): StreamEvent {
  switch (m.event) {
    case 'websocket:dtmf':
      return { kind: 'dtmf', digit: m.digit, durationMs: m.duration };
    case 'websocket:notify': {
      const id = m.payload['gw'];
      return typeof id === 'string' ? { kind: 'played', id } : IGNORE;
    }
    case 'websocket:cleared':
      return IGNORE;
    case 'websocket:connected': {
      const rate = vonageRate(m['content-type']);
      if (rate !== 8000 && rate !== 16000)
        return invalid(`content-type ${m['content-type']}: only L16 at 8000 or 16000`, 'CODEC_UNSUPPORTED');
      const token = m['gw'];
      return {
        kind: 'start',
        start: {
          codec: rate === 8000 ? 'slin8' : 'slin16',
          token: typeof token === 'string' ? token : query.get('gw'),
          wire: {
            // uWS copies the view into its send buffer before returning
            media: (p) => p,
            mark: (id) => JSON.stringify(buildVonageNotify({ gw: id })),
            clear: () => JSON.stringify(buildVonageClear()),
            hangup: () => null,
          },
        },
      };
    }
  }
}
