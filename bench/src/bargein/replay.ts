import { readFileSync, writeFileSync } from 'node:fs';
import { BargeInDetector, DEFAULT_BARGE_IN, type BargeInOptions } from '../../../gateway/src/media/BargeIn.js';
import { InterruptionDetector, type EchoModel, type JudgedChunk } from '../../../gateway/src/media/Interruption.js';
import { buildSet, parseOptions } from './main.js';
import { pct, RECALL_WINDOW_MS } from './score.js';
import { runTrial, turnStartMs, type Kind } from './trial.js';

/**
 * Fast tuning aid for the interruption judge: `--record FILE` runs the set once through the real
 * Call (autoClear off, so the agent plays on and every chunk is judged) and records what the
 * judge saw, chunk by chunk (levels, speech probability, predicted echo, background quantiles,
 * agent audible); `--replay FILE [--set k=v …]` runs a fresh InterruptionDetector over the
 * recording with other options in milliseconds, stopping each trial at its first clear. Replay
 * ignores what a different decision changes in the audio (a duck's lower echo, a clear's
 * silence), so it only ranks candidates: the figures reported come from `bench:bargein`.
 *
 *   node --import tsx bench/src/bargein/replay.ts --split tune --seed 1 --trials 16 --record /tmp/tune.json
 *   node --import tsx bench/src/bargein/replay.ts --replay /tmp/tune.json --set noiseMarginDb=4
 *   TRACE='g168 backchannel none' node --import tsx bench/src/bargein/replay.ts --replay /tmp/tune.json
 *
 * TRACE prints, for each trial whose `path kind label` (as VERBOSE names it) starts with it, what
 * the judge saw chunk by chunk from TRACE_BEFORE ms (200 unless set) before the onset until its
 * first clear or TRACE_AFTER ms (1200 unless set) after the onset: media time from the onset
 * (ms), speech probability, the chunk's level, the loudest echo predicted in it and the background
 * it had to clear (dBFS, InterruptionDetector.lastJudged), its headroom over the tightest margin
 * (dB), and whether the echo path was taken as measured.
 *
 * (Silero's probabilities are recorded, so `sileroThreshold` replays too; RNNoise's 10 ms chunks
 * keep the threshold they were recorded with.)
 *
 * A record holds a probability only for the chunks the model ran on: one the judge turned down
 * (`maySpeak`: no speech even at the model's surest) is recorded as 0, so a rule that would turn
 * down fewer (a lower margin over the background) replays as if the model had heard nothing there.
 * `RECORD_ALL=1` with `--record` runs the model on every chunk and records what it said (the call
 * recorded judges with it too, so its ducks may differ from the gateway's); replay then turns down,
 * as the gateway would, each chunk `maySpeak` turns down under the options replayed (TRACE marks
 * them `*`, with the probability the model gave).
 *
 *   RECORD_ALL=1 node --import tsx bench/src/bargein/replay.ts --split tune --seed 1 --trials 32 --record /tmp/tune-all.json
 */

const QS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
type Ev = [0, number, number] | [1, number, number, number, number, number, number[], number[], number?];
interface Rec {
  kind: Kind;
  path: string;
  label: string;
  onsetMs: number;
  minutes: number;
  /**
   * every Silero chunk was inferred when recorded (RECORD_ALL=1): replay turns down, as the
   * gateway does, those `maySpeak` would have (their probability taken as 0)
   */
  all?: boolean;
  /**
   * level events [0, endMs, db] and chunk events [1, endMs, chunkMs, p, threshold, audible, echo
   * per slot, quantiles, path measured (1/0; records made before it have none: taken as measured)]
   */
  ev: Ev[];
}

