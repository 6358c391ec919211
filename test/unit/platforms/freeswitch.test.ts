import { describe, expect, it } from 'vitest';
import {
  buildFreeswitchStreamAudio,
  buildUuidAudioStreamStart,
  freeswitchFrameBytes,
  parseFreeswitchCommand,
} from '../../../gateway/src/platforms/freeswitch.js';
import { FREESWITCH_COMMANDS as C, FREESWITCH_START } from '../../fixtures/platforms/freeswitch.js';
import { GARBAGE, hugeB64, mutate, ok, rejects, sameJson } from './helpers.js';

describe('mod_audio_stream', () => {
  it('streamAudio golden parses and is rebuilt byte for byte', () => {
    sameJson(ok(parseFreeswitchCommand(structuredClone(C.streamAudio))), C.streamAudio);
    sameJson(buildFreeswitchStreamAudio('AAAAAA==', 8000), C.streamAudio);
  });

  it('builds the uuid_audio_stream start command', () => {
    expect(
      buildUuidAudioStreamStart(
        '5b3a2c1e-0000-4000-8000-000000000001',
        'wss://gw.example.com/v1/edges/freeswitch',
        8000,
        '{"route":"sales"}',
      ),
    ).toBe(FREESWITCH_START);
    expect(() => buildUuidAudioStreamStart('u', 'wss://h/ x', 8000)).toThrow(RangeError);
    expect(() => buildUuidAudioStreamStart('u', 'wss://h', 16000, 'a\nb')).toThrow(RangeError);
    expect(freeswitchFrameBytes(16000)).toBe(640);
    expect(freeswitchFrameBytes(8000, 100)).toBe(1600);
  });

  it('malformed commands give typed errors, never throw', () => {
    for (const g of GARBAGE) rejects(parseFreeswitchCommand, g);
    rejects(parseFreeswitchCommand, { type: 'killAudio' });
    rejects(parseFreeswitchCommand, mutate(C.streamAudio, ['data', 'audioDataType'], 'flac'));
    rejects(parseFreeswitchCommand, mutate(C.streamAudio, ['data', 'sampleRate'], '8000'));
    rejects(parseFreeswitchCommand, mutate(C.streamAudio, ['data', 'audioData'], 'AA=='));
    rejects(parseFreeswitchCommand, mutate(C.streamAudio, ['data', 'audioData'], hugeB64()), 'FRAME_TOO_LARGE');
  });
});
