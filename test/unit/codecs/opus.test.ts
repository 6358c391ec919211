import { describe, expect, it } from 'vitest';
import { OPUS_FRAME, OpusDecoder, OpusEncoder, Resampler } from '../../../codecs/src/index.js';
import { energy, fixture, xcorrPeak } from '../../helpers/audio.js';

async function speech48k(): Promise<Int16Array> {
  const s = fixture('caller-en-gb-8k.wav');
  const up = await Resampler.create({ inRate: 8000, outRate: 48000 });
  const y = new Float32Array(up.maxOutput(s.samples.length));
  const n = up.process(Float32Array.from(s.samples), y);
  up.close();
  return Int16Array.from(y.subarray(0, n - (n % OPUS_FRAME)), (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
}

describe('Opus (libopus via @discordjs/opus), 20 ms mono at 48 kHz', () => {
  it('encodes and decodes speech that still correlates with the original (codec delay measured)', async () => {
    const pcm = await speech48k();
    const enc = new OpusEncoder({ fec: true });
    const dec = new OpusDecoder();
    const out = new Int16Array(pcm.length);
    const frame = new Int16Array(OPUS_FRAME);
    let bytes = 0;
    for (let i = 0; i < pcm.length; i += OPUS_FRAME) {
      const pkt = enc.encode(pcm.subarray(i, i + OPUS_FRAME));
      bytes += pkt.length;
      expect(dec.decode(pkt, frame)).toBe(OPUS_FRAME);
      out.set(frame, i);
    }
    const { lag, peak } = xcorrPeak(pcm, out, 800);
    expect(peak).toBeGreaterThan(0.8);
    // 6.5 ms encoder look-ahead = 312 samples (libopus); allow a few samples of filter slack
    expect(Math.abs(lag - 312)).toBeLessThan(8);
    const seconds = pcm.length / 48000;
    expect((8 * bytes) / seconds).toBeLessThan(48_000); // ≈32 kbit/s target plus FEC
    enc.close();
    dec.close();
  });

  it('with DTX, sends nothing worth sending in silence but a comfort-noise update now and then (RFC 7587 §3.1.3)', async () => {
    const speech = (await speech48k()).subarray(0, 50 * OPUS_FRAME); // 1 s
    const enc = new OpusEncoder({ dtx: true });
    const sizes = (pcm: Int16Array) => {
      const out: number[] = [];
      for (let i = 0; i + OPUS_FRAME <= pcm.length; i += OPUS_FRAME) out.push(enc.encode(pcm.subarray(i, i + OPUS_FRAME)).length);
      return out;
    };
    const talk = sizes(speech);
    const quiet = sizes(new Int16Array(100 * OPUS_FRAME)); // 2 s of digital silence
    const again = sizes(speech);
    expect(talk.filter((n) => n > 2).length).toBeGreaterThan(40);
    // 2 s of silence: its first frames are sent (the encoder's hangover), then 1–2 bytes (not to be
    // sent) but for an update every 420 ms
    const late = quiet.slice(25);
    const updates = late.filter((n) => n > 2).length;
    expect(updates).toBeGreaterThanOrEqual(2);
    expect(updates).toBeLessThanOrEqual(late.length / 10);
    expect(again.filter((n) => n > 2).length).toBeGreaterThan(40);
    enc.close();
  });

  it('conceals lost frames with libopus PLC: continuous, decaying, then resumes on the next packet', async () => {
    const pcm = await speech48k();
    const enc = new OpusEncoder();
    const dec = new OpusDecoder();
    const frame = new Int16Array(OPUS_FRAME);
    // Lose packets right after the loudest frame of the first 2 s, so there is voice to extend.
    let loudest = 10;
    for (let k = 10; k < 100; k++)
      if (energy(pcm, k * OPUS_FRAME, (k + 1) * OPUS_FRAME) > energy(pcm, loudest * OPUS_FRAME, (loudest + 1) * OPUS_FRAME)) loudest = k;
    const start = (loudest + 1) * OPUS_FRAME;
    for (let i = 0; i < start; i += OPUS_FRAME) dec.decode(enc.encode(pcm.subarray(i, i + OPUS_FRAME)), frame);
    const lastGood = energy(frame);
    const concealed: number[] = [];
    for (let k = 0; k < 8; k++) {
      enc.encode(pcm.subarray(start + k * OPUS_FRAME, start + (k + 1) * OPUS_FRAME)); // sent, but lost
      expect(dec.conceal(frame)).toBe(OPUS_FRAME);
      concealed.push(energy(frame));
    }
    expect(concealed[0]).toBeGreaterThan(lastGood / 100); // not silence: PLC extrapolates the voice
    expect(concealed[0]).toBeLessThan(lastGood * 20);
    expect(concealed[7]).toBeLessThan(concealed[0]!); // fades over a long loss
    const next = start + 8 * OPUS_FRAME;
    expect(dec.decode(enc.encode(pcm.subarray(next, next + OPUS_FRAME)), frame)).toBe(OPUS_FRAME);
  });

  it('rejects a frame that is not 20 ms, and garbage packets, with typed errors', () => {
    const enc = new OpusEncoder();
    expect(() => enc.encode(new Int16Array(100))).toThrow(expect.objectContaining({ code: 'CODEC_BAD_FRAME' }) as Error);
    const dec = new OpusDecoder();
    // TOC byte announcing code 3 (arbitrary frame count) with a truncated frame count byte
    expect(() => dec.decode(Uint8Array.of(0xff), new Int16Array(OPUS_FRAME))).toThrow(
      expect.objectContaining({ code: 'CODEC_BAD_FRAME' }) as Error,
    );
  });
});
