import { describe, expect, it } from 'vitest';
import { encodeWav, readWav } from '../../../codecs/src/index.js';
import { fixture } from '../../helpers/audio.js';

describe('WAV read/write (wavefile)', () => {
  it('reads the committed fixtures as mono 16-bit at their rates', () => {
    const a = fixture('caller-en-us-8k.wav');
    expect(a.sampleRate).toBe(8000);
    expect(a.samples.length).toBeGreaterThan(8000 * 10);
    expect(fixture('agent-reply-24k.wav').sampleRate).toBe(24000);
  });

  it('round-trips samples exactly', () => {
    const samples = Int16Array.from({ length: 1234 }, (_, i) => ((i * 7919) % 65536) - 32768);
    const back = readWav(encodeWav({ sampleRate: 16000, samples }));
    expect(back.sampleRate).toBe(16000);
    expect([...back.samples]).toEqual([...samples]);
  });
});
