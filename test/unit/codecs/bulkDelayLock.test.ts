import { describe, expect, it } from 'vitest';
import { G168_MODELS, g168Path, handsetPath, scaledResponse } from '../../../bench/src/bargein/echoPaths.js';
import { fixture, rng } from '../../helpers/audio.js';
import { cancellerSearch } from '../../helpers/delaySearch.js';

/**
 * The delay search's first lock, over real voices: the five agents' speech, each of the 21
 * interruption clips over it. On a line with an echo it must lock at once (before the caller,
 * 0.3–2.3 s in, hides the echo's correlation under her own speech); on a line with none, the
 * caller's speech over the agent's seldom correlates enough to lock it. The two pull apart: every
 * rule tried that asked a second window to confirm a strong peak locked fewer no-echo lines and
 * found real paths seconds later (bench/README.md, forty-first pass). Both are measured here, so
 * that a change that buys one with the other shows (a check the bench must still confirm).
 */

const RATE = 8000;
const MS = RATE / 1000;
const DIR = 'bargein/';
const AGENTS = ['agent-1', 'agent-2', 'agent-3', 'x-agent-1', 'x-agent-2'];
const CALLERS = [
  ...['1-a', '1-b', '2-a', '2-b', '3-a', '3-b', '4-a', '4-b', '5', '6', '7', '8', '9', '10'].map((n) => `interrupt-${n}`),
  ...['de', 'en-fast', 'en-low', 'en-slow', 'es', 'fr', 'pt'].map((n) => `x-interrupt-${n}`),
];
const agents = AGENTS.map((n) => fixture(`${DIR}${n}.wav`).samples);
const callers = CALLERS.map((n) => fixture(`${DIR}${n}.wav`).samples);

/**
 * The agent's speech (`far`), 20 ms at a time, and the caller's clip from `callerAt` (samples) at
 * `callerGain`, over white noise at −60 dBFS, with `echo` (the far end through a path, at near-end
 * sample n) if any, until a second after the caller stops (or the agent does). Returns the first
 * lock: when (ms into the agent's speech, Infinity: never) and where (samples, −1: never).
 */
function firstLock(
  far: Int16Array,
  clip: Int16Array,
  callerAt: number,
  callerGain: number,
  echo: ((n: number) => number) | null,
  seed: number,
) {
  // the search as the canceller sets it up over its 400 ms
  const bd = cancellerSearch(400);
  const noise = rng(seed);
  const refAt = (s: number) => (s >= 0 && s < far.length ? far[s]! : 0);
  const frame = new Int16Array(160);
  const end = Math.min(far.length, callerAt + clip.length + RATE);
  for (let k = 0; k + 160 <= end; k += 160) {
    for (let i = 0; i < 160; i++) {
      const n = k + i;
      const said = n >= callerAt && n - callerAt < clip.length ? callerGain * clip[n - callerAt]! : 0;
      const v = (echo === null ? 0 : echo(n)) + said + 32768 * 1e-3 * Math.sqrt(3) * (2 * noise() - 1);
      frame[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
    }
    bd.near(frame, k, refAt);
    if (bd.delay >= 0) return { atMs: (k + 160) / MS, delay: bd.delay };
  }
  return { atMs: Infinity, delay: -1 };
}

/** `far` through `h`, `delay` samples late: the echo at near-end sample `n`. */
const through = (far: Int16Array, h: Float32Array, delay: number) => (n: number) => {
  let a = 0;
  for (let j = 0; j < h.length && j <= n - delay; j++) a += h[j]! * far[n - delay - j]!;
  return a;
};

describe('BulkDelay first lock, over real voices', () => {
  it('on a line with no echo, the caller talking over the agent 0.3 s in seldom locks it', () => {
    let locks = 0;
    agents.forEach((far, a) =>
      callers.forEach((clip, c) => {
        if (firstLock(far, clip, 0.3 * RATE, 1, null, 100 * a + c).delay >= 0) locks++;
      }),
    );
    // 11 of 105 as measured (forty-first pass); LOCK_CORR 0.4 locked 22 (and found real paths sooner)
    expect(locks).toBeLessThanOrEqual(16);
  });

  it('on G.168 and handset lines, the caller talking 0.3–2.3 s in, locks soon (p50 ≤ 0.4 s, p90 ≤ 1 s), mostly on the path', () => {
    const models = Object.keys(G168_MODELS);
    const times: number[] = [];
    let off = 0;
    agents.forEach((far, a) => {
      const farF = Float32Array.from(far);
      callers.forEach((clip, c) => {
        const r = rng(1000 + 100 * a + c);
        const delayMs = 20 + Math.floor(r() * 200);
        const erlDb = 6 + r() * 24;
        // every other line a handset; the others run through the eight G.168 models in turn
        const handset = (a + c) % 2 === 1;
        const model = models[((a + c) >> 1) % models.length]!;
        const p = handset ? handsetPath(r) : { name: model, h: g168Path(model) };
        // the ERL over the agent's first 2 s (the whole utterance costs a convolution of it per line)
        const h = scaledResponse(farF.subarray(0, 2 * RATE), { kind: handset ? 'handset' : 'g168', name: p.name, h: p.h, delayMs, erlDb });
        let peak = 0;
        for (let j = 0; j < h.length; j++) if (Math.abs(h[j]!) > Math.abs(h[peak]!)) peak = j;
        const callerAt = Math.round((0.3 + 2 * r()) * RATE);
        const lock = firstLock(far, clip, callerAt, 10 ** ((-10 + 10 * r()) / 20), through(far, h, delayMs * MS), 100 * a + c);
        times.push(lock.atMs);
        // on the path: its strongest tap within the search's own slack of the delay (10 ms before
        // it to 32 ms after: the same path to the search)
        const tap = delayMs * MS + peak;
        if (lock.delay >= 0 && (lock.delay < tap - 32 * MS || lock.delay > tap + 10 * MS)) off++;
      });
    });
    times.sort((x, y) => x - y);
    // As measured (forty-first pass): every line locked, p50 0.3 s, p90 0.7 s; 4 off their path.
    // Three of those locked 11–13 ms after the strongest tap on the first search (a pitch period
    // late: the search's earlier-peak rule is there to move such a lock back; not measured here);
    // one is a handset line of ERL 21 dB whose echo the caller hid from 0.47 s, where her own
    // speech locked it at 2.9 s. With a strong peak confirmed by a second search, 6 no-echo lines
    // locked, but the lines with an echo locked at p50 0.7 s, p90 2.7 s, 2 of them never.
    expect(times.filter((t) => t === Infinity)).toHaveLength(0);
    expect(times[times.length >> 1]).toBeLessThanOrEqual(400);
    expect(times[Math.floor(0.9 * times.length)]).toBeLessThanOrEqual(1000);
    expect(off).toBeLessThanOrEqual(6);
  });
});
