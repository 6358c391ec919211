import { b64, oneOf, parseWith, rec, tag, unknownTag, bad, type Parsed } from './wire.js';

/**
 * FreeSWITCH mod_audio_stream (amigniter), the gateway as its WebSocket server.
 * https://github.com/amigniter/mod_audio_stream (README)
 *
 * FreeSWITCH → us: the optional `metadata` text of `uuid_audio_stream … start` first, then
 * BINARY L16 (little-endian) mono frames of STREAM_BUFFER_SIZE ms (20 by default) at 8 or 16 kHz.
 * Us → FreeSWITCH: JSON text; `streamAudio` hands the module audio to play (the community
 * edition writes it to a file and raises `mod_audio_stream::play`; the dialplan plays it).
 */

export type FreeswitchRate = 8000 | 16000;

/** The API command that starts a stream to us (run by the dialplan or an ESL client). The
 *  metadata is sent as the first text frame; it must be one line (FreeSWITCH API syntax). */
export function buildUuidAudioStreamStart(uuid: string, url: string, rate: FreeswitchRate, metadata?: string): string {
  if (/\s/.test(uuid) || /\s/.test(url)) throw new RangeError('uuid and url cannot contain whitespace');
  if (metadata !== undefined && /[\r\n]/.test(metadata)) throw new RangeError('metadata must be one line');
  const cmd = `uuid_audio_stream ${uuid} start ${url} mono ${rate === 8000 ? '8k' : '16k'}`;
  return metadata === undefined ? cmd : `${cmd} ${metadata}`;
}

/** Bytes of one binary frame of `ms` milliseconds at `rate` (640 for 20 ms at 16 kHz). */
export function freeswitchFrameBytes(rate: FreeswitchRate, ms = 20): number {
  return (rate / 1000) * ms * 2;
}

export interface FreeswitchStreamAudio {
  readonly type: 'streamAudio';
  readonly data: {
    readonly audioDataType: 'raw' | 'wav' | 'mp3' | 'ogg';
    readonly sampleRate: number;
    readonly audioData: string; // base64
  };
}

/** The only documented server → FreeSWITCH message. */
export type FreeswitchCommand = FreeswitchStreamAudio;

export function buildFreeswitchStreamAudio(audioData: string, sampleRate: FreeswitchRate): FreeswitchStreamAudio {
  return { type: 'streamAudio', data: { audioDataType: 'raw', sampleRate, audioData } };
}

export function parseFreeswitchCommand(json: unknown): Parsed<FreeswitchCommand> {
  return parseWith((): FreeswitchCommand => {
    const { m, t } = tag(json, 'type');
    if (t !== 'streamAudio') return unknownTag(t, 'type');
    const d = rec(m['data'], 'streamAudio.data');
    const audioDataType = oneOf(d, 'audioDataType', 'streamAudio.data', ['raw', 'wav', 'mp3', 'ogg']);
    const sampleRate = d['sampleRate'];
    if (typeof sampleRate !== 'number' || !Number.isSafeInteger(sampleRate) || sampleRate <= 0)
      return bad('streamAudio.data.sampleRate must be an integer');
    const audioData = b64(d, 'audioData', 'streamAudio.data', audioDataType === 'raw' ? 2 : 1);
    return { type: 'streamAudio', data: { audioDataType, sampleRate, audioData } };
  });
}
