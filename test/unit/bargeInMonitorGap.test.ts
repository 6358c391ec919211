import { describe, expect, it } from 'vitest';
import { BargeInMonitor } from '../../gateway/src/call/BargeInMonitor.js';
import { DEFAULT_BARGE_IN, levelDb } from '../../gateway/src/media/BargeIn.js';
import { SileroModel } from '../../gateway/src/media/SileroModel.js';
import { Metrics } from '../../gateway/src/metrics.js';
import { fixture, gaussian, rng } from '../helpers/audio.js';

/**
 * The monitor on the 20 ms clock, packet by packet, with the agent audible throughout: a phone
 * that sends nothing in silence, after the caller's "okay". The utterance must end on the clock
 * (`tick`), though no packet comes after it, and packets that come after their time was taken as
 * silence (jitter beyond SILENT_EDGE_MS) do not start another duck.
 */
describe('BargeInMonitor when the phone stops sending', () => {
  const run = async (lateFrames: number, lateByMs: number) => {
    const model = (await SileroModel.load())!;
    const clip = fixture('bargein/backchannel-en-us-okay.wav').samples;
    // the clip's frames to its last over −50 dBFS: the phone sends nothing after
    let spoken = 0;
    for (let k = 0; k + 160 <= clip.length; k += 160) if (levelDb(clip, k, k + 160) > -50) spoken = k + 160;
    const okay = clip.subarray(0, spoken);
    const g = gaussian(rng(4));
    // 1 s of the room (−50 dBFS, sent: the phone's VAD hears it) for a background, then "okay", then nothing
    const room = Int16Array.from({ length: 8000 }, () => Math.round(100 * g()));
    const sent = new Int16Array(room.length + okay.length);
    sent.set(room);
    sent.set(okay, room.length);
    const frames = sent.length / 160;
    const events: [string, number][] = [];
    let now = 0;
    const monitor = new BargeInMonitor(DEFAULT_BARGE_IN, model, 'PCMU', new Metrics(), {
      speech: () => {},
      bargeIn: () => events.push(['barge_in', now]),
      duck: (on) => events.push([on ? 'duck' : 'unduck', now]),
    });
    /** frames held back: [due (ms), frame index] */
    const held: [number, number][] = [];
    let lastArrival = 0;
    const deliver = (k: number) => {
      const f = sent.subarray(160 * k, 160 * (k + 1));
      monitor.cancelled(f, f, 8000, 20 * k, true);
      lastArrival = now;
    };
    for (let t = 0; t < 20 * frames + 3000; t += 20) {
      now = t;
      monitor.tick(now, now - lastArrival, true);
      const k = t / 20;
      if (k < frames) {
        if (k >= frames - lateFrames) held.push([t + lateByMs, k]);
        else deliver(k);
      }
      while (held.length > 0 && held[0]![0] <= t) deliver(held.shift()![1]);
      await monitor.settled();
    }
    monitor.close();
    return { events, endMs: 20 * frames };
  };

  it('ends the utterance on the clock: the agent comes back up after the "okay", not at her next word', async () => {
    const { events, endMs } = await run(0, 0);
    console.log(`on time: ${events.map(([e, t]) => `${e} at ${t}`).join(', ')} (her last packet at ${endMs - 20} ms)`);
    expect(events.map(([e]) => e)).toEqual(['duck', 'unduck']);
    expect(events[1]![1]).toBeGreaterThan(endMs);
    expect(events[1]![1]).toBeLessThanOrEqual(endMs + 1000);
  });

  it('her last packets 300 ms late, after their time was taken as silence: no second duck, no clear', async () => {
    // (they are trimmed to what is past the silence heard, here all of them: the judge's clock
    // never runs back; kept, they held the agent down 40 ms longer)
    const { events, endMs } = await run(3, 300);
    console.log(`last 3 packets 300 ms late: ${events.map(([e, t]) => `${e} at ${t}`).join(', ')}`);
    expect(events.map(([e]) => e)).toEqual(['duck', 'unduck']);
    expect(events[1]![1]).toBeLessThanOrEqual(endMs + 1000);
  });
});