async function record(file: string): Promise<void> {
  const values = parseOptions();
  // the caller's line alone this long first (`--agent-after`), after the agent's turn before with
  // `--prior-turn`: a record's times are the call's, its onsets too
  const agentAfterMs = Number(values['agent-after']);
  const set = await buildSet(values);
  let cur: Ev[] = [];
  let echoes: number[] = [];
  /** the echo and background model of the trial's call (the detector reads it), once seen */
  const model: BargeInDetector[] = [];
  // Wrapped on the prototypes: the call builds its own detectors, and this records what they see.
  const ip = InterruptionDetector.prototype;
  const level0 = Object.getOwnPropertyDescriptor(ip, 'level')!.value as InterruptionDetector['level'];
  ip.level = function (this: InterruptionDetector, endMs, db) {
    cur.push([0, endMs, db]);
    level0.call(this, endMs, db);
  };
  const all = process.env['RECORD_ALL'] === '1';
  if (all) ip.maySpeak = () => true;
  const chunk0 = Object.getOwnPropertyDescriptor(ip, 'chunk')!.value as InterruptionDetector['chunk'];
  ip.chunk = function (this: InterruptionDetector, endMs, chunkMs, p0, threshold, audible, deferred = false) {
    echoes = [];
    // the probability the judge goes by (a deferred chunk's may be none), replayed as not deferred
    const p = this.heard(p0, deferred);
    chunk0.call(this, endMs, chunkMs, p, threshold, audible);
    const m = model[0];
    const qs = QS.map((q) => (m === undefined ? -100 : m.percentileDb(q)));
    cur.push([1, endMs, chunkMs, p, threshold, audible ? 1 : 0, echoes, qs, m?.pathMeasured === true ? 1 : 0]);
  };
  const bp = BargeInDetector.prototype;
  const pe0 = Object.getOwnPropertyDescriptor(bp, 'predictedEcho')!.value as BargeInDetector['predictedEcho'];
  bp.predictedEcho = function (this: BargeInDetector, slot) {
    model.splice(0, 1, this);
    const v = pe0.call(this, slot);
    echoes.push(v);
    return v;
  };
  const recs: Rec[] = [];
  for (const t of set.trials) {
    cur = [];
    model.length = 0;
    // (`--prior-turn`: the agent's turn before the trial's, from the call's start)
    const priorTurn = values['prior-turn'] ? set.priorOf(t) : undefined;
    const o = await runTrial(
      t,
      {
        pool: set.pool,
        speex: set.speex,
        metrics: set.metrics,
        rng: set.drawsOf(t),
        vad: set.vad,
        codec: set.codec,
        agentAfterMs,
        priorTurn,
        dtx: values.dtx,
      },
      { ...set.bargeIn, autoClear: false },
    );
    recs.push({
      kind: t.kind,
      path: t.path.kind,
      label: t.label,
      onsetMs: t.onset * 1000 + turnStartMs(agentAfterMs, priorTurn),
      minutes: o.agentSpeechMs / 60000,
      ev: cur,
      ...(all ? { all } : {}),
    });
  }
  writeFileSync(file, JSON.stringify(recs));
  console.log(`${recs.length} trials recorded to ${file}`);
  await set.pool.close();
  process.exit(0);
}

