import { describe, expect, it } from 'vitest';
import { score, table, wilson } from '../../bench/src/bargein/score.js';
import type { Outcome } from '../../bench/src/bargein/trial.js';

/** An outcome of `trial` as the bench's runner gives it, with the fields `score` reads (none cleared, ducked or resumed unless given). */
function outcome(trial: object, given: Partial<Pick<Outcome, 'clears' | 'ducks' | 'resumes'>>): Outcome {
  return {
    trial,
    clears: [],
    ducks: [],
    resumes: [],
    agentSpeechMs: 4000,
    agentSamplesPlayed: 0,
    agentSamplesDue: 0,
    erlDb: NaN,
    erleDb: NaN,
    delayMs: NaN,
    ...given,
  } as unknown as Outcome;
}

/**
 * The barge-in bench reports each share with its 95 % Wilson score interval (Wilson 1927; the
 * interval Newcombe 1998 recommends for small counts), so a reader sees whether a goal is missed
 * or merely not shown by 32 trials.
 */
describe('bench:bargein Wilson interval', () => {
  it('matches the closed form on a held-out count (29 of 32)', () => {
    // p = 0.90625, z = 1.96: centre (p + z²/2n) / (1 + z²/n), half-width z·√(p(1−p)/n + z²/4n²) / (1 + z²/n)
    const [lo, hi] = wilson(29, 32);
    expect(lo).toBeCloseTo(0.7578, 3);
    expect(hi).toBeCloseTo(0.9676, 3);
  });

  it('is asymmetric and stays inside [0, 1] at the edges', () => {
    const [lo0, hi0] = wilson(0, 32);
    expect(lo0).toBe(0);
    expect(hi0).toBeGreaterThan(0.09); // none of 32 still allows ≈ 11 %
    expect(hi0).toBeLessThan(0.12);
    const [lo1, hi1] = wilson(32, 32);
    expect(hi1).toBeCloseTo(1, 12);
    expect(lo1).toBeCloseTo(1 - hi0, 12); // mirror image of 0 of 32
  });

  it('narrows as trials grow, around the same share', () => {
    const width = (a: number, n: number) => wilson(a, n)[1] - wilson(a, n)[0];
    expect(width(90, 100)).toBeLessThan(width(9, 10));
    expect(width(900, 1000)).toBeLessThan(width(90, 100));
    const [lo, hi] = wilson(900, 1000);
    expect(lo).toBeLessThan(0.9);
    expect(hi).toBeGreaterThan(0.9);
  });

  it('says nothing of no trials', () => {
    expect(wilson(0, 0)).toEqual([0, 1]);
  });
});

describe('bench:bargein interruptions missed', () => {
  /** an interruption with its onset at 2 s, cleared at `clearsMs` (simulated ms) */
  const interruption = (...clearsMs: number[]) =>
    outcome(
      { kind: 'interruption', onset: 2, path: { kind: 'none' } },
      { clears: clearsMs.map((atMs) => ({ atMs, playedMs: atMs, truthMs: atMs })) },
    );

  it('tells a late clear, none, and one before the onset apart, and counts a clear within the second as caught', () => {
    const s = score([interruption(2700), interruption(3000), interruption(3400), interruption(), interruption(1200, 2800)]);
    // 2700, 3000 and the last one's 2800 are within 1 s of the onset (its 1200 a false clear); 3400 is late
    expect(s.recall).toEqual([3, 5]);
    expect(s.missed).toEqual({ late: 1, never: 1, early: 0 });
    const e = score([interruption(1200)]);
    expect(e.missed).toEqual({ late: 0, never: 0, early: 1 });
    expect(e.falseByKind['interruption']).toBe(1);
  });
});

describe('bench:bargein false ducks on echo alone', () => {
  /** an echo-only trial ducked at `ducksMs` (from its own turn's start: a negative time is the turn before) */
  const echoOnly = (...ducksMs: number[]) =>
    outcome({ kind: 'echo-only', onset: 0, path: { kind: 'flat' } }, { ducks: ducksMs, resumes: ducksMs.map((d) => d + 400) });

  it('counts those in the trial’s turn apart from those in the agent’s turn before it (`--prior-turn`)', () => {
    const s = score([echoOnly(-6860, 2380), echoOnly(), echoOnly(-5100, 0)]);
    expect(s.echoOnlyDucks).toEqual([2, 2]);
    expect(table([['flat', s]])).toContain('| false ducks, echo only | 2 (+ 2 in the turn before) |');
    // without a turn before, the cell is the count alone, as it always was
    expect(table([['flat', score([echoOnly(1040, 3280)])]])).toContain('| false ducks, echo only | 2 |');
  });

  it('takes a backchannel as ducked, and as resumed whole, only in its own turn', () => {
    const backchannel = (ducks: number[], resumes: number[]) =>
      outcome({ kind: 'backchannel', onset: 2, path: { kind: 'flat' } }, { ducks, resumes });
    // ducked and resumed in the greeting only: not a ducked backchannel of its turn
    expect(score([backchannel([-6580], [-6200])]).backchannelsResumedWhole).toEqual([0, 0]);
    // ducked in its turn, resumed only in the greeting: ducked, and not resumed whole
    expect(score([backchannel([-6580, 560], [-6200])]).backchannelsResumedWhole).toEqual([0, 1]);
    expect(score([backchannel([-6580, 560], [-6200, 960])]).backchannelsResumedWhole).toEqual([1, 1]);
  });
});
