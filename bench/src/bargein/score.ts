import type { EchoKind } from './echoPaths.js';
import type { Kind, Outcome } from './trial.js';

/** A clear counts for an interruption when it comes within this long of the speech onset. */
export const RECALL_WINDOW_MS = 1000;

/** The clear that catches interruption `o` (within RECALL_WINDOW_MS of its onset), if any. */
export function recallHit(o: Outcome): Outcome['clears'][number] | undefined {
  const onsetMs = o.trial.onset * 1000;
  return o.clears.find((c) => c.atMs >= onsetMs && c.atMs <= onsetMs + RECALL_WINDOW_MS);
}

/** The trial ducked the agent in its own turn, not only in the agent's turn before it (`priorTurn`: negative times). */
export function duckedInTurn(o: Outcome): boolean {
  return o.ducks.some((t) => t >= 0);
}

/** A backchannel ducked and not cleared came back whole: resumed in its turn, and every 20 ms due by the end reached the phone. */
export function resumedWhole(o: Outcome): boolean {
  return o.resumes.some((t) => t >= 0) && o.agentSamplesPlayed >= o.agentSamplesDue;
}

export function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export interface Scores {
  clearP50: number;
  clearP95: number;
  duckP50: number;
  recall: [number, number];
  /** interruptions not caught within the window: cleared later, never, or before the onset (by noise or echo) */
  missed: { late: number; never: number; early: number };
  echoOnly: [number, number]; // false clears, minutes
  noiseEcho: [number, number];
  /** ducks on echo-only trials: in the trial's turn, and in the agent's turn before it (`priorTurn`) */
  echoOnlyDucks: [number, number];
  backchannelsKept: [number, number];
  backchannelsResumedWhole: [number, number];
  precision: [number, number]; // true, false
  falseByKind: Record<string, number>;
  playedErr: number[];
  erle: number[];
  /** echo-only trials on loud echoes: the echo's level at the phone over what reached the agent, dB (Outcome.echoToAgentDb) */
  echoToAgent: number[];
  /** when the canceller first had the echo path, ms from the agent's start (trials where it did), and the trials */
  pathFound: [number[], number];
}

/** The issue's measures over a set of outcomes (one echo-path kind, or all). */
export function score(outcomes: Outcome[]): Scores {
  const clearDelays: number[] = [];
  const duckDelays: number[] = [];
  const falseByKind: Record<string, number> = {};
  const minutes: Partial<Record<Kind, number>> = {};
  let tp = 0;
  let interruptions = 0;
  const missed = { late: 0, never: 0, early: 0 };
  let bcKept = 0;
  let bcs = 0;
  let bcWhole = 0;
  let bcDucked = 0;
  const echoOnlyDucks: [number, number] = [0, 0];
  const playedErr: number[] = [];
  const erle: number[] = [];
  const echoToAgent: number[] = [];
  const pathFound: number[] = [];
  for (const o of outcomes) {
    const k = o.trial.kind;
    minutes[k] = (minutes[k] ?? 0) + o.agentSpeechMs / 60000;
    if (Number.isFinite(o.erleDb)) erle.push(o.erlDb + o.erleDb);
    if (Number.isFinite(o.pathFoundMs)) pathFound.push(o.pathFoundMs);
    // loud echoes only: at ERL ≤ 12 dB the echo stands ≥ 20 dB over the phone's floor (echo-only
    // trials have no other background), which would otherwise bound the measure
    if (k === 'echo-only' && o.trial.path.erlDb <= 12 && Number.isFinite(o.echoToAgentDb)) echoToAgent.push(o.echoToAgentDb);
    for (const c of o.clears) playedErr.push(Math.abs(c.playedMs - c.truthMs));
    const onsetMs = o.trial.onset * 1000;
    if (k === 'interruption') {
      interruptions++;
      const hit = recallHit(o);
      const early = o.clears.filter((c) => c.atMs < onsetMs).length;
      falseByKind[k] = (falseByKind[k] ?? 0) + early;
      if (hit !== undefined) {
        tp++;
        clearDelays.push(hit.atMs - onsetMs);
      } else if (early > 0) missed.early++;
      else if (o.clears.length > 0) missed.late++;
      else missed.never++;
      const duck = o.ducks.find((t) => t >= onsetMs);
      if (duck !== undefined) duckDelays.push(duck - onsetMs);
    } else {
      falseByKind[k] = (falseByKind[k] ?? 0) + o.clears.length;
      if (k === 'echo-only') for (const d of o.ducks) echoOnlyDucks[d < 0 ? 1 : 0]++;
      if (k === 'backchannel') {
        bcs++;
        if (o.clears.length === 0) bcKept++;
        if (duckedInTurn(o) && o.clears.length === 0) {
          bcDucked++;
          if (resumedWhole(o)) bcWhole++;
        }
      }
    }
  }
  const falseMixed = ['interruption', 'backchannel', 'cough', 'click'].reduce((a, k) => a + (falseByKind[k] ?? 0), 0);
  return {
    clearP50: pct(clearDelays, 50),
    clearP95: pct(clearDelays, 95),
    duckP50: pct(duckDelays, 50),
    recall: [tp, interruptions],
    missed,
    echoOnly: [falseByKind['echo-only'] ?? 0, minutes['echo-only'] ?? 0],
    noiseEcho: [falseByKind['noise-only'] ?? 0, minutes['noise-only'] ?? 0],
    echoOnlyDucks,
    backchannelsKept: [bcKept, bcs],
    backchannelsResumedWhole: [bcWhole, bcDucked],
    precision: [tp, falseMixed],
    falseByKind,
    playedErr,
    erle,
    echoToAgent,
    pathFound: [pathFound, outcomes.length],
  };
}

