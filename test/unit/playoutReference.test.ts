import { describe, expect, it } from 'vitest';
import { loadResamplerModule, OPUS_ENCODER_DELAY_MS, OPUS_RATE, OpusDecoder } from '../../codecs/src/index.js';
import type { Edge } from '../../gateway/src/edge/Edge.js';
import type { EdgeCodecName } from '../../gateway/src/media/edgeCodecs.js';
import { Playout } from '../../gateway/src/media/Playout.js';
import { fixture, snrDb, xcorrPeak } from '../helpers/audio.js';

/**
 * The echo canceller's reference is what the far end plays. On Opus that is each packet sent as a
 * decoder decodes it (here a second libopus decoder, as the far end's own): perceptual coding keeps
 * the spectrum, not the waveform, so the frame before encoding is no model of the echo. On G.711
 * and linear PCM it is the frame itself.
 */

const FRAMES = 100; // 2 s on the 20 ms grid

async function play(codec: EdgeCodecName): Promise<{ sent: Uint8Array[]; frames: Int16Array[]; heard: Int16Array[] }> {
  const speex = await loadResamplerModule();
  const sent: Uint8Array[] = [];
  const frames: Int16Array[] = [];
  const heard: Int16Array[] = [];
  const edge: Edge = {
    kind: 'test',
    playback: 'clocked',
    leadMs: 0,
    attach: () => {},
    send: (f) => {
      if (f.kind === 'audio') sent.push(f.payload.slice());
      return true;
    },
    mark: () => {},
    clear: () => {},
    close: () => {},
  };
  const p = new Playout(speex, { codec, agentRate: 24000, maxSeconds: 10, quality: 3 }, edge, {
    mark: () => {},
    overflow: () => {},
    underrun: () => {},
    started: () => {},
    reference: (_at, frame, h) => {
      frames.push(frame.slice());
      heard.push(h.slice());
    },
  });
  const agent = fixture('agent-reply-24k.wav');
  expect(agent.sampleRate).toBe(24000);
  const pcm = agent.samples.slice(0, 24000 * 2);
  p.enqueue(new Uint8Array(pcm.buffer), 0);
  for (let i = 0; i < FRAMES; i++) p.tick(i * 20, 1);
  p.close();
  return { sent, frames, heard };
}

const joined = (xs: Int16Array[]) => {
  const out = new Int16Array(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
};

describe('the playout echo reference', () => {
  it('on Opus is each packet sent, decoded as the far end decodes it', async () => {
    const { sent, frames, heard } = await play('opus');
    expect(sent.length).toBe(FRAMES);
    expect(heard.length).toBe(FRAMES);
    const dec = new OpusDecoder();
    const out = new Int16Array(960);
    for (let i = 0; i < FRAMES; i++) {
      expect(dec.decode(sent[i]!, out)).toBe(960);
      expect(heard[i]).toEqual(out);
    }
    dec.close();
    // what the far end plays is the frame 6.5 ms later (the encoder's delay), with its coding noise
    // 10–20 dB under it: no filter fed the frame itself models the echo of it better than that
    const a = joined(frames);
    const b = joined(heard);
    const lag = (OPUS_ENCODER_DELAY_MS * OPUS_RATE) / 1000;
    expect(xcorrPeak(a.subarray(OPUS_RATE / 2, OPUS_RATE), b.subarray(OPUS_RATE / 2), 480).lag).toBe(lag);
    const snr = snrDb(a.subarray(0, a.length - lag), b.subarray(lag), OPUS_RATE / 2, a.length - lag);
    console.log(`Opus at 32 kbit/s: the decoded agent speech ${snr.toFixed(1)} dB over its difference from the frame`);
    expect(snr).toBeGreaterThan(10);
    expect(snr).toBeLessThan(20);
  });

  for (const codec of ['PCMU', 'slin16'] as const) {
    it(`on ${codec} is the frame itself`, async () => {
      const { sent, frames, heard } = await play(codec);
      expect(sent.length).toBe(FRAMES);
      expect(heard).toEqual(frames);
      expect(joined(frames).some((v) => v !== 0)).toBe(true);
    });
  }
});
