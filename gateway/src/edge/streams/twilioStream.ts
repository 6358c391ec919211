import { buildTwilioClear, buildTwilioSendMark, buildTwilioSendMedia, parseTwilioEvent, type TwilioEvent } from '../../platforms/twilio.js';
import { b64, IGNORE, invalid, readJson, STOP, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * Twilio Media Streams as Twilio sends them (`<Connect><Stream>`, bidirectional): `connected`,
 * `start` (µ-law 8 kHz), `media`, `dtmf`, `mark` echoes, `stop`; we send `media`, `mark`, `clear`.
 * The answer's token arrives as the `<Parameter name="gw">` in `start.customParameters`.
 * https://www.twilio.com/docs/voice/media-streams/websocket-messages
 */
export function twilioProtocol(): StreamProtocol {
  return {
    binaryMedia: false,
    text: (text, query) => readJson(text, parseTwilioEvent, (m) => twilioEvent(m, query)),
  };
}

function twilioEvent(m: TwilioEvent, query: URLSearchParams): StreamEvent {
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
      return IGNORE;
    case 'start': {
      const f = m.start.mediaFormat;
      if (f.encoding !== 'audio/x-mulaw' || f.sampleRate !== 8000 || f.channels !== 1)
        return invalid(`mediaFormat ${f.encoding}/${f.sampleRate}/${f.channels}: only audio/x-mulaw 8000 mono`, 'CODEC_UNSUPPORTED');
      const sid = m.streamSid;
      return {
        kind: 'start',
        start: {
          codec: 'PCMU',
          token: m.start.customParameters['gw'] ?? query.get('gw'),
          wire: {
            media: (p) => JSON.stringify(buildTwilioSendMedia(sid, b64(p))),
            mark: (id) => JSON.stringify(buildTwilioSendMark(sid, id)),
            clear: () => JSON.stringify(buildTwilioClear(sid)),
            // Closing the socket ends <Connect>; with no TwiML after it, Twilio hangs up.
            hangup: () => null,
          },
        },
      };
    }
  }
}
