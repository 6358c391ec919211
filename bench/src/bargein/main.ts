import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadDenoiserModule, loadResamplerModule } from '../../../codecs/src/index.js';
import { setLogLevel } from '../../../gateway/src/log.js';
import { DspPool } from '../../../gateway/src/media/DspPool.js';
import { EDGE_CODECS } from '../../../gateway/src/media/edgeCodecs.js';
import { Metrics } from '../../../gateway/src/metrics.js';
import { G168_HELDOUT, G168_TUNE, g168Path, handsetPath, noEchoPath, scaledResponse, type EchoKind, type EchoPath } from './echoPaths.js';
import { PacketLoss } from './packetLoss.js';
import { duckedInTurn, recallHit, resumedWhole, score, table } from './score.js';
import { realSplit, SOUNDS } from './realSplit.js';
import {
  activeRms,
  click,
  cough,
  dbToGain,
  firstWords,
  fixtureBeds,
  list,
  load,
  onsetIndex,
  rng,
  sound,
  type NoiseKind,
} from './signals.js';
import { runTrial, type Kind, type Outcome, type Trial } from './trial.js';

/**
 * Barge-in evaluation with ground truth by construction: each trial runs a real Call (inline DSP,
 * RNNoise, echo canceller, detector, playout) in simulated time. The caller's microphone carries
 * the echo of what the phone played through a line echo path (flat, ITU-T G.168 Annex D hybrid,
 * or band-limited handset), the caller's background, the phone's noise floor, and possibly an
 * event at a known time. `npm run bench:bargein -- --split heldout --seed 2` gives the figures
 * reported; tuning uses `--split tune --seed 1` (other voices, other G.168 models, other noise);
 * `--split real` runs the held-out agents and paths with human callers and recorded music.
 */
setLogLevel('silent');
const NOISES: (NoiseKind | 'none')[] = ['none', 'pink', 'brown', 'car', 'babble', 'music'];
const KINDS: EchoKind[] = ['flat', 'g168', 'handset', 'none'];
/**
 * The agent's turn before the trial's (`--prior-turn`), s: a greeting's length. The call's
 * canceller, delay search and judge have heard the line by the turn the caller interrupts.
 */
const PRIOR_TURN_S = 4;

export interface SetOptions {
  trials: string;
  seed: string;
  split: string;
  kinds: string;
  out: string;
  set: string[];
  codec: string;
  'agent-after': string;
  'prior-turn': boolean;
  dtx: boolean;
  loss: string;
  'loss-burst': string;
  phase: string;
  'event-at': string;
}

export function parseOptions(): SetOptions {
  const { values } = parseArgs({
    options: {
      trials: { type: 'string', default: '32' },
      seed: { type: 'string', default: '2' },
      split: { type: 'string', default: 'heldout' },
      kinds: { type: 'string', default: KINDS.join(',') },
      out: { type: 'string', default: 'bench/results' },
      // detector options to try, e.g. --set minSpeechMs=150
      set: { type: 'string', multiple: true, default: [] },
      // the edge's codec: PCMU, or a wideband one (slin16, opus; phoneLine.ts)
      codec: { type: 'string', default: 'PCMU' },
      // ms of the caller's line alone before the agent starts (the caller had the turn)
      'agent-after': { type: 'string', default: '0' },
      // the agent spoke once before (PRIOR_TURN_S of another of its utterances, from the call's
      // start), then the line ran alone for `agent-after`: the turn a caller most often interrupts
      'prior-turn': { type: 'boolean', default: false },
      // the caller's phone suppresses silence (RFC 3551 §4.1 talkspurts, RFC 3389 comfort noise)
      dtx: { type: 'boolean', default: false },
      // % of the phone's packets lost on the way to the gateway, in runs of `loss-burst` packets on average
      loss: { type: 'string', default: '0' },
      'loss-burst': { type: 'string', default: '2' },
      // ms before the gateway's 20 ms tick the phone's packets arrive (a call's own phase)
      phase: { type: 'string', default: '0' },
      // s after the agent starts over which the caller's sound begins (its clip's leading silence
      // added): 0-1 puts it where the canceller has not yet measured the line
      'event-at': { type: 'string', default: '1-4' },
    },
  });
  return values;
}

