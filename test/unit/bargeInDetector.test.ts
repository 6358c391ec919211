import { describe, expect, it } from 'vitest';
import { BargeInDetector, DEFAULT_BARGE_IN } from '../../gateway/src/media/BargeIn.js';

/**
 * The echo model the interruption judge reads: the echo predicted from what was played, before and
 * after the canceller has measured the line, and when that prediction is taken as the line's.
 */

/** A 20 ms frame of a 440 Hz tone at `rms` (8 kHz). */
function tone(rms: number): Int16Array {
  const f = new Int16Array(160);
  for (let i = 0; i < f.length; i++) f[i] = Math.round(rms * Math.SQRT2 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  return f;
}

/** A detector that was played `rms` over [fromMs, toMs) (20 ms frames). */
function play(d: BargeInDetector, fromMs: number, toMs: number, rms: number): BargeInDetector {
  for (let t = fromMs; t < toMs; t += 20) d.reference(t, tone(rms));
  return d;
}

/**
 * The agent's tone at −20 dBFS from 0 for `ms`, and the caller's line over the same 10 ms slots
 * at `lineDb(slot)` (NaN: a slot not heard, as a lost packet leaves it).
 */
function heard(ms: number, lineDb: (slot: number) => number): BargeInDetector {
  const d = new BargeInDetector();
  for (let t = 0; t < ms; t += 20) {
    d.reference(t, tone(3277));
    for (const s of [t / 10, t / 10 + 1]) if (!Number.isNaN(lineDb(s))) d.line(10 * s + 10, lineDb(s));
  }
  return d;
}

const PRIOR = DEFAULT_BARGE_IN.erlPriorDb;

describe('BargeInDetector echo model', () => {
  // −20 dBFS played for 900 ms, then silence
  const played = () => play(play(new BargeInDetector(), 0, 900, 3277), 900, 2000, 0);

  it('predicts the loudest echo the window could hold, less erlPriorDb, until the canceller measures the line', () => {
    const d = played();
    expect(d.predictedEcho(50)).toBeCloseTo(-20 - PRIOR, 0);
    // the echo window (300 ms) reaches back to the last slot played (89), then no more
    expect(d.predictedEcho(119)).toBeCloseTo(-20 - PRIOR, 0);
    expect(d.predictedEcho(120)).toBe(-100 - PRIOR);
    expect(d.pathMeasured).toBe(false); // 0.9 s of agent speech, no echo found
  });

  it('predicts from the measured delay and loss, taken as the line’s once measured over half a second of agent speech', () => {
    const d = played();
    d.setEchoPath(30, 36, 10, 400);
    expect(d.predictedEcho(50)).toBeCloseTo(-20 - 36, 0);
    // the echo of slot 89, the last played, reaches slots 89 + 10 ± 2
    expect(d.predictedEcho(101)).toBeCloseTo(-20 - 36, 0);
    expect(d.predictedEcho(102)).toBe(-100 - 36);
    expect(d.pathMeasured).toBe(false);
    d.setEchoPath(30, 36, 10, 500);
    expect(d.pathMeasured).toBe(true);
  });

  it('takes the echo found as no louder than its correlation reads until the loss is measured: the caller talking then is not read as echo', () => {
    const d = played();
    // the first windows' loss read low (the caller talked over them), or none yet (6 dB reported)
    const at = (lossDb: number, measuredMs: number, correlatedErlDb: number) => {
      d.setEchoPath(lossDb, lossDb, 10, measuredMs, 0.5, correlatedErlDb);
      return d.predictedEcho(50);
    };
    expect(at(6, 0, NaN)).toBeCloseTo(-20 - PRIOR / 2, 0); // no correlation read: erlPriorDb / 2, as before
    expect(at(6, 300, 18)).toBeCloseTo(-20 - 15, 0); // 3 dB under what the correlation reads
    expect(at(6, 300, 30)).toBeCloseTo(-20 - PRIOR, 0); // never more loss than the prior's
    expect(at(6, 300, 8)).toBeCloseTo(-20 - PRIOR / 2, 0); // never less than before
    expect(at(25, 300, 18)).toBeCloseTo(-20 - 25, 0); // a loss measured higher stands
    // once measured, the canceller's loss is the line's
    expect(at(6, 500, 30)).toBeCloseTo(-20 - PRIOR / 2, 0);
  });

  it('takes an echo the canceller has not found in a second of agent speech as measured (lost in the line), silence not counted', () => {
    const d = play(new BargeInDetector(), 0, 2000, 0);
    expect(d.pathMeasured).toBe(false);
    play(d, 2000, 2980, 3277);
    expect(d.pathMeasured).toBe(false);
    play(d, 2980, 3000, 3277);
    expect(d.pathMeasured).toBe(true);
  });

  it('takes it as measured after half a second of agent speech if no search of the canceller has found 0.15 of correlation', () => {
    const after = (ms: number, peak: number) => {
      const d = play(new BargeInDetector(), 0, ms, 3277);
      d.setEchoPath(6, 6, -1, 0, peak); // no echo found: the losses mean nothing yet
      return d.pathMeasured;
    };
    expect(after(480, 0.1)).toBe(false); // under half a second of agent speech
    expect(after(500, 0.1)).toBe(true);
    expect(after(500, 0.15)).toBe(false); // a peak of 0.15 might be an echo: UNFOUND_MS then
    expect(after(1000, 0.15)).toBe(true);
    expect(after(500, NaN)).toBe(false); // not stated before the canceller's second search
    // an echo found is measured over MEASURED_MS, whatever the peak
    const d = play(new BargeInDetector(), 0, 600, 3277);
    d.setEchoPath(30, 36, 10, 400, 0.1);
    expect(d.pathMeasured).toBe(false);
  });

  it('holds an echo it has not found in a second of agent speech to the line’s own level (+ 6 dB): a quiet caller on a no-echo line need not out-talk the prior', () => {
    /** the agent at −20 dBFS for `ms`, the caller's line (echo-cancelled levels) at `lineDb` meanwhile */
    const line = (lineDb: number, ms: number) => heard(ms, () => lineDb);
    // a mobile or softphone that cancelled its own echo: the line at −60 dBFS; before the second,
    // what the line showed (40 dB of loss at every delay: ShownLoss), not the prior
    expect(line(-60, 980).predictedEcho(97)).toBeCloseTo(-20 - 40, 0);
    const quiet = line(-60, 1000);
    expect(quiet.pathMeasured).toBe(true);
    expect(quiet.predictedEcho(99)).toBeCloseTo(-60 + 6, 0);
    // a loud line (a background 15 dB under the agent) could hide an echo the prior's size: the prior stands
    expect(line(-35, 1000).predictedEcho(99)).toBeCloseTo(-20 - PRIOR, 0);
    // an echo found is predicted from its measured loss, however quiet the line
    quiet.setEchoPath(40, 40, 10, 600);
    expect(quiet.predictedEcho(99)).toBeCloseTo(-20 - 40, 0);
  });

  describe('before the echo is found, the loss the line has shown (ShownLoss)', () => {
    it('predicts no more echo than the line has left room for, at any delay, once it has been heard at every delay', () => {
      // until every delay of the echo window (0–300 ms) has had a 50 ms window of the line after
      // the agent spoke there, the prior: 0.3 s in, the agent's first 10 ms could echo 300 ms late
      expect(heard(300, () => -60).predictedEcho(29)).toBeCloseTo(-20 - PRIOR, 0);
      expect(heard(360, () => -60).predictedEcho(35)).toBeCloseTo(-20 - 40, 0);
      const quiet = heard(400, () => -60);
      expect(quiet.predictedEcho(39)).toBeCloseTo(-20 - 40, 0);
      expect(quiet.pathMeasured).toBe(false);
      // a line 26 dB under the agent: an echo of 26 dB ERL at most
      expect(heard(400, () => -46).predictedEcho(39)).toBeCloseTo(-20 - 26, 0);
    });

    it('never predicts less echo than the prior where the line showed less loss: an echo louder than the prior stays as loud', () => {
      // a line 10 dB under the agent (an echo of 10 dB ERL, or a caller): the prior's 18 dB stands
      expect(heard(1000, () => -30).predictedEcho(99)).toBeCloseTo(-20 - PRIOR, 0);
    });

    it('takes the most loss any window showed: the caller talking over some lowers nothing', () => {
      // the line quiet over 0.4 s, then her voice 8 dB under the agent in every other 100 ms
      const d = heard(900, (s) => (s >= 40 && Math.floor(s / 10) % 2 === 0 ? -28 : -60));
      expect(d.predictedEcho(89)).toBeCloseTo(-20 - 40, 0);
    });

    it('counts no window with a slot not heard: a lost packet is not a quiet line', () => {
      // a quiet line with every fifth slot lost, for longer than the reference is kept (5.12 s): every
      // 50 ms window has a hole, and none is read from levels left over from before
      const d = heard(6000, (s) => (s % 5 === 2 ? NaN : -60));
      expect(d.predictedEcho(599)).toBeCloseTo(-20 - PRIOR, 0);
    });

    it('takes no more than 40 dB of loss from the line: digital silence is no proof against an echo', () => {
      // a line of digital silence (a phone's own suppressor) shows 80 dB under the agent at −20 dBFS
      expect(heard(400, () => -100).predictedEcho(39)).toBeCloseTo(-20 - 40, 0);
    });

    it('once no echo is found, holds a line that showed less loss than the prior to the prior, however quiet its median', () => {
      // the line quiet (−60 dBFS) for a second before the agent; the agent at −20 from 1 s on, a
      // sound 16 dB under it from 1.3 s on: every window at the 300 ms delay holds it, so the line
      // shows 16 dB of loss there, under the prior. A second in, no echo found: the prior stands,
      // not the line's median (−60) + 6. The sound may be her voice, but it may be an echo the
      // search finds late under noise: taken at the median, car noise over a G.168 line whose echo
      // was found late was cleared before the caller spoke (bench/README.md, fiftieth pass).
      const d = new BargeInDetector();
      for (let t = 0; t < 2000; t += 20) {
        if (t >= 1000) d.reference(t, tone(3277));
        for (const s of [t / 10, t / 10 + 1]) d.line(10 * s + 10, s >= 130 ? -36 : -60);
      }
      expect(d.pathMeasured).toBe(true);
      expect(d.predictedEcho(199)).toBeCloseTo(-20 - PRIOR, 0);
    });

    it('reads the line no more once the echo is found: the canceller’s measure takes over', () => {
      const d = heard(400, () => -60);
      d.setEchoPath(30, 36, 10, 600);
      expect(d.predictedEcho(39)).toBeCloseTo(-20 - 36, 0);
    });
  });
});
