import { buildFreeswitchStreamAudio, type FreeswitchRate } from '../../platforms/freeswitch.js';
import { b64, IGNORE, type StreamEvent, type StreamProtocol } from './protocol.js';

/**
 * FreeSWITCH mod_audio_stream (`uuid_audio_stream <uuid> start wss://…/v1/edges/freeswitch mono
 * 16k [metadata]`): the optional metadata text first, then BINARY L16 LE frames at 8 or 16 kHz;
 * we answer with `streamAudio` JSON (raw L16, base64), 20 ms each.
 *
 * The rate is not on the wire: it comes from the URL (`?rate=16000`) or a JSON metadata
 * `{"sampleRate":16000}` (8000 otherwise), as do `to` and `from`. The module has no marks and
 * no flush: marks are confirmed by the clock once their audio has played, and a clear stops us
 * sending (what the module still holds is the 60 ms lead).
 * https://github.com/amigniter/mod_audio_stream
 */
export function freeswitchProtocol(): StreamProtocol {
  let started = false;
  const start = (meta: Record<string, unknown>, query: URLSearchParams): StreamEvent => {
    started = true;
    const metaRate = meta['sampleRate'];
    const rateText = query.get('rate') ?? (typeof metaRate === 'number' || typeof metaRate === 'string' ? String(metaRate) : '8000');
    const rate: FreeswitchRate = rateText === '16000' || rateText === '16k' ? 16000 : 8000;
    const text = (k: string): string => query.get(k) ?? (typeof meta[k] === 'string' ? meta[k] : '');
    return {
      kind: 'start',
      start: {
        codec: rate === 8000 ? 'slin8' : 'slin16',
        token: null,
        to: text('to'),
        from: text('from'),
        wire: {
          media: (p) => JSON.stringify(buildFreeswitchStreamAudio(b64(p), rate)),
          mark: () => null,
          clear: () => null,
          hangup: () => null,
        },
      },
    };
  };
  return {
    binaryMedia: true,
    implicitStart: (query) => start({}, query),
    text: (text, query) => {
      if (started) return IGNORE; // later texts (send_text) carry nothing for the call
      let meta: Record<string, unknown> = {};
      try {
        const v = JSON.parse(text) as unknown;
        if (typeof v === 'object' && v !== null && !Array.isArray(v)) meta = v as Record<string, unknown>;
      } catch {
        // plain-text metadata: kept for nobody; the URL says the rest
      }
      return start(meta, query);
    },
  };
}
