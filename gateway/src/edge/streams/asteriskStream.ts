import {
  asteriskFormat,
  buildAsteriskMarkMedia,
  formatAsteriskWs,
  parseAsteriskWsEvent,
  type AsteriskControlFormat,
  type AsteriskMediaStart,
} from '../../platforms/asterisk.js';
import type { EdgeCodecName } from '../../media/edgeCodecs.js';
import { IGNORE, invalid, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * Asterisk chan_websocket (`Dial(WebSocket/<connection>/c(ulaw))`, or ARI externalMedia with
 * `transport=websocket`), Asterisk connecting to us: a text MEDIA_START (plain text, or JSON with
 * `f(json)`), then BINARY raw media in the channel's format (ulaw, alaw, slin, slin16) both ways;
 * DTMF_END; MARK_MEDIA → MEDIA_MARK_PROCESSED is our mark, FLUSH_MEDIA our clear, HANGUP our
 * hang-up. We answer in the format MEDIA_START came in. The called and calling numbers come from
 * the URL (`?to=&from=`) or the channel variables GATEWAY_TO / GATEWAY_FROM (JSON only).
 * https://docs.asterisk.org/Configuration/Channel-Drivers/WebSocket/
 */
export function asteriskProtocol(): StreamProtocol {
  return {
    binaryMedia: true,
    text: (text, query) => {
      const p = parseAsteriskWsEvent(text);
      if (!p.ok) return invalid(p.reason, p.code);
      const m = p.msg;
      switch (m.event) {
        case 'MEDIA_START':
          return mediaStart(m, text.trimStart().startsWith('{') ? 'json' : 'plain-text', query);
        case 'DTMF_END':
          return { kind: 'dtmf', digit: m.digit, durationMs: 0 };
        case 'MEDIA_MARK_PROCESSED':
          return m.correlation_id === undefined ? IGNORE : { kind: 'played', id: m.correlation_id };
        default:
          // XOFF/XON, STATUS, QUEUE_DRAINED, MEDIA_BUFFERING_COMPLETED: the lead keeps Asterisk's
          // queue at a few frames, far from its flow-control levels.
          return IGNORE;
      }
    },
  };
}

function mediaStart(m: AsteriskMediaStart, fmt: AsteriskControlFormat, query: URLSearchParams): StreamEvent {
  const f = asteriskFormat(m.format);
  const codec: EdgeCodecName | null =
    f === null
      ? null
      : f.codec === 'ulaw'
        ? 'PCMU'
        : f.codec === 'alaw'
          ? 'PCMA'
          : f.rate === 8000
            ? 'slin8'
            : f.rate === 16000
              ? 'slin16'
              : null;
  if (codec === null) return invalid(`format ${m.format}: only ulaw, alaw, slin, slin16`, 'CODEC_UNSUPPORTED');
  const vars = m.channel_variables ?? {};
  return {
    kind: 'start',
    start: {
      codec,
      token: null,
      to: query.get('to') ?? vars['GATEWAY_TO'] ?? '',
      from: query.get('from') ?? vars['GATEWAY_FROM'] ?? '',
      wire: {
        media: (p) => p,
        mark: (id) => formatAsteriskWs(buildAsteriskMarkMedia(id), fmt),
        clear: () => formatAsteriskWs({ command: 'FLUSH_MEDIA' }, fmt),
        hangup: () => formatAsteriskWs({ command: 'HANGUP' }, fmt),
      },
    },
  };
}
