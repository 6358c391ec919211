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
