import { describe, expect, it } from 'vitest';
import { EchoCanceller } from '../../../codecs/src/index.js';
import { G168_MODELS, g168Path, handsetPath, scaledResponse, type EchoPath } from '../../../bench/src/bargein/echoPaths.js';
import { PacketLoss } from '../../../bench/src/bargein/packetLoss.js';
import { energy, fixture, gaussian, rng, xcorrPeak } from '../../helpers/audio.js';

/**
 * The line echo canceller against the tests of ITU-T G.168 §6.4.2 that apply to a gateway
 * canceller, on the hybrid echo paths of G.168 Annex D (D.2–D.9) and a band-limited handset path,
 * with real speech as the far end (what the agent says) and the near end (the caller), fed 20 ms at
 * a time as the gateway does. A noise floor is on the near end throughout (−70 dBFS where ERLE is
 * measured, so that it measures the canceller rather than the noise; −50 dBFS in the leak test).
 */

const RATE = 8000;
const far = Float32Array.from(fixture('bargein/agent-1.wav').samples); // what the gateway plays
const near = fixture('bargein/interrupt-2-a.wav').samples; // the caller's own voice

/** `x` through `path` (after its bulk delay, scaled to its ERL), plus a noise floor of RMS `noise`. */
function echoOf(x: Float32Array, path: EchoPath, noise = 10): Float32Array {
  const h = scaledResponse(x, path);
  const d = Math.round((path.delayMs * RATE) / 1000);
  const g = gaussian(rng(7));
  const y = new Float32Array(x.length);
  for (let n = 0; n < x.length; n++) {
    let a = noise * g();
    for (let k = 0; k < h.length && k <= n - d; k++) a += h[k]! * x[n - d - k]!;
    y[n] = a;
  }
  return y;
}

/**
 * Runs the canceller 20 ms at a time on `mic` with `ref` played; returns the residual, and fills
 * `suppressed` (if given, with `suppress` on) with the suppressed output on the input's clock.
 * `afterFrame` (if given) is called after each 20 ms frame starting at sample `k`. `offset`: where
 * the first frame falls on the canceller's clock (samples); `lost`: whether a frame never comes
 * (its residual stays 0); `unsent(k)`: whether the phone leaves the frame at `k` out untold, as its
 * silence (RFC 3551 §4.1).
 */
function run(
  aec: EchoCanceller,
  ref: Float32Array,
  mic: Float32Array,
  {
    suppressed,
    afterFrame,
    offset = 0,
    lost,
    unsent,
  }: {
    suppressed?: Int16Array;
    afterFrame?: (k: number) => void;
    offset?: number;
    lost?: () => boolean;
    unsent?: (k: number) => boolean;
  } = {},
): Int16Array {
  const out = new Int16Array(mic.length);
  const frame = new Int16Array(160);
  for (let k = 0; k + 160 <= mic.length; k += 160) {
    aec.playRef(ref.subarray(k, k + 160), k + offset);
    if (lost?.() === true) {
      aec.lost(160); // as the inbound leg tells it (LineEcho.conceal)
      continue;
    }
    if (unsent?.(k) === true) continue;
    for (let i = 0; i < 160; i++) frame[i] = Math.max(-32768, Math.min(32767, Math.round(mic[k + i]!)));
    aec.process(frame, k + offset, out.subarray(k, k + 160));
    const end = aec.suppressedEnd(k + offset + 160) - offset; // one block behind
    if (suppressed !== undefined && end >= 160) aec.suppressed(end - 160 + offset, suppressed.subarray(end - 160, end));
    afterFrame?.(k);
  }
  return out;
}

const db = (x: number) => 10 * Math.log10(x);
const erle = (mic: ArrayLike<number>, res: ArrayLike<number>, from: number, to: number) =>
  db(energy(mic, from, to) / Math.max(1, energy(res, from, to)));
const path = (name: string, erlDb: number, delayMs = 100): EchoPath => ({ kind: 'g168', name, h: g168Path(name), delayMs, erlDb });

/**
 * The canceller on D.5 at `erlDb` under white noise of RMS `noise`, over the last 3 s (as its loss
 * measure keeps): the reference's power, the echo's at the phone and what it left of it, dB under
 * the reference. What the mic holds besides the echo alone (no noise) is the noise, taken out of
 * the residual exactly.
 */