/**
 * The frames a phone does not send are its background at the level they would have had: the level
 * its phone stated (RFC 3389), or on Opus, whose DTX leaves them to the decoder's concealment of the
 * last frames sent (RFC 7587 §3.1.3), theirs. Here the model is sure of every chunk (RNNoise's
 * path, its probability given), so the level alone decides: after half a second of her noise and
 * 1.5 s the phone did not send (on Opus a DTX update each 400 ms, decoded 9 dB under her noise, as
 * car noise's were), a sound 3 dB over that noise is not the caller over it (noiseMarginDb 5),
 * unless the unsent time was taken as silence.
 */
describe('BargeInMonitor: the background while the phone sends nothing', () => {
  const NOISE_RMS = 184; // −45 dBFS
  const run = (codec: 'opus' | 'PCMU', statedDb: number | null, overDb = 3) => {
    const rate = codec === 'opus' ? 16000 : 8000;
    const n = rate / 50;
    const g = gaussian(rng(7));
    const noise = (gain: number) => Int16Array.from({ length: n }, () => Math.round(gain * NOISE_RMS * g()));
    const sure = Float32Array.of(1, 1);
    let ducks = 0;
    const monitor = new BargeInMonitor({ ...DEFAULT_BARGE_IN, silero: false }, null, codec, new Metrics(), {
      speech: () => {},
      bargeIn: () => {},
      duck: (on) => {
        if (on) ducks++;
      },
    });
    const send = (k: number, f: Int16Array, vad: Float32Array) => {
      monitor.cancelled(f, f, rate, 20 * k, true);
      monitor.frame(f, vad, 20 * k + 20, true);
    };
    const quiet = Float32Array.of(0, 0);
    for (let k = 0; k < 25; k++) send(k, noise(1), quiet);
    if (statedDb !== null) monitor.comfortNoise(statedDb);
    // Opus DTX: one frame in 20 (the encoder's update) while she is quiet, 9 dB under her noise:
    // the unsent frames' level is that of the last 200 ms sent (`sentNoiseDb`), not of its last 10 ms
    if (codec === 'opus') for (const k of [45, 65, 85]) send(k, noise(0.35), quiet);
    // `overDb` over her noise, 300 ms
    for (let k = 100; k < 115; k++) send(k, noise(10 ** (overDb / 20)), sure);
    monitor.close();
    return ducks;
  };

  it('on Opus with DTX: the unsent frames are her noise, and a sound 3 dB over it does not duck the agent', () => {
    expect(run('opus', null)).toBe(0);
    // and one 8 dB over it does
    expect(run('opus', null, 8)).toBe(1);
  });

  it('on G.711 with the noise stated (RFC 3389): the same', () => {
    expect(run('PCMU', -45)).toBe(0);
  });

  it('on G.711 with no noise stated, the unsent time is silence and the same sound ducks', () => {
    expect(run('PCMU', null)).toBe(1);
  });

  it('packets lost are not a silence: on G.711 with 3 in 5 lost, her background is still her noise, and the same sound does not duck', () => {
    /** ducks, with the losses told to the monitor (as InboundLeg tells them) or taken as gaps the phone did not send */
    const ducks = (told: boolean) => {
      const g = gaussian(rng(7));
      const noise = (gain: number) => Int16Array.from({ length: 160 }, () => Math.round(gain * NOISE_RMS * g()));
      let n = 0;
      const monitor = new BargeInMonitor({ ...DEFAULT_BARGE_IN, silero: false }, null, 'PCMU', new Metrics(), {
        speech: () => {},
        bargeIn: () => {},
        duck: (on) => {
          if (on) n++;
        },
      });
      let lostMs = 0;
      // 1.5 s of her noise, the packets lost in runs of 3 after each 2 that come; then 3 dB over it, 300 ms, none lost
      for (let k = 0; k < 90; k++) {
        const over = k >= 75;
        const f = noise(over ? 10 ** (3 / 20) : 1);
        const vad = over ? Float32Array.of(1, 1) : Float32Array.of(0, 0);
        if (!over && k % 5 >= 2) lostMs += 20;
        else {
          monitor.cancelled(f, f, 8000, 20 * k, true, told ? lostMs : 0);
          lostMs = 0;
        }
        // the agent's frames: a lost packet's concealed (her noise, near enough)
        monitor.frame(f, vad, 20 * k + 20, true);
      }
      monitor.close();
      return n;
    };
    expect(ducks(true)).toBe(0);
    // taken as silence, the losses were most of her last 1.5 s: her background fell to silence
    expect(ducks(false)).toBe(1);
  });
});
