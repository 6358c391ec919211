import { describe, expect, it } from 'vitest';
import {
  ASTERISK_WS_MAX_MESSAGE,
  AudioSocketReader,
  asteriskFormat,
  buildAsteriskMarkMedia,
  encodeAudioSocketAudio,
  encodeAudioSocketFrame,
  encodeAudioSocketHangup,
  encodeAudioSocketUuid,
  formatAsteriskWs,
  parseAsteriskWsCommand,
  parseAsteriskWsEvent,
} from '../../../gateway/src/platforms/asterisk.js';
import { ASTERISK_WS_COMMANDS as C, ASTERISK_WS_EVENTS as E, AUDIOSOCKET as A } from '../../fixtures/platforms/asterisk.js';
import { ok } from './helpers.js';

describe('AudioSocket', () => {
  it('encodes the golden frames', () => {
    expect(encodeAudioSocketUuid(A.uuid)).toEqual(A.uuidFrame);
    expect(encodeAudioSocketAudio(new Uint8Array(320))).toEqual(A.silenceFrame);
    expect(encodeAudioSocketHangup()).toEqual(A.hangupFrame);
    expect(encodeAudioSocketFrame(0xff, Uint8Array.of(1))).toEqual(A.errorFrame);
    expect(encodeAudioSocketAudio(new Uint8Array(640), 16000)[0]).toBe(0x12);
    expect(() => encodeAudioSocketAudio(new Uint8Array(2), 11025)).toThrow(RangeError);
  });

  it('reassembles frames split anywhere across TCP reads', () => {
    const stream = Buffer.concat([A.uuidFrame, A.silenceFrame, Uint8Array.of(0x03, 0, 1, 0x35), A.errorFrame, A.hangupFrame]);
    for (const cut of [1, 2, 3, 7, 19, 20, 22, 200, 341, stream.length - 1]) {
      const r = new AudioSocketReader();
      const frames = [...ok(r.push(stream.subarray(0, cut))), ...ok(r.push(stream.subarray(cut)))];
      expect(frames.map((f) => f.kind)).toEqual(['uuid', 'audio', 'dtmf', 'error', 'hangup']);
      expect(frames[0]).toEqual({ kind: 'uuid', uuid: A.uuid });
      expect(frames[1]).toMatchObject({ kind: 'audio', rate: 8000 });
      expect(frames[2]).toEqual({ kind: 'dtmf', digit: '5' });
      expect(frames[3]).toEqual({ kind: 'error', code: 1 });
    }
  });

  it('malformed frames are typed errors and poison the stream', () => {
    const cases: [Uint8Array, string][] = [
      [Uint8Array.of(0x01, 0, 4, 1, 2, 3, 4), 'CONTROL_INVALID'], // UUID not 16 bytes
      [Uint8Array.of(0x10, 0, 3, 1, 2, 3), 'CONTROL_INVALID'], // odd slin length
      [Uint8Array.of(0x42, 0, 0), 'CONTROL_INVALID'], // unknown type
      [Uint8Array.of(0x03, 0, 1, 0x5a), 'CONTROL_INVALID'], // 'Z' is no DTMF digit
      [Uint8Array.of(0x10, 0xff, 0xff), 'FRAME_TOO_LARGE'],
    ];
    for (const [bytes, code] of cases) {
      const r = new AudioSocketReader();
      const first = r.push(bytes);
      expect(first.ok).toBe(false);
      if (!first.ok) expect(first.code).toBe(code);
      expect(r.push(A.hangupFrame).ok).toBe(false);
    }
  });
});