function underNoise(erlDb: number, noise: number) {
  const aec = new EchoCanceller({ rate: RATE });
  const p = path('D5', erlDb);
  const mic = echoOf(far, p, noise);
  const echo = echoOf(far, p, 0);
  const res = run(aec, far, mic);
  const lag = (p.delayMs * RATE) / 1000;
  let ref = 0;
  let before = 0;
  let left = 0;
  for (let n = mic.length - 3 * RATE; n < mic.length; n++) {
    ref += far[n - lag]! ** 2;
    before += echo[n]! ** 2;
    left += (res[n]! - (mic[n]! - echo[n]!)) ** 2; // the residual less the noise: the echo the filter missed
  }
  return { aec, echoDb: db(ref / before), leftDb: db(ref / left), noiseDb: db(ref / (noise * noise * 3 * RATE)) };
}

/**
 * What the canceller left of the echo over the last 3 s, dB under the reference at the echo's delay:
 * its residual less what the mic holds besides the echo (`echo`, the mic's echo alone).
 */
function echoLeftDb(ref: Float32Array, mic: Float32Array, echo: Float32Array, res: Int16Array, p: EchoPath): number {
  const lag = (p.delayMs * RATE) / 1000;
  let power = 0;
  let left = 0;
  for (let n = mic.length - 3 * RATE; n < mic.length; n++) {
    power += ref[n - lag]! ** 2;
    left += (res[n]! - (mic[n]! - echo[n]!)) ** 2;
  }
  return db(power / left);
}

/**
 * The line heard 1 s before `agent` speaks (as a call's is before its greeting), through D.5 at
 * `erlDb` under white noise of RMS `noise`: the canceller run over it, and the echo it left.
 */
function heardFirst(agent: Float32Array, erlDb: number, noise: number) {
  const ref = new Float32Array(RATE + agent.length);
  ref.set(agent, RATE);
  const p = path('D5', erlDb);
  const mic = echoOf(ref, p, noise);
  const echo = echoOf(ref, p, 0);
  const aec = new EchoCanceller({ rate: RATE });
  const res = run(aec, ref, mic);
  return { aec, leftDb: echoLeftDb(ref, mic, echo, res, p) };
}

/**
 * The caller's turn, then the agent's: `turn` (her 3.8 s clip unless given) from sample `from` (0.2 s
 * unless given) with the agent silent, then from `at` (samples; 4.2 s unless given) the agent on D.5
 * at `erlDb`; white noise of RMS `noise` on the line throughout.
 */
function afterHerTurn(
  erlDb: number,
  noise: number,
  { turn = near, from = RATE / 5, at = Math.round(4.2 * RATE) }: { turn?: ArrayLike<number>; from?: number; at?: number } = {},
) {
  const ref = new Float32Array(at + far.length);
  ref.set(far, at);
  const p = path('D5', erlDb);
  const echo = echoOf(ref, p, 0);
  const g = gaussian(rng(5));
  const voice = (n: number) => (n >= from && n < from + turn.length ? turn[n - from]! : 0);
  const mic = Float32Array.from(echo, (e, n) => e + noise * g() + voice(n));
  return { ref, p, echo, mic, voice };
}