const per10 = ([n, min]: [number, number]) => `${((10 * n) / Math.max(min, 1e-9)).toFixed(1)} (${n} in ${min.toFixed(1)} min)`;
/**
 * Wilson score interval of the proportion a/n (z = 1.96: 95 %), as fractions. With 32 trials per
 * kind one trial is 3 points: the interval shows whether a goal is missed or merely not yet shown.
 */
export function wilson(a: number, n: number, z = 1.96): [number, number] {
  if (n === 0) return [0, 1];
  const p = a / n;
  const z2 = z * z;
  const d = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / d;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / d;
  return [Math.max(0, center - half), Math.min(1, center + half)];
}

/** "91 % (29/32; 76–97)": the share a/n, the counts, and its 95 % interval in % */
const frac = ([a, n]: [number, number]) => {
  const [lo, hi] = wilson(a, n);
  return `${((100 * a) / Math.max(1, n)).toFixed(0)} % (${a}/${n}; ${(100 * lo).toFixed(0)}–${(100 * hi).toFixed(0)})`;
};
const ms = (v: number) => (Number.isNaN(v) ? '—' : `${v.toFixed(0)} ms`);

/** Markdown table: one column per echo-path kind, then the goal. */
export function table(byKind: [EchoKind | 'all', Scores][]): string {
  const rows: [string, (s: Scores) => string, string][] = [
    ['clear decided after onset, p50', (s) => ms(s.clearP50), '≤ 150 ms'],
    ['clear decided, p95', (s) => ms(s.clearP95), '≤ 250 ms'],
    ['duck started after onset, p50', (s) => ms(s.duckP50), '≤ 100 ms'],
    [`recall (cleared within ${RECALL_WINDOW_MS} ms)`, (s) => frac(s.recall), '≥ 97 %'],
    [
      'interruptions missed: cleared later / never / before the onset',
      (s) => `${s.missed.late} / ${s.missed.never} / ${s.missed.early}`,
      '—',
    ],
    ['false clears / 10 min, echo only', (s) => per10(s.echoOnly), '≤ 1'],
    ['false clears / 10 min, noise + echo', (s) => per10(s.noiseEcho), '≤ 2'],
    [
      'false ducks, echo only',
      (s) => `${s.echoOnlyDucks[0]}${s.echoOnlyDucks[1] > 0 ? ` (+ ${s.echoOnlyDucks[1]} in the turn before)` : ''}`,
      '—',
    ],
    ['backchannels not cleared', (s) => frac(s.backchannelsKept), '≥ 80 %'],
    ['ducked backchannels resumed, no audio lost', (s) => frac(s.backchannelsResumedWhole), '100 %'],
    [
      'precision (mixed set)',
      (s) =>
        `${frac([s.precision[0], s.precision[0] + s.precision[1]])}: false ${['backchannel', 'cough', 'click', 'interruption'].map((k) => `${s.falseByKind[k] ?? 0} ${k === 'interruption' ? 'early' : k}`).join(', ')}`,
      '≥ 90 %',
    ],
    [
      'playedMs error p50 / max',
      (s) => (s.playedErr.length ? `${pct(s.playedErr, 50).toFixed(0)} / ${Math.max(...s.playedErr).toFixed(0)} ms` : '—'),
      '≤ 60 ms',
    ],
    [
      'echo path found after the agent starts (< 0: in its turn before), p50 / p95 (trials where it was)',
      ({ pathFound: [ms, n] }) => `${ms.length ? `${pct(ms, 50).toFixed(0)} / ${pct(ms, 95).toFixed(0)} ms ` : ''}(${ms.length}/${n})`,
      '—',
    ],
    ['echo loss at the end (ERL + ERLE measured), p50', (s) => (s.erle.length ? `${pct(s.erle, 50).toFixed(1)} dB` : '—'), '—'],
    [
      'echo the agent gets, under the echo at the phone, p50 / min (echo only, ERL ≤ 12 dB, from 1 s)',
      (s) =>
        s.echoToAgent.length
          ? `${pct(s.echoToAgent, 50).toFixed(1)} / ${Math.min(...s.echoToAgent).toFixed(1)} dB (${s.echoToAgent.length})`
          : '—',
      '—',
    ],
  ];
  const head = `| measure | ${byKind.map(([k]) => k).join(' | ')} | goal |`;
  const sep = `|---|${byKind.map(() => '---').join('|')}|---|`;
  return [head, sep, ...rows.map(([name, f, goal]) => `| ${name} | ${byKind.map(([, s]) => f(s)).join(' | ')} | ${goal} |`)].join('\n');
}