function replay(file: string, opts: BargeInOptions): void {
  const recs = JSON.parse(readFileSync(file, 'utf8')) as Rec[];
  const byPath = new Map<
    string,
    {
      tp: number;
      n: number;
      early: number;
      bcKept: number;
      bcs: number;
      other: number;
      echoFalse: number;
      echoMin: number;
      noiseFalse: number;
      noiseMin: number;
      clear: number[];
      duck: number[];
      /** ducks in the echo-only and noise-only trials */
      falseDucks: number;
    }
  >();
  for (const r of recs) {
    const s = byPath.get(r.path) ?? {
      tp: 0,
      n: 0,
      early: 0,
      bcKept: 0,
      bcs: 0,
      other: 0,
      echoFalse: 0,
      echoMin: 0,
      noiseFalse: 0,
      noiseMin: 0,
      clear: [],
      duck: [],
      falseDucks: 0,
    };
    byPath.set(r.path, s);
    let evIdx = 0;
    const echo: EchoModel = {
      predictedEcho: (slot) => {
        const e = r.ev[evIdx] as Extract<Ev, [1, ...unknown[]]>;
        const first = Math.round((e[1] - e[2]) / 10);
        return e[6][slot - first] ?? -100;
      },
      percentileDb: (q) => {
        const e = r.ev[evIdx] as Extract<Ev, [1, ...unknown[]]>;
        return e[7][Math.max(0, Math.min(QS.length - 1, Math.round(q * 10) - 1))]!;
      },
      get pathMeasured() {
        const e = r.ev[evIdx] as Extract<Ev, [1, ...unknown[]]>;
        return e[8] !== 0;
      },
    };
    let confirmAt = NaN;
    let duckAt = NaN;
    let endMs = 0;
    const d = new InterruptionDetector(opts, echo, {
      duck: () => {
        if (r.kind === 'echo-only' || r.kind === 'noise-only') s.falseDucks++;
        if (Number.isNaN(duckAt) && endMs >= r.onsetMs) duckAt = endMs;
      },
      confirm: () => {
        if (Number.isNaN(confirmAt)) confirmAt = endMs;
      },
      resume: () => {},
      release: () => {},
    });
    const traced = trace !== undefined && `${r.path} ${r.kind} ${r.label}`.startsWith(trace);
    if (traced) console.log(`${r.path} ${r.kind} ${r.label}: onset ${r.onsetMs.toFixed(0)}`);
    for (evIdx = 0; evIdx < r.ev.length && Number.isNaN(confirmAt); evIdx++) {
      const e = r.ev[evIdx]!;
      if (e[0] === 0) d.level(e[1], e[2]);
      else {
        endMs = e[1];
        // a 10 ms chunk is RNNoise's (its recorded threshold); a longer one is Silero's (the threshold asked for)
        const turnedDown = r.all === true && e[2] > 10 && !d.maySpeak(e[1], e[2]);
        d.chunk(e[1], e[2], turnedDown ? 0 : e[3], e[2] === 10 ? e[4] : opts.sileroThreshold, e[5] === 1);
        if (traced && e[1] >= r.onsetMs - traceBeforeMs && e[1] <= r.onsetMs + traceAfterMs)
          traceChunk(e[1] - r.onsetMs, e[3], turnedDown, d.lastJudged, echo.pathMeasured);
      }
    }
    const cleared = !Number.isNaN(confirmAt);
    const hit = cleared && confirmAt >= r.onsetMs && confirmAt <= r.onsetMs + RECALL_WINDOW_MS;
    if (process.env['VERBOSE'] && (r.kind === 'interruption' ? !hit : cleared))
      console.log(
        `  ${r.path} ${r.kind} ${r.label}: onset ${r.onsetMs.toFixed(0)} clear ${confirmAt.toFixed(0)} duck ${duckAt.toFixed(0)}`,
      );
    if (r.kind === 'interruption') {
      s.n++;
      if (cleared && confirmAt < r.onsetMs) s.early++;
      else if (cleared && confirmAt <= r.onsetMs + RECALL_WINDOW_MS) {
        s.tp++;
        s.clear.push(confirmAt - r.onsetMs);
      }
      if (!Number.isNaN(duckAt)) s.duck.push(duckAt - r.onsetMs);
    } else if (r.kind === 'backchannel') {
      s.bcs++;
      if (!cleared) s.bcKept++;
    } else if (r.kind === 'echo-only') {
      s.echoMin += r.minutes;
      if (cleared) s.echoFalse++;
    } else if (r.kind === 'noise-only') {
      s.noiseMin += r.minutes;
      if (cleared) s.noiseFalse++;
    } else if (cleared) s.other++;
  }
  const all = { tp: 0, n: 0, fp: 0, bcKept: 0, bcs: 0, fEcho: 0, fNoise: 0, clear: [] as number[] };
  for (const [k, s] of byPath) {
    const fp = s.early + (s.bcs - s.bcKept) + s.other;
    all.tp += s.tp;
    all.n += s.n;
    all.fp += fp;
    all.bcKept += s.bcKept;
    all.bcs += s.bcs;
    all.fEcho += s.echoFalse;
    all.fNoise += s.noiseFalse;
    all.clear.push(...s.clear);
    console.log(
      `${k.padEnd(8)} recall ${s.tp}/${s.n}  precision ${((100 * s.tp) / Math.max(1, s.tp + fp)).toFixed(0)}% (early ${s.early} bc ${s.bcs - s.bcKept} other ${s.other})  bc kept ${s.bcKept}/${s.bcs}  false echo ${s.echoFalse} in ${s.echoMin.toFixed(1)} min, noise ${s.noiseFalse} in ${s.noiseMin.toFixed(1)} min  clear p50 ${pct(s.clear, 50).toFixed(0)} p95 ${pct(s.clear, 95).toFixed(0)}  duck p50 ${pct(s.duck, 50).toFixed(0)}, ${s.falseDucks} with no caller`,
    );
  }
  console.log(
    `ALL      recall ${all.tp}/${all.n}  precision ${((100 * all.tp) / Math.max(1, all.tp + all.fp)).toFixed(0)}%  bc kept ${all.bcKept}/${all.bcs}  false echo ${all.fEcho} noise ${all.fNoise}  clear p50 ${pct(all.clear, 50).toFixed(0)}`,
  );
}

const trace = process.env['TRACE'];
/** how far before the onset the trace starts, ms */
const traceBeforeMs = Number(process.env['TRACE_BEFORE'] ?? 200);
/** how far after the onset it ends (at the first clear if sooner), ms: a noise-only trial's onset is its turn's start */
const traceAfterMs = Number(process.env['TRACE_AFTER'] ?? 1200);

/**
 * One chunk as TRACE prints it (see the top): `t` from the onset (ms), probability `p` as the model
 * gave it (`turnedDown`: judged as 0, marked `*`).
 */
function traceChunk(t: number, p: number, turnedDown: boolean, j: Readonly<JudgedChunk>, measured: boolean): void {
  const db = (v: number) => v.toFixed(1).padStart(6);
  console.log(
    `  ${t.toFixed(0).padStart(5)} ms  p ${p.toFixed(2)}${turnedDown ? '*' : ' '} level ${db(j.levelDb)}  echo ${db(j.echoDb)}  background ${db(j.backgroundDb)}  headroom ${db(j.headroomDb)}  measured ${measured ? 1 : 0}`,
  );
}

const args = process.argv.slice(2);
const at = (flag: string): string | undefined => {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  process.argv.splice(process.argv.indexOf(flag), 2);
  return v;
};
const rec = at('--record');
const rep = at('--replay');
if (rec !== undefined) void record(rec);
else if (rep !== undefined) {
  const o: Record<string, unknown> = { ...DEFAULT_BARGE_IN };
  for (const kv of parseOptions().set) {
    const [k, v] = kv.split('=');
    o[k!] = v === 'true' ? true : v === 'false' ? false : Number(v);
  }
  replay(rep, o as unknown as BargeInOptions);
}