/** The labelled set of `values` (split, seed, trials per kind), and what running it needs. */
export async function buildSet(values: SetOptions) {
  const bargeIn: Record<string, unknown> = {};
  for (const kv of values.set) {
    const [k, v] = kv.split('=');
    bargeIn[k!] = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v : Number(v);
  }
  // `real` (realSplit.ts): human voices and recorded music, over the held-out agents and paths
  const real = values.split === 'real' ? realSplit() : null;
  const heldout = values.split === 'heldout' || real !== null;
  if (!heldout && values.split !== 'tune') throw new Error('--split is tune, heldout or real');
  const codec = EDGE_CODECS.find((c) => c === values.codec);
  if (codec === undefined) throw new Error(`--codec is one of ${EDGE_CODECS.join(', ')}`);
  const px = heldout ? 'x-' : '';
  const models = heldout ? G168_HELDOUT : G168_TUNE;
  const [eventFrom, eventTo] = values['event-at'].split('-').map(Number) as [number, number];
  if (!(eventFrom >= 0 && eventTo > eventFrom)) throw new Error('--event-at is FROM-TO in s, 0 ≤ FROM < TO (default 1-4)');
  const n = Number(values.trials);
  const seed = Number(values.seed);
  // The set's draws, then the trials' own (noise): one stream. The two-backchannel trials are drawn
  // from a second stream, so that every other trial stays as it was before they came.
  const setDraws = rng(seed);
  let draws = setDraws;
  const r = () => draws();
  const [speex, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
  const pool = await DspPool.create({ speex, rnnoise }, 0);
  // Silero VAD when this tree has it (the same command measures the detector before it came)
  const vad: unknown = await import('../../../gateway/src/media/SileroModel.js').then(
    (m: { SileroModel: { load(): Promise<unknown> } }) => m.SileroModel.load(),
    () => null,
  );
  const metrics = new Metrics();
  const agents = list(`${px}agent-`).map((f) => ({ name: f, pcm: load(f) }));
  const interrupts = real?.interruptions ?? list(`${px}interrupt-`);
  const backchannels = real?.backchannels ?? list(`${px}backchannel-`);
  const beds = real?.beds ?? fixtureBeds(`${px}interrupt-`);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const kinds = values.kinds.split(',') as EchoKind[];

  const pathOf = (kind: EchoKind): EchoPath => {
    const delayMs = 20 + 230 * r();
    const erlDb = 6 + 24 * r();
    if (kind === 'none') return noEchoPath(delayMs);
    if (kind === 'flat') return { kind, name: 'flat', h: Float32Array.of(1), delayMs, erlDb };
    if (kind === 'g168') {
      const m = pick(models);
      return { kind, name: m, h: g168Path(m), delayMs, erlDb };
    }
    const p = handsetPath(r);
    return { kind, name: p.name, h: p.h, delayMs, erlDb };
  };
  const trials: Trial[] = [];
  const make = (echo: EchoKind, kind: Kind, clip: Float32Array | null, callerDb: number, snrDb: number, caller?: string): Trial => {
    const a = pick(agents);
    const agentRms = activeRms(a.pcm);
    const path = pathOf(echo);
    const nk = kind === 'echo-only' ? 'none' : kind === 'noise-only' ? pick(NOISES.slice(1)) : pick(NOISES);
    const callerRms = agentRms * dbToGain(callerDb);
    // the clip's level once, not once per sample (that made building the set take 8 minutes)
    const clipRms = clip === null ? 1 : activeRms(clip);
    const event = clip === null ? null : clip.map((v) => (v * callerRms) / clipRms);
    const eventAt = eventFrom + (eventTo - eventFrom) * r();
    return {
      kind,
      agentPcm: a.pcm,
      agent: a.name,
      event,
      eventAt,
      onset: event === null ? 0 : eventAt + onsetIndex(event) / 8000,
      path,
      h: scaledResponse(a.pcm, path),
      noise: nk,
      noiseRms: nk === 'none' ? 0 : callerRms * dbToGain(-snrDb),
      // the phone's own floor: −66 … −54 dBFS
      floorRms: 32768 * dbToGain(-66 + 12 * r()),
      label: `${nk}${nk === 'none' ? '' : `@${snrDb.toFixed(0)}dB`}`,
      seed,
      beds,
      ...(caller === undefined ? {} : { caller }),
    };
  };
  // Caller speech 4–20 dB below the agent's level at the gateway; background 5–25 dB below the
  // caller (noise-only trials: the same range below a typical caller).
  const callerDb = () => -4 - 16 * r();
  const snr = () => 5 + 20 * r();
  const addTrials = (echo: EchoKind) => {
    // (the clip is drawn before the levels, as it always was)
    const says = (kind: Kind, clips: readonly string[]) => {
      const f = pick(clips);
      return make(echo, kind, load(f), callerDb(), snr(), f);
    };
    for (let i = 0; i < n; i++) trials.push(says('interruption', interrupts));
    for (let i = 0; i < n; i++) trials.push(says('backchannel', backchannels));
    for (let i = 0; i < n / 4; i++) trials.push(make(echo, 'cough', cough(r), -10, snr()));
    for (let i = 0; i < n / 4; i++) trials.push(make(echo, 'click', click(r), -10, snr()));
    for (let i = 0; i < n; i++) trials.push(make(echo, 'echo-only', null, -10, 99));
    for (let i = 0; i < n; i++) trials.push(make(echo, 'noise-only', null, -10, snr()));
  };
  // Two backchannels 300–900 ms apart ("yeah … uh-huh"), each cut to its sound: a pause longer
  // than gapMs ends the first, and the second must not make an interruption of the two. n/4 per
  // kind, run after the single trials.
  const addDoubles = (echo: EchoKind) => {
    for (let i = 0; i < n / 4; i++) {
      const fa = pick(backchannels);
      const a = sound(load(fa));
      const fb = pick(backchannels);
      const b = sound(load(fb));
      const gap = Math.round(8 * (300 + 600 * r()));
      const clip = new Float32Array(a.length + gap + b.length);
      clip.set(a);
      clip.set(b, a.length + gap);
      const t = make(echo, 'backchannel', clip, callerDb(), snr(), `${fa} + ${fb}`);
      trials.push({ ...t, label: `two ${(gap / 8).toFixed(0)} ms apart, ${t.label}` });
    }
  };
  const lined = kinds.filter((k) => k !== 'none');
  for (const echo of lined) addTrials(echo);
  draws = rng(seed + 1_000_003);
  for (const echo of lined) addDoubles(echo);
  // Lines with no echo at all (since the thirteenth pass): drawn from a stream of their own and run
  // last, so that every other trial is as it was.
  if (kinds.includes('none')) {
    draws = rng(seed + 2_000_003);
    addTrials('none');
    addDoubles('none');
  }
  draws = setDraws;
  // The trials' own draws (noise) on a no-echo line come from a stream of their own too, so that
  // `--kinds none` alone runs the very trials the whole set does.
  const noEchoDraws = rng(seed + 3_000_003);
  /** the stream a trial's own draws come from */
  const drawsOf = (t: Trial) => (t.path.kind === 'none' ? noEchoDraws : r);

  /** the agent's turn before a trial's (`--prior-turn`): the next of the split's utterances, cut short (no draw) */
  const priors = agents.map((_, i) => firstWords(agents[(i + 1) % agents.length]!.pcm, PRIOR_TURN_S));
  const priorOf = (t: Trial) => priors[agents.findIndex((a) => a.name === t.agent)]!;

  return { bargeIn, trials, kinds, pool, speex, metrics, drawsOf, priorOf, vad, n, seed, codec };
}

async function main(): Promise<void> {
  const values = parseOptions();
  const { bargeIn, trials, kinds, pool, speex, metrics, drawsOf, priorOf, vad, n, seed, codec } = await buildSet(values);
  const outcomes: Outcome[] = [];
  const t0 = Date.now();
  const agentAfterMs = Number(values['agent-after']);
  const dtx = values.dtx;
  const lossPct = Number(values.loss);
  const burst = Number(values['loss-burst']);
  const phaseMs = Number(values.phase);
  if (!(phaseMs >= 0 && phaseMs < 20)) throw new Error('--phase is 0–19 ms');
  // the losses' own stream, so that every trial is the one a run without them has (any --loss but 0
  // goes to PacketLoss, which refuses one that is no rate)
  const loss = lossPct !== 0 ? new PacketLoss(lossPct / 100, burst, rng(seed + 4_000_003)) : undefined;
  for (const t of trials)
    outcomes.push(
      await runTrial(
        t,
        {
          pool,
          speex,
          metrics,
          rng: drawsOf(t),
          vad,
          codec,
          agentAfterMs,
          priorTurn: values['prior-turn'] ? priorOf(t) : undefined,
          dtx,
          loss,
          phaseMs,
        },
        bargeIn,
      ),
    );
  const elapsed = (Date.now() - t0) / 1000;

  const machine = `${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`;
  const byKind = kinds.map((k) => [k, score(outcomes.filter((o) => o.trial.path.kind === k))] as [EchoKind, ReturnType<typeof score>]);
  console.log(
    `${trials.length} trials (${n} interruptions per echo-path kind), split ${values.split}, seed ${seed}, edge codec ${codec}${values['prior-turn'] ? `, the agent's turn (${PRIOR_TURN_S} s) before` : ''}${agentAfterMs > 0 ? `, the agent starting ${agentAfterMs} ms ${values['prior-turn'] ? 'after it' : 'in'}` : ''}${dtx ? ', the phone suppressing silence' : ''}${loss ? `, ${lossPct} % of its packets lost in runs of ${burst} on average (the gateway counted ${lostShare(outcomes)})` : ''}${phaseMs > 0 ? `, its packets arriving ${phaseMs} ms before the tick` : ''}${values['event-at'] === '1-4' ? '' : `, the caller's sound from ${values['event-at']} s after the agent starts`}, options ${JSON.stringify(bargeIn)}, ${elapsed.toFixed(0)} s on ${machine}\n`,
  );
  console.log(table(byKind));
  console.log('\n(shares: the count, then its 95 % Wilson interval in %)');
  const byNoise = new Map<string, number>();
  for (const o of outcomes) {
    const early = o.trial.kind === 'interruption' ? o.clears.filter((c) => c.atMs < o.trial.onset * 1000).length : o.clears.length;
    byNoise.set(o.trial.noise, (byNoise.get(o.trial.noise) ?? 0) + early);
  }
  console.log(`\nfalse clears by background: ${[...byNoise].map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (process.env['VERBOSE']) {
    for (const o of outcomes) {
      const onset = o.trial.onset * 1000;
      // an interruption not cleared within the recall window (never, or late), or any other cleared
      const wrong = o.trial.kind === 'interruption' ? recallHit(o) === undefined : o.clears.length > 0;
      // a backchannel ducked and not cleared whose volume never came back, or whose audio did not all play
      const notWhole = o.trial.kind === 'backchannel' && duckedInTurn(o) && o.clears.length === 0 && !resumedWhole(o);
      // the agent's volume dipped on its own echo (false ducks, echo only)
      const dipped = o.trial.kind === 'echo-only' && o.ducks.length > 0;
      if (!wrong && !notWhole && !dipped) continue;
      console.log(
        `${notWhole ? `not whole (resumes ${o.resumes.join(',')}, played ${o.agentSamplesPlayed} of ${o.agentSamplesDue} samples) ` : ''}${o.trial.kind} ${o.trial.path.kind}:${o.trial.path.name} erl ${o.trial.path.erlDb.toFixed(0)} dB delay ${o.trial.path.delayMs.toFixed(0)} ms, ${o.trial.label}${o.trial.caller === undefined ? '' : ` (${o.trial.caller.replaceAll(SOUNDS, '')})`}, agent ${o.trial.agent}, onset ${onset.toFixed(0)} clears ${o.clears.map((c) => c.atMs).join(',')} ducks ${o.ducks.join(',')} (measured loss ${(o.erlDb + o.erleDb).toFixed(1)} dB, delay ${o.delayMs.toFixed(0)} ms)`,
      );
    }
  }
  mkdirSync(values.out, { recursive: true });
  writeFileSync(
    `${values.out}/bargein-${values.split}-${seed}${codec === 'PCMU' ? '' : `-${codec}`}${values['prior-turn'] ? '-prior-turn' : ''}.json`,
    JSON.stringify(
      {
        machine,
        date: new Date().toISOString(),
        seed,
        split: values.split,
        codec,
        lossPct,
        phaseMs,
        priorTurnS: values['prior-turn'] ? PRIOR_TURN_S : 0,
        options: bargeIn,
        byKind,
      },
      null,
      2,
    ),
  );
  await pool.close();
  process.exit(0); // metrics collectors would keep the process alive
}

/** The packets the gateway counted lost (RFC 3550 A.3), of those it received or counted lost. */
function lostShare(outcomes: readonly Outcome[]): string {
  let lost = 0;
  let sent = 0;
  for (const o of outcomes) {
    lost += o.packets.lost;
    sent += o.packets.in + o.packets.lost;
  }
  return `${lost} of ${sent}, ${((100 * lost) / sent).toFixed(1)} %`;
}

if (process.argv[1]?.endsWith('main.ts')) void main();
