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
const LAST_TICK_MS = (FRAMES - 1) * 20;

/** What the edge saw and what the playout said the far end plays, in order. */
type Event = { packet: Uint8Array; taken: boolean } | { frame: Int16Array; heard: Int16Array };

/**
 * 2 s of agent speech played to an edge of `codec` that refuses the frames `refuse` picks (a
 * full socket, a call on hold), with DTMF sent `dtmfAtFrame` ticks in. Also the playout's delay,
 * and what it says the caller had heard at the last tick (ms).
 */
async function play(
  codec: EdgeCodecName,
  refuse = (_n: number) => false,
  dtmfAtFrame = -1,
): Promise<{ events: Event[]; delayMs: number; heardMs: number }> {
  const speex = await loadResamplerModule();
  const events: Event[] = [];
  let audioFrames = 0;
  const edge: Edge = {
    kind: 'test',
    playback: 'clocked',
    leadMs: 0,
    attach: () => {},
    send: (f) => {
      if (f.kind !== 'audio') return true;
      const taken = !refuse(audioFrames++);
      events.push({ packet: f.payload.slice(), taken });
      return taken;
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
    reference: (_at, frame, heard) => events.push({ frame: frame.slice(), heard: heard.slice() }),
  });
  const agent = fixture('agent-reply-24k.wav');
  expect(agent.sampleRate).toBe(24000);
  const pcm = agent.samples.slice(0, 24000 * 2);
  p.enqueue(new Uint8Array(pcm.buffer), 0);
  for (let i = 0; i < FRAMES; i++) {
    if (i === dtmfAtFrame) expect(p.sendDtmf('5')).toBe(1);
    p.tick(i * 20, 1);
  }
  const heardMs = p.heardMs(LAST_TICK_MS);
  p.close();
  return { events, delayMs: p.delayMs, heardMs };
}

const framesOf = (events: Event[]) => events.flatMap((e) => ('frame' in e ? [e] : []));

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
    const { events } = await play('opus');
    const refs = framesOf(events);
    expect(refs.length).toBe(FRAMES);
    const dec = new OpusDecoder();
    const out = new Int16Array(960);
    for (let i = 0; i < events.length; i += 2) {
      const [sent, ref] = [events[i]!, events[i + 1]!];
      if (!('packet' in sent) || !('heard' in ref)) throw new Error('a packet, then its reference');
      expect(dec.decode(sent.packet, out)).toBe(960);
      expect(ref.heard).toEqual(out);
    }
    dec.close();
    // what the far end plays is the frame 6.5 ms later (the encoder's delay), with its coding noise
    // 10–20 dB under it: no filter fed the frame itself models the echo of it better than that
    const a = joined(refs.map((r) => r.frame));
    const b = joined(refs.map((r) => r.heard));
    const lag = (OPUS_ENCODER_DELAY_MS * OPUS_RATE) / 1000;
    expect(xcorrPeak(a.subarray(OPUS_RATE / 2, OPUS_RATE), b.subarray(OPUS_RATE / 2), 480).lag).toBe(lag);
    const snr = snrDb(a.subarray(0, a.length - lag), b.subarray(lag), OPUS_RATE / 2, a.length - lag);
    console.log(`Opus at 32 kbit/s: the decoded agent speech ${snr.toFixed(1)} dB over its difference from the frame`);
    expect(snr).toBeGreaterThan(10);
    expect(snr).toBeLessThan(20);
  });

  it("on Opus gives as the outbound delay the lag of what the far end plays behind the agent's audio", async () => {
    const { events, delayMs } = await play('opus');
    const heard = joined(framesOf(events).map((r) => r.heard));
    // both at the agent's 24 kHz (the agent's audio has nothing over 12 kHz to fold back)
    const heard24 = Int16Array.from({ length: heard.length >> 1 }, (_, i) => heard[2 * i]!);
    const agent = fixture('agent-reply-24k.wav').samples;
    const lag = xcorrPeak(agent.subarray(12000, 36000), heard24.subarray(12000), 480).lag;
    console.log(`Opus: the far end plays the agent's audio ${(lag / 24).toFixed(2)} ms late; outbound delay ${delayMs.toFixed(2)} ms`);
    // the resampler's delay and the codec's 6.5 ms, to within a 24 kHz sample
    expect(delayMs).toBeGreaterThan(OPUS_ENCODER_DELAY_MS);
    expect(Math.abs(lag / 24 - delayMs)).toBeLessThanOrEqual(1 / 24);
  });

  it('counts the codec’s delay in what the caller has heard (barge-in’s playedMs)', async () => {
    const heard: Record<string, number> = {};
    for (const codec of ['opus', 'PCMU'] as const) {
      const { delayMs, heardMs } = await play(codec);
      // every frame sent by the last tick: the last one plays over [1980, 2000) ms, delayMs later at the far end
      heard[codec] = heardMs;
      expect(heardMs).toBe(Math.round(LAST_TICK_MS - delayMs));
    }
    // on Opus that is the encoder's look-ahead as well as the resampler's delay
    expect(heard['opus']).toBeLessThanOrEqual(Math.round(LAST_TICK_MS - OPUS_ENCODER_DELAY_MS));
  });

  it('on Opus follows only the packets the edge took, DTMF pauses included, and is silence for the others', async () => {
    const { events } = await play('opus', (n) => n % 9 === 4, 30);
    const dec = new OpusDecoder();
    const out = new Int16Array(960);
    const silence = new Int16Array(960);
    let heard = out;
    let refused = 0;
    let pauses = 0; // audio packets with no reference after them: DTMF's silent pause
    for (const [i, e] of events.entries()) {
      if ('heard' in e) {
        expect(e.heard).toEqual(heard);
        continue;
      }
      if (!('heard' in (events[i + 1] ?? {}))) pauses++;
      if (e.taken) {
        dec.decode(e.packet, out);
        heard = out;
      } else {
        heard = silence;
        refused++;
      }
    }
    dec.close();
    expect(refused).toBeGreaterThanOrEqual(8);
    expect(pauses).toBeGreaterThanOrEqual(1);
    // the agent's audio waited for the digit: fewer reference frames than ticks
    expect(framesOf(events).length).toBeLessThan(FRAMES);
  });

  for (const codec of ['PCMU', 'slin16'] as const) {
    it(`on ${codec} is the frame itself`, async () => {
      const refs = framesOf((await play(codec)).events);
      expect(refs.length).toBe(FRAMES);
      for (const r of refs) expect(r.heard).toEqual(r.frame);
      expect(refs.some((r) => r.frame.some((v) => v !== 0))).toBe(true);
    });
  }
});