describe('chan_websocket control', () => {
  it('parses the documented plain-text and JSON events', () => {
    expect(ok(parseAsteriskWsEvent(E.mediaStartPlain))).toEqual({
      event: 'MEDIA_START',
      connection_id: 'e226e283-c90a-4ea9-9e37-389000b9ef47',
      channel: 'WebSocket/connectionid',
      channel_id: 'pbx1-123456789.999',
      format: 'ulaw',
      optimal_frame_size: 160,
      ptime: 20,
    });
    expect(ok(parseAsteriskWsEvent(JSON.stringify(E.mediaStartJson, null, 2)))).toEqual(E.mediaStartJson);
    expect(ok(parseAsteriskWsEvent(E.dtmfPlain))).toEqual({ event: 'DTMF_END', digit: '5' });
    expect(ok(parseAsteriskWsEvent(E.statusPlain))).toEqual({
      event: 'STATUS',
      queue_length: 43,
      xon_level: 800,
      xoff_level: 900,
      queue_full: false,
      bulk_media: true,
      media_paused: false,
    });
    for (const g of [E.markProcessedJson, E.xoffJson]) expect(ok(parseAsteriskWsEvent(JSON.stringify(g)))).toEqual(g);
    expect(ok(parseAsteriskWsEvent('MEDIA_MARK_PROCESSED m-1'))).toEqual({ event: 'MEDIA_MARK_PROCESSED', correlation_id: 'm-1' });
    expect(ok(parseAsteriskWsEvent('MEDIA_BUFFERING_COMPLETED'))).toEqual({ event: 'MEDIA_BUFFERING_COMPLETED' });
  });

  it('parses and formats the documented commands in both formats', () => {
    expect(ok(parseAsteriskWsCommand(C.stopBufferingPlain))).toEqual(C.stopBufferingJson);
    expect(ok(parseAsteriskWsCommand(JSON.stringify(C.stopBufferingJson)))).toEqual(C.stopBufferingJson);
    expect(formatAsteriskWs(C.stopBufferingJson, 'plain-text')).toBe(C.stopBufferingPlain);
    expect(formatAsteriskWs(C.stopBufferingJson, 'json')).toBe(JSON.stringify(C.stopBufferingJson));
    expect(formatAsteriskWs(buildAsteriskMarkMedia('m-1'), 'json')).toBe(JSON.stringify(C.markJson));
    expect(formatAsteriskWs({ command: 'FLUSH_MEDIA' }, 'plain-text')).toBe(C.flushPlain);
    expect(ok(parseAsteriskWsCommand(C.flushPlain))).toEqual({ command: 'FLUSH_MEDIA' });
    expect(ok(parseAsteriskWsCommand(JSON.stringify(C.hangupJson)))).toEqual(C.hangupJson);
  });

  it('round-trips events through both formats (channel_variables are JSON-only)', () => {
    const start = ok(parseAsteriskWsEvent(JSON.stringify(E.mediaStartJson)));
    expect(formatAsteriskWs(start, 'plain-text')).toBe(E.mediaStartPlain);
    expect(formatAsteriskWs(ok(parseAsteriskWsEvent(E.statusPlain)), 'plain-text')).toBe(E.statusPlain);
    expect(formatAsteriskWs(ok(parseAsteriskWsEvent(JSON.stringify(E.markProcessedJson))), 'plain-text')).toBe(
      'MEDIA_MARK_PROCESSED m-1 channel_id:pbx1-123456789.999',
    );
  });

  it('malformed control messages give typed errors, never throw', () => {
    for (const t of [
      '',
      '{',
      '[]',
      'null',
      'media_start',
      'MEDIA_START format:ulaw',
      'MEDIA_START connection_id:a channel:b format:ulaw optimal_frame_size:x',
      'DTMF_END digit:55',
      'STATUS queue_length:1',
      '{"event":"DTMF_END","digit":5}',
      '{"event":"MEDIA_MARK_PROCESSED","correlation_id":7}',
    ]) {
      const r = parseAsteriskWsEvent(t);
      expect(r.ok, t).toBe(false);
    }
    for (const t of ['', 'flush_media', 'PLAY x', '{"command":"MARK_MEDIA","correlation_id":{}}', '{"command":1}'])
      expect(parseAsteriskWsCommand(t).ok, t).toBe(false);
    const big = parseAsteriskWsEvent('x'.repeat(ASTERISK_WS_MAX_MESSAGE + 1));
    expect(big.ok || big.code).toBe('FRAME_TOO_LARGE');
  });

  it('knows the formats it can carry', () => {
    expect(asteriskFormat('ulaw')).toEqual({ codec: 'ulaw', rate: 8000, bytesPerSample: 1 });
    expect(asteriskFormat('slin')).toEqual({ codec: 'slin', rate: 8000, bytesPerSample: 2 });
    expect(asteriskFormat('slin16')?.rate).toBe(16000);
    expect(asteriskFormat('slin44')?.rate).toBe(44100);
    expect(asteriskFormat('opus')).toBeNull();
  });
});