describe('EchoCanceller on ITU-T G.168 Annex D echo paths', () => {
  // G.168 §6.4.2.1 (test 2, convergence): within 1 s of far-end speech the echo must be well
  // down, and keep going down. Here: ≥ 20 dB from second 2 to the end, on every hybrid model.
  it.each(Object.keys(G168_MODELS))('converges on hybrid model %s at 6 dB ERL', (model) => {
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(far, path(model, 6));
    const res = run(aec, far, mic);
    const late = erle(mic, res, 2 * RATE, mic.length);
    const first = erle(mic, res, RATE / 2, (3 * RATE) / 2);
    console.log(
      `${model}: ERLE 0.5–1.5 s ${first.toFixed(1)} dB, 2 s–end ${late.toFixed(1)} dB; delay ${aec.delay}, loss ${aec.lossDb.toFixed(1)} dB`,
    );
    expect(aec.locked).toBe(true);
    expect(Math.abs((1000 * aec.delay) / RATE - 100)).toBeLessThanOrEqual(12);
    expect(late).toBeGreaterThanOrEqual(20);
  });

  it.each([40, 120, 250])('finds a %i ms bulk delay through a band-limited handset path with a second reflection', (delayMs) => {
    const h = handsetPath(rng(delayMs));
    const p: EchoPath = { kind: 'handset', name: h.name, h: h.h, delayMs, erlDb: 15 };
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(far, p);
    const res = run(aec, far, mic);
    expect(aec.locked).toBe(true);
    expect((1000 * aec.delay) / RATE).toBeGreaterThanOrEqual(delayMs - 12);
    expect((1000 * aec.delay) / RATE).toBeLessThanOrEqual(delayMs + 12);
    expect(erle(mic, res, 2 * RATE, mic.length)).toBeGreaterThanOrEqual(15);
  });

  // The barge-in judge trusts the loss it reports only once it rests on enough of the agent's speech.
  it('says how much far-end speech its loss rests on: none in silence, then up to the 3 s it keeps', () => {
    const aec = new EchoCanceller({ rate: RATE });
    const ref = new Float32Array(RATE + far.length); // 1 s of silence, then the agent
    ref.set(far, RATE);
    const seen: number[] = [];
    run(aec, ref, echoOf(ref, path('D5', 10)), { afterFrame: () => seen.push(aec.measuredMs) });
    expect(seen[RATE / 160 - 1]).toBe(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen.at(-1)).toBe(3000);
    expect(Number.isFinite(aec.lossDb)).toBe(true);
  });

  // The barge-in judge predicts the echo left in the caller's audio as the reference less this
  // loss. Under line noise the loss is measured to the residual, noise and all. With the step
  // control the echo left is 2–4 dB under what the measure says (a fixed step left it about as loud
  // as the noise, and the measure 2.5 dB over it at worst; bench/README.md, twenty-third and
  // twenty-fifth passes). A measure that claimed more loss than there is would let residual echo
  // pass for the caller: it may claim up to 3 dB more, inside the judge's 6 dB echo margin; and no
  // more than that margin less, or a caller would have to out-talk an echo that is not there.
  it.each([
    [10, 100],
    [10, 300],
    [20, 300],
    [30, 100],
  ])('reports under noise the loss of the echo it really leaves (ERL %i dB, noise RMS %i)', (erlDb, noise) => {
    const { aec, leftDb } = underNoise(erlDb, noise);
    console.log(
      `ERL ${erlDb} dB, noise ${db((noise / 32768) ** 2).toFixed(0)} dBFS: loss ${aec.lossDb.toFixed(1)} dB, echo left ${leftDb.toFixed(1)} dB under the reference`,
    );
    expect(aec.lossDb).toBeLessThanOrEqual(leftDb + 3);
    expect(aec.lossDb).toBeGreaterThanOrEqual(leftDb - 6);
  });

  // The same with the line's noise taken out (`echoLossDb`, what the barge-in judge predicts echo
  // from): the line is heard for 1 s before the agent speaks, as a call's is before its greeting,
  // and its noise is measured where no echo reaches. The loss to the residual, noise and all,
  // reads 2.5–3.5 dB under the echo left here; this 0.7–1.7 dB over it, and must be within 3 dB.
  it.each([
    [6, 1000],
    [10, 100],
    [10, 300],
    [20, 300],
    [30, 100],
  ])('tells the echo it leaves apart from the line noise (ERL %i dB, noise RMS %i)', (erlDb, noise) => {
    const { aec, leftDb } = heardFirst(far, erlDb, noise);
    console.log(
      `ERL ${erlDb} dB, noise ${db((noise / 32768) ** 2).toFixed(0)} dBFS: loss ${aec.lossDb.toFixed(1)} dB, to the echo ${aec.echoLossDb.toFixed(1)} dB; echo left ${leftDb.toFixed(1)} dB under the reference`,
    );
    expect(aec.echoLossDb).toBeLessThanOrEqual(leftDb + 3);
    expect(aec.echoLossDb).toBeGreaterThanOrEqual(leftDb - 3);
    expect(aec.echoLossDb).toBeGreaterThan(aec.lossDb);
  });

  // The noise's share is taken over all the windows kept, the loss at their 70th percentile: an
  // agent whose level swings (loud a share of each second, 15 dB softer the rest) could make the
  // pooled share outweigh the picked window's own (a review's worked example: about 4 dB more than
  // the echo left). Under noise the louder windows read more loss, and the percentile picks them
  // when they are enough of the windows, as here (loud less of the time, it picks the softer ones
  // and reads further under). Here it reads 0.5–2.2 dB under the echo left; it must not claim more
  // than 3 dB over it, as above.
  it.each([0.4, 0.5, 0.6])('does not claim more when the agent is loud %f of each second and 15 dB softer the rest', (duty) => {
    const swung = Float32Array.from(far, (v, n) => (n % RATE < duty * RATE ? v : v * 10 ** (-15 / 20)));
    const { aec, leftDb } = heardFirst(swung, 10, 300);
    console.log(`loud ${duty} of each second: to the echo ${aec.echoLossDb.toFixed(1)} dB; echo left ${leftDb.toFixed(1)} dB`);
    expect(aec.echoLossDb).toBeLessThanOrEqual(leftDb + 3);
    expect(aec.echoLossDb).toBeGreaterThan(aec.lossDb);
  });

  // The caller's own turn before the agent's (4 s of speech, the agent silent) is line no echo
  // reaches too, with only its pauses between words quiet: what is taken out must still be the
  // noise, not the caller (smoothed over 100 ms the floor read her, and the loss claimed 4–9 dB
  // more than the echo left). At most 3 dB more, as above.
  it.each([
    [10, 30],
    [10, 300],
    [20, 100],
  ])('takes the line noise, not the caller, out after her turn (ERL %i dB, noise RMS %i)', (erlDb, noise) => {
    const { ref, p, echo, mic } = afterHerTurn(erlDb, noise);
    const aec = new EchoCanceller({ rate: RATE });
    const res = run(aec, ref, mic);
    const leftDb = echoLeftDb(ref, mic, echo, res, p);
    console.log(
      `ERL ${erlDb} dB, noise RMS ${noise}: to the echo ${aec.echoLossDb.toFixed(1)} dB; echo left ${leftDb.toFixed(1)} dB under the reference`,
    );
    expect(aec.echoLossDb).toBeLessThanOrEqual(leftDb + 3);
  });

  // Her turn with no pause at all (her clip's frames over −50 dBFS only, end to end, twice over),
  // and the agent starting at her last word: the line no echo reaches is all her, so the line
  // floor reads her. The residual's own floor bounds it (without that bound: 6.5 dB more than the
  // echo left; with it, 1.0).
  it('takes no more than the line noise out after a turn with no pause in it', () => {
    const voiced: number[] = [];
    for (let k = 0; k + 160 <= near.length; k += 160)
      if (energy(near, k, k + 160) > 160 * 100 * 100) for (let i = k; i < k + 160; i++) voiced.push(near[i]!);
    const turn = Float32Array.from([...voiced, ...voiced]);
    const at = turn.length;
    const { ref, p, echo, mic } = afterHerTurn(20, 100, { turn, from: 0, at });
    const aec = new EchoCanceller({ rate: RATE });
    const res = run(aec, ref, mic);
    const leftDb = echoLeftDb(ref, mic, echo, res, p);
    console.log(`a ${(at / RATE).toFixed(1)} s turn: to the echo ${aec.echoLossDb.toFixed(1)} dB; echo left ${leftDb.toFixed(1)} dB`);
    expect(aec.echoLossDb).toBeLessThanOrEqual(leftDb + 3);
  });

  // A phone that leaves its silence out sends its line only while someone talks, so what no echo
  // reaches is the caller: nothing is taken out (the floor read her, and the loss claimed the full
  // 10 dB more). Frames it tells lost do not count as left out.
  it('takes nothing out on a line that leaves its silence out', () => {
    const { ref, echo, mic, voice } = afterHerTurn(20, 100);
    // the phone's voice detector: a frame is sent while the caller or the echo is 6 dB over the
    // noise, and for 100 ms after
    let quiet = Infinity;
    const unsent = (k: number) => {
      let power = 0;
      for (let i = k; i < k + 160; i++) power += (voice(i) + echo[i]!) ** 2;
      quiet = power > 160 * 4 * 100 * 100 ? 0 : quiet + 1;
      return quiet > 5;
    };
    const aec = new EchoCanceller({ rate: RATE, suppress: true });
    run(aec, ref, mic, { unsent });
    expect(aec.echoLossDb).toBe(aec.lossDb);
    expect(aec.suppressedEchoLossDb).toBe(aec.suppressedLossDb);
    let frames = 0;
    const told = new EchoCanceller({ rate: RATE, suppress: true });
    run(told, ref, mic, { lost: () => ++frames % 33 === 0 });
    expect(told.echoLossDb).toBeGreaterThan(told.lossDb);
  });

  // With no stretch of the line the echo cannot reach, nothing is known of its noise, and nothing
  // is taken out: the agent talks from the first packet, with pauses shorter than the echo's reach.
  it('takes nothing out as noise before it has heard the line without echo', () => {
    const aec = new EchoCanceller({ rate: RATE, suppress: true });
    run(aec, far, echoOf(far, path('D5', 20), 300));
    expect(aec.echoLossDb).toBe(aec.lossDb);
    expect(aec.suppressedEchoLossDb).toBe(aec.suppressedLossDb);
  });

  // Step control: the filter learns the echo, not the line's noise. At a fixed step it learned the
  // noise too, and under noise as loud as the echo left more echo than the path had: the agent got
  // more echo than with no canceller at all. Echo at the phone → after the canceller, dB under the
  // reference, fixed step → step control: ERL 6, −30 dBFS: 6.4 → 6.9 → 11.9; ERL 10, −33 dBFS:
  // 10.4 → 10.0 → 15.1; ERL 10, −30 dBFS: 10.4 → 6.7 → 12.1; ERL 14, −30 dBFS (the noise 8 dB over
  // the echo): 14.4 → 8.4 → 12.3, still 2 dB more than the path had, no longer 6. The last column is
  // the most it may leave over the echo at the phone, dB.
  it.each([
    [6, 1000, -3],
    [10, 700, -3],
    [10, 1000, 0],
    [14, 1000, 3],
  ])(
    'learns the echo, not the line noise (ERL %i dB, noise RMS %i): the echo after it at most %i dB over the echo at the phone',
    (erlDb, noise, mostDb) => {
      const { aec, echoDb, leftDb, noiseDb } = underNoise(erlDb, noise);
      console.log(
        `ERL ${erlDb} dB, noise ${noiseDb.toFixed(1)} dB under the reference: echo ${echoDb.toFixed(1)} dB under it at the phone, ${leftDb.toFixed(1)} dB after the canceller`,
      );
      expect(aec.locked).toBe(true);
      expect(echoDb - leftDb).toBeLessThanOrEqual(mostDb);
    },
  );

  // G.168 §6.4.2.4 (test 3, double talk): the caller's speech survives, and the model learned
  // before is not lost to it.
  it('keeps the caller talking over the echo (double talk) and still cancels afterwards', () => {
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(far, path('D5', 6));
    const echoOnly = Float32Array.from(mic);
    const at = 3 * RATE; // after convergence
    for (let i = 0; i < near.length && at + i < mic.length; i++) mic[at + i] = mic[at + i]! + near[i]! * 0.5;
    const res = run(aec, far, mic);
    const span = Math.min(near.length, mic.length - at, 2 * RATE);
    const { peak } = xcorrPeak(Float32Array.from(near.subarray(0, span)), res.subarray(at, at + span + 80), 80);
    expect(peak).toBeGreaterThanOrEqual(0.95);
    const after = at + near.length;
    if (after + RATE < mic.length) expect(erle(echoOnly, res, after, mic.length)).toBeGreaterThanOrEqual(15);
  });

  /**
   * Twelve handset paths drawn from `seed` as the barge-in set draws them, the agent's speech through
   * each, `lossShare` of its packets lost in runs of 2: per path, how far after the direct path the
   * filter's delay lay at most (ms) once it cancelled 10 dB, and from 2 s on, and the 20 ms frames
   * of echo (from 2 s on) it cancelled by less than 3 dB.
   */
  function handsetLines(seed: number, lossShare: number) {
    const r = rng(seed);
    const agents = ['agent-1.wav', 'agent-2.wav', 'agent-3.wav'].map((a) => Float32Array.from(fixture(`bargein/${a}`).samples));
    const lines = [];
    for (let t = 0; t < 12; t++) {
      const x = agents[t % agents.length]!;
      const p = handsetPath(r);
      const echo: EchoPath = { kind: 'handset', name: p.name, h: p.h, delayMs: 20 + 230 * r(), erlDb: 6 + 24 * r() };
      const mic = echoOf(x, echo);
      const aec = new EchoCanceller({ rate: RATE });
      const loss = new PacketLoss(lossShare, 2, rng(5 + t));
      let lateCancelling = -Infinity;
      let lateFrom2s = -Infinity;
      let cancelling = false; // before the frame (the loss measures change only within one)
      const res = run(aec, x, mic, {
        lost: () => lossShare > 0 && loss.lost(),
        afterFrame: (k) => {
          const late = (1000 * aec.delay) / RATE - echo.delayMs;
          if (cancelling) lateCancelling = Math.max(lateCancelling, late);
          if (k >= 2 * RATE && aec.delay >= 0) lateFrom2s = Math.max(lateFrom2s, late);
          cancelling = aec.erleDb >= 10;
        },
      });
      let bad = 0; // (a lost frame's residual is 0: it counts as cancelled)
      for (let k = 2 * RATE; k + 160 <= mic.length; k += 160)
        if (energy(mic, k, k + 160) > 160 * 1e4 && energy(res, k, k + 160) > energy(mic, k, k + 160) / 2) bad++;
      lines.push({ name: `${p.name} at ${echo.delayMs.toFixed(0)} ms`, lateCancelling, lateFrom2s, bad });
    }
    console.log(
      lines
        .map(
          (l) =>
            `${l.name}: delay after the direct path ≤ ${l.lateCancelling.toFixed(1)} ms once cancelling, ≤ ${l.lateFrom2s.toFixed(1)} ms from 2 s; ${l.bad} frames uncancelled`,
        )
        .join('\n'),
    );
    return lines;
  }

  // A handset path's second reflection (8–40 ms after the direct one, 6–14 dB down) now and then
  // correlates best with a window of the agent's speech. A canceller that already cancels must
  // not move its filter there: placed at the reflection, it misses the direct path and the echo
  // comes back whole (a false barge-in on the held-out set). The seed is one where the delay search
  // used to jump to a reflection.
  it('stays on the direct path of handset echoes with a second reflection once it cancels', () => {
    const lines = handsetLines(10, 0);
    // the filter starts 12 ms before the delay found: that much after the direct path still covers it
    expect(Math.max(...lines.map((l) => l.lateCancelling))).toBeLessThanOrEqual(12);
    // 1 here; 45 when the search moved the filter to the first path's reflection (34 ms after)
    expect(lines.reduce((a, l) => a + l.bad, 0)).toBeLessThanOrEqual(10);
  });

  // The same while the filter still converges: a second or so into the agent's speech, with packets
  // lost, a filter on the direct path may cancel only 6–10 dB yet, and the reflection is no better
  // a place for it (held-out seed 11, 3 % lost: moved 34 ms late at 9.7 dB, the echo came back and
  // cleared the agent).
  it('stays on the direct path of handset echoes while it converges, with 3 % of packets lost', () => {
    const lines = handsetLines(9, 0.03);
    expect(Math.max(...lines.map((l) => l.lateFrom2s))).toBeLessThanOrEqual(12);
    expect(lines.reduce((a, l) => a + l.bad, 0)).toBeLessThanOrEqual(10);
  });

  // G.168 §6.4.2.7 (test 6, non-divergence on narrow-band signals): tones and DTMF pairs on the
  // far end must not make the canceller add to the near end, and speech afterwards still converges.
  it('does not diverge on tones and tone pairs, and converges on speech after them', () => {
    const pairs = [
      [697, 0],
      [1336, 0],
      [697, 1209],
      [941, 1633],
    ];
    const tones = new Float32Array(pairs.length * RATE);
    pairs.forEach(([f1, f2], j) => {
      for (let i = 0; i < RATE; i++)
        tones[j * RATE + i] = 6000 * (Math.sin((2 * Math.PI * f1! * i) / RATE) + (f2 ? Math.sin((2 * Math.PI * f2 * i) / RATE) : 0));
    });
    const ref = new Float32Array(tones.length + far.length);
    ref.set(tones);
    ref.set(far, tones.length);
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(ref, path('D3', 10));
    const res = run(aec, ref, mic);
    for (let j = 0; j < pairs.length; j++) expect(erle(mic, res, j * RATE, (j + 1) * RATE)).toBeGreaterThanOrEqual(-1);
    expect(erle(mic, res, tones.length + 2 * RATE, ref.length)).toBeGreaterThanOrEqual(20);
  });

  // G.168 §6.4.2.5 (test 4, leak rate): a converged model survives 2 s of far-end silence with
  // noise on the near end: the echo is cancelled as soon as the far end talks again.
  it('keeps its model through far-end silence (leak)', () => {
    const gap = 2 * RATE;
    const ref = new Float32Array(far.length + gap + far.length);
    ref.set(far);
    ref.set(far, far.length + gap);
    const aec = new EchoCanceller({ rate: RATE });
    const mic = echoOf(ref, path('D7', 10), 100);
    const res = run(aec, ref, mic);
    // from the echo's return (bulk delay 100 ms) for a second, against the −50 dBFS floor
    const back = far.length + gap + RATE / 5;
    expect(erle(mic, res, back, back + RATE)).toBeGreaterThanOrEqual(12);
  });

  // A packet lost on its way never reaches the canceller: its clock (RTP timestamps, LineEcho)
  // jumps over the gap. A call's packets start anywhere in the canceller's 4 ms blocks, so the
  // block after a gap holds zeros where the lost samples were due.
  it('learns nothing from samples a loss never brought: 10 % of packets lost cost its measured loss under 4 dB', () => {
    const offset = 13; // samples: where the first packet falls in a block
    const lossOf = (model: string, share: number) => {
      const aec = new EchoCanceller({ rate: RATE, suppress: true });
      const mic = echoOf(far, path(model, 10));
      const loss = new PacketLoss(share, 2, rng(5)); // in runs of 2 packets on average
      run(aec, far, mic, { offset, lost: () => loss.lost() });
      return aec.lossDb;
    };
    const models = Object.keys(G168_MODELS);
    let drop = 0;
    for (const m of models) drop += lossOf(m, 0) - lossOf(m, 0.1);
    // (adapting on those zeros as if the line had gone quiet: 5.3 dB on average)
    expect(drop / models.length).toBeLessThan(4);
  });

  it('finds the path through losses: with 3 % of packets lost, the delay within 2 ms and the measured loss within 4 dB of a call without', () => {
    // (as silence, the lost samples' reference counted against the correlation: on D.5 the search
    // locked 17 ms late, on a later part of the path, and the measured loss fell 15.6 dB)
    const lines: string[] = [];
    for (const m of Object.keys(G168_MODELS)) {
      const mic = echoOf(far, path(m, 10));
      const [whole, lossy] = [0, 0.03].map((share) => {
        const aec = new EchoCanceller({ rate: RATE, suppress: true });
        const loss = new PacketLoss(share, 2, rng(5));
        run(aec, far, mic, { offset: 13, lost: () => share > 0 && loss.lost() });
        return aec;
      });
      lines.push(`${m}: delay ${whole!.delay} → ${lossy!.delay}, loss ${whole!.lossDb.toFixed(1)} → ${lossy!.lossDb.toFixed(1)} dB`);
      expect(Math.abs(lossy!.delay - whole!.delay)).toBeLessThanOrEqual((2 * RATE) / 1000);
      expect(whole!.lossDb - lossy!.lossDb).toBeLessThan(4);
    }
    console.log(lines.join('\n'));
  });

  it('leaves a near end that is no echo of the reference intact (no echo path at all)', () => {
    const aec = new EchoCanceller({ rate: RATE });
    const mic = new Float32Array(far.length);
    for (let i = 0; i < near.length && i < mic.length; i++) mic[i] = near[i]!;
    const res = run(aec, far, mic);
    const n = Math.min(near.length, mic.length);
    expect(Math.abs(db(energy(res, 0, n) / energy(mic, 0, n)))).toBeLessThanOrEqual(1);
    expect(xcorrPeak(mic.subarray(0, n), res.subarray(0, n), 0).peak).toBeGreaterThanOrEqual(0.95);
  });

  // What the barge-in detector takes as evidence that a line has no echo before UNFOUND_MS
  // (BargeIn.ts QUIET_PEAK): the best correlation any of the delay search's searches has found.
  it('states how well its searches found the far end in the near end: little on a line with no echo, much on one with', () => {
    const firstSecond = (mic: Float32Array) => {
      const aec = new EchoCanceller({ rate: RATE });
      const peaks: number[] = [];
      run(aec, far, mic.subarray(0, RATE), { afterFrame: () => peaks.push(aec.searchPeak) });
      return peaks;
    };
    const g = gaussian(rng(3));
    const none = firstSecond(Float32Array.from({ length: RATE }, () => 30 * g()));
    // D.3 at 20 dB ERL, with the caller talking over it louder than its echo from 0.2 s
    const echo = echoOf(far, path('D3', 20));
    for (let i = 0; i < RATE - 1600; i++) echo[1600 + i] = echo[1600 + i]! + near[i]! * 0.3;
    const echoed = firstSecond(echo);
    console.log(`best peak over 1 s: no echo ${none.at(-1)!.toFixed(2)}, D.3 ${echoed.at(-1)!.toFixed(2)}`);
    // stated from the second search on, at 0.7 s here (in a call the first often comes over the
    // far end's first few ms)
    expect(Number.isNaN(none[20]!)).toBe(true);
    expect(Number.isNaN(none[35]!)).toBe(false);
    expect(none.at(-1)!).toBeLessThan(0.15);
    expect(echoed.at(-1)!).toBeGreaterThanOrEqual(0.3);
  });

  // What the barge-in judge takes the echo to be from the moment the path is found until the loss
  // is measured (BargeIn.ts CORRELATED_MARGIN_DB): the loss has no window yet, and its first
  // windows read the caller's voice as echo if she talks; the correlation does not read her.
  it.each([
    ['D3', 20],
    ['D5', 15],
    ['D8', 15],
    ['D3', 10],
    ['D7', 10],
  ])(
    'reads the echo return loss of hybrid %s at %i dB from its correlation as it finds the path, the caller talking over it',
    (model, erl) => {
      const echo = echoOf(far, path(model, erl));
      for (let i = 0; i < 2 * RATE - 1600; i++) echo[1600 + i] = echo[1600 + i]! + near[i]! * 0.3;
      const aec = new EchoCanceller({ rate: RATE });
      let atLock: [number, number] | undefined;
      run(aec, far, echo.subarray(0, 2 * RATE), {
        afterFrame: () => (atLock ??= aec.locked ? [aec.correlatedErlDb, aec.lossDb] : undefined),
      });
      const [read, loss] = atLock!;
      console.log(
        `${model} at ${erl} dB: at the lock ${read.toFixed(1)} dB (loss ${loss}), after 2 s ${aec.correlatedErlDb.toFixed(1)} dB`,
      );
      expect(Number.isNaN(loss)).toBe(true); // no loss window yet
      // it reads high where its peak holds only part of the echo (D.8 at 15 dB: 22 dB), never low
      for (const db of [read, aec.correlatedErlDb]) {
        expect(db).toBeGreaterThan(erl - 1);
        expect(db).toBeLessThan(erl + 10);
      }
    },
  );

  function runSuppressed(ref: Float32Array, mic: Float32Array): { aec: EchoCanceller; res: Int16Array; sup: Int16Array } {
    const aec = new EchoCanceller({ rate: RATE, suppress: true });
    const sup = new Int16Array(mic.length);
    return { aec, res: run(aec, ref, mic, { suppressed: sup }), sup };
  }

  // G.168 §3.29's non-linear processor, here for the barge-in detector: what the filter leaves of
  // the echo is taken out further, and the caller's voice is not.
  it.each(['D3', 'D7'])('suppresses the residual echo of hybrid %s and keeps the caller talking over it', (model) => {
    const echoOnly = echoOf(far, path(model, 10));
    const quiet = runSuppressed(far, echoOnly);
    const res = erle(echoOnly, quiet.res, 2 * RATE, far.length);
    const sup = erle(echoOnly, quiet.sup, 2 * RATE, far.length);
    const mic = Float32Array.from(echoOnly);
    const at = 3 * RATE;
    const span = Math.min(near.length, mic.length - at, 2 * RATE);
    for (let i = 0; i < span; i++) mic[at + i] = mic[at + i]! + near[i]! * 0.3;
    const talk = runSuppressed(far, mic);
    const voice = Float32Array.from(near.subarray(0, span), (v) => v * 0.3);
    const kept = db(energy(talk.sup, at, at + span) / energy(voice, 0, span));
    const { peak } = xcorrPeak(voice, talk.sup.subarray(at, at + span + 80), 80);
    console.log(
      `${model}: ERLE ${res.toFixed(1)} dB, with suppression ${sup.toFixed(1)} dB; caller kept ${kept.toFixed(1)} dB, correlation ${peak.toFixed(3)}`,
    );
    expect(sup).toBeGreaterThanOrEqual(res + 4); // 4.8 (D7) and 6.6 dB (D3) here
    expect(Math.abs(kept)).toBeLessThanOrEqual(2);
    expect(peak).toBeGreaterThanOrEqual(0.9);
    expect(quiet.aec.suppressedLossDb).toBeGreaterThanOrEqual(quiet.aec.lossDb + 3);
  });

  it('passes a near end with no echo through the suppressor unchanged', () => {
    const mic = new Float32Array(far.length);
    for (let i = 0; i < near.length && i < mic.length; i++) mic[i] = near[i]!;
    const { sup } = runSuppressed(
      far.map(() => 0),
      mic,
    );
    const n = Math.min(near.length, mic.length) - 160;
    let err = 0;
    // (from the second packet: the first one's output is one block short)
    for (let i = 160; i < n; i++) err = Math.max(err, Math.abs(sup[i]! - Math.round(mic[i]!)));
    expect(err).toBeLessThanOrEqual(1);
  });
});
