import { BargeInDetector, levelDb, SILENT_DB, type BargeInOptions } from '../media/BargeIn.js';
import { CODEC_INFO, type EdgeCodecName } from '../media/edgeCodecs.js';
import { InterruptionDetector } from '../media/Interruption.js';
import { judgeRate } from '../media/LineEcho.js';
import type { SileroModel, SileroRate } from '../media/SileroModel.js';
import { SileroStream } from '../media/SileroVad.js';
import { VoiceActivity, type VadEvent } from '../media/VoiceActivity.js';
import type { Metrics } from '../metrics.js';

export interface BargeInEvents {
  /** The caller started or stopped talking (agent echo excluded). */
  speech(ev: NonNullable<VadEvent>): void;
  /** The caller talks over audible agent audio; `atMs` is the speech onset in caller media time. */
  bargeIn(atMs: number): void;
  /** Early evidence of an interruption: duck the agent (`on`), or restore it; `atMs` as above. */
  duck(on: boolean, atMs: number, resumed: boolean): void;
}

/**
 * What the speech model hears of the caller's turn before the agent speaks again, ms (20 of its
 * 32 ms chunks): chunks nobody judges are not inferred (`cancelled`), and its state, recurrent,
 * must not come to the agent's turn cold. On an interruption after 1.9 s the model had not heard,
 * these 20 chunks of warm-up gave every chunk it is sure of the side of 0.5 it gives hearing every
 * chunk (test/unit/sileroVad.test.ts).
 */
export const SILERO_WARM_MS = 640;
/** An edge quiet for this long (ms) is taken as silence by the voice-activity detector. */
const SILENT_EDGE_MS = 100;
/** What the speech model hears of a silence the phone did not send, at most: SILERO_WARM_MS at 16 kHz. Shared, never written. */
const UNSENT_SILENCE = new Int16Array(16 * SILERO_WARM_MS);

/**
 * Listens to the caller for one call: speech start and end (for the agent's turn-taking) and
 * barge-in (the caller talking over the agent).
 *
 * Barge-in is judged on the echo-cancelled audio as it leaves the echo canceller, its residual
 * echo suppressed (InterruptionDetector: duck, then decide), with Silero's probability chunk by
 * chunk as the model's results come back (the default, when the model loaded), else with
 * RNNoise's (or the level's) per 10 ms as the inbound chain's frames come. BargeInDetector keeps
 * the echo and background model the judge uses, and gates the speech events.
 */
export class BargeInMonitor {
  readonly #detector: BargeInDetector;
  readonly #vad: VoiceActivity;
  readonly #ev: BargeInEvents;
  readonly #o: Readonly<BargeInOptions>;
  readonly #silero: SileroStream | null;
  readonly #judge: InterruptionDetector;
  /** echo-canceller clock (ms) of the caller's first sample, and whether the agent is audible */
  #clock0 = NaN;
  #audible = false;
  /** since when (media time, ms, on that clock): chunks judged late that ended before were not over it */
  #audibleFromMs = 0;
  /** where the last judged caller audio ended, on that clock (ms): past it while the phone sends nothing (`tick`) */
  #lineEndMs = NaN;
  /** `#lineEndMs` is where `tick` took the caller's silence to, not where audio ended: audio that comes for before it is late */
  #filled = false;
  /** of the silence since her last audio, what the speech model has heard (ms: `cancelled` adds up to SILERO_WARM_MS) */
  #gapHeardMs = 0;
  /** the judge's rate (LineEcho), Hz */
  readonly #rate: number;
  /** the noise level the caller's phone last stated for its silences (RFC 3389), dBFS (−100: none stated) */
  #comfortDb = SILENT_DB;
  /** Opus DTX leaves unsent frames to the decoder's concealment, the last frames' noise carried on (RFC 7587 §3.1.3) */
  readonly #codecFillsUnsent: boolean;
  /** the playout is ducked and its outcome not yet counted */
  #ducked = false;
  /** ducks by outcome, for the call's stats (gateway_bargein_ducks_total counts all calls') */
  readonly ducks = { resumed: 0, bargeIn: 0 };

  /** `model`: this thread's Silero VAD (null: RNNoise's voice probability); `codec`: the edge's. */
  constructor(opts: Readonly<BargeInOptions>, model: SileroModel | null, codec: EdgeCodecName, metrics: Metrics, events: BargeInEvents) {
    // the rate barge-in judges at (LineEcho)
    const rate: SileroRate = judgeRate(CODEC_INFO[codec].pcmRate);
    this.#o = opts;
    this.#rate = rate;
    this.#codecFillsUnsent = codec === 'opus';
    this.#detector = new BargeInDetector(opts);
    this.#vad = new VoiceActivity({ startFrames: Math.max(1, Math.round(opts.onsetMs / 10)) });
    this.#ev = events;
    const media = (t: number) => Math.max(0, Math.round(t - this.#clock0));
    /** the duck under way (if any) ends as `outcome` */
    const outcome = (o: 'resumed' | 'barge_in') => {
      if (!this.#ducked) return;
      this.#ducked = false;
      metrics.bargeInDucks.inc({ outcome: o });
      if (o === 'resumed') this.ducks.resumed++;
      else this.ducks.bargeIn++;
    };
    this.#judge = new InterruptionDetector(opts, this.#detector, {
      duck: (t) => {
        this.#ducked = true;
        events.duck(true, media(t), false);
      },
      confirm: (t) => {
        outcome('barge_in');
        events.bargeIn(media(t));
      },
      resume: (t) => {
        outcome('resumed');
        events.duck(false, media(t), true);
      },
      release: () => {
        events.duck(false, 0, false);
      },
    });
    this.#silero =
      model !== null && opts.silero
        ? new SileroStream(
            model,
            rate,
            // A chunk `maySpeak` turned down is judged as one deferred (InterruptionDetector `chunk`).
            (endMs, p, chunkMs, wanted) => {
              this.#judge.chunk(endMs, chunkMs, p, opts.sileroThreshold, this.#audible && endMs > this.#audibleFromMs, !wanted);
            },
            {
              onSkipped: () => metrics.drops.inc({ reason: 'VAD_OVERLOAD' }),
              warmMs: SILERO_WARM_MS,
              wanted: (endMs, chunkMs) => this.#judge.maySpeak(endMs, chunkMs),
            },
          )
        : null;
  }

  /** Speech-model chunks skipped because inference fell behind (each a hole in the judged audio). */
  get vadChunksSkipped(): number {
    return this.#silero?.skipped ?? 0;
  }

  /** Speech-model chunks not run at once (late as a warm-up, or never): the caller cannot be speaking in them (`maySpeak`). */
  get vadChunksDeferred(): number {
    return this.#silero?.deferred ?? 0;
  }

  /** Whether the caller is talking now. */
  get speaking(): boolean {
    return this.#vad.speaking;
  }

  /** The agent's loudest audio over the `ms` before `nowMs` (as played, in the line's band: the echo reference), dBFS. */
  agentPeakDb(nowMs: number, ms: number): number {
    return this.#detector.referencePeakDb(nowMs - ms, nowMs);
  }

  /** What the far end plays (in the band the line is heard in: InboundLeg `reference`), and when the caller hears it. */
  reference(playsAtMs: number, frame: Int16Array): void {
    // A phone that suppresses silence sends nothing until the caller speaks: what the agent
    // played before her first packet, she heard in silence (`cancelled` counts it from here).
    if (Number.isNaN(this.#lineEndMs)) this.#lineEndMs = playsAtMs;
    this.#detector.reference(playsAtMs, frame);
  }

  /** The echo path the echo canceller measured (InboundEvents), its delay to this frame: NaN while none found. */
  echoPath(lossDb: number, judgedLossDb: number, delayMs: number, measuredMs: number, searchPeak: number, correlatedErlDb: number): void {
    const slots = Number.isNaN(delayMs) ? -1 : Math.round(delayMs / 10);
    this.#detector.setEchoPath(lossDb, judgedLossDb, slots, measuredMs, searchPeak, correlatedErlDb);
  }

  /**
   * Echo-cancelled caller audio at the canceller's rate, with the residual echo suppressed
   * (`judged`, its first sample at `atMs` on the reference's clock) and without (`line`, whose
   * levels are the caller's background, its first sample at `lineAtMs`: the suppressor's block
   * after the judged audio, LineEcho), whether agent audio may be audible, and how much of the gap
   * before it (ms, its last part) was packets lost, not a silence the phone did not send.
   */
  cancelled(judged: Int16Array, line: Int16Array, rate: number, atMs: number, agentAudible: boolean, lostMs = 0, lineAtMs = atMs): void {
    // the line's levels on its own clock: the loss it shows is the reference's then (ShownLoss)
    const lineLagMs = lineAtMs - atMs;
    if (Number.isNaN(this.#clock0)) this.#clock0 = atMs;
    this.#agentAudible(agentAudible, atMs);
    const ten = rate / 100;
    // Audio for a time `tick` already took as silence (it came later than the phone's jitter
    // ever had it): only what is past it is heard, so the judge's clock never runs back.
    if (this.#filled && atMs < this.#lineEndMs) {
      const late = Math.min(judged.length, Math.round(((this.#lineEndMs - atMs) * rate) / 1000));
      judged = judged.subarray(late);
      line = line.subarray(Math.min(line.length, late));
      atMs = this.#lineEndMs;
    }
    this.#filled = false;
    // A frame or more the phone did not send (a talkspurt's silence, RFC 3551 §4.1) is the caller's
    // background at the level her phone stated (`comfortNoise`), or on Opus its last frames': else
    // her own last words stood for it, and after her turn an interruption at her level had to clear
    // that level. A loss (the canceller hears no concealment) is no silence: `#silence`.
    this.#silence(atMs, agentAudible || this.#judge.inUtterance, SILERO_WARM_MS, lostMs);
    this.#gapHeardMs = 0;
    this.#lineEndMs = atMs + (1000 * line.length) / rate;
    for (let i = 0; i + ten <= line.length; i += ten)
      this.#detector.line(atMs + lineLagMs + ((i + ten) * 1000) / rate, levelDb(line, i, i + ten));
    for (let i = 0; i + ten <= judged.length; i += ten) this.#judge.level(atMs + ((i + ten) * 1000) / rate, levelDb(judged, i, i + ten));
    // The model's chunks matter to the judge alone, and the judge only while the agent is audible
    // or an utterance is open (it must end): else they are kept for a warm-up, not inferred. A
    // lone call whose agent talks half the time costs half as much (bench/README.md, twentieth pass).
    // Nor does a chunk that is no speech even at the model's surest (`maySpeak`): deferred, it is
    // kept as those are, and only the last 20 run, back to back, before the next chunk that may
    // be speech. A lone call whose caller is silent runs it only around the few chunks loud
    // enough to be speech (bench/README.md, twenty-first and twenty-second passes).
    this.#silero?.push(judged, atMs + ((judged.length - 1) * 1000) / rate, agentAudible || this.#judge.inUtterance);
  }

  /** Whether agent audio may be audible from media time `atMs` (ms) on. */
  #agentAudible(audible: boolean, atMs: number): void {
    if (audible && !this.#audible) this.#audibleFromMs = atMs;
    this.#audible = audible;
  }

  /**
   * The caller's silence from where her last audio ended to `toMs` (media time, ms), a frame or
   * more that her phone did not send: counted in her background, and heard by the speech model
   * (the last of it, up to `limitMs` of each silence in all). Spliced out, a model chunk
   * straddling it was timed by its later part, and an utterance open before it (an "uh-huh") was
   * carried over to the caller's next words as one, for no chunk came in between to end it.
   * Its last `lostMs` were lost packets (no level): out of her background, and of the chunks' levels.
   */
  #silence(toMs: number, wanted: boolean, limitMs: number, lostMs = 0): void {
    const slots = Math.floor((toMs - this.#lineEndMs) / 10);
    const lost = Math.min(Math.max(0, slots), Math.round(lostMs / 10));
    for (let s = lost - 1; s >= 0; s--) this.#judge.level(toMs - 10 * s, NaN);
    if (!(slots >= 2)) return;
    const unsentDb = this.#comfortDb === SILENT_DB && this.#codecFillsUnsent ? this.#detector.caller.sentNoiseDb : this.#comfortDb;
    this.#detector.caller.unsent(slots - lost, unsentDb);
    const ms = Math.min(10 * slots, limitMs - this.#gapHeardMs);
    if (ms <= 0 || this.#silero === null) return;
    this.#gapHeardMs += ms;
    this.#silero.push(UNSENT_SILENCE.subarray(0, (ms * this.#rate) / 1000), toMs - 1000 / this.#rate, wanted);
  }

  /**
   * The caller's phone stopped sending for a silence, and stated the noise it suppresses (RFC 3389
   * §3), dBov (taken as dBFS: the two differ by under 0.2 dB): the level of the frames it does not send.
   */
  comfortNoise(levelDb: number): void {
    this.#comfortDb = levelDb;
  }

  /** Resolves once every chunk given to the speech model has been judged (simulated time). */
  async settled(): Promise<void> {
    await this.#silero?.settled();
  }

  /**
   * One frame of (denoised) caller audio as the agent gets it, its voice probabilities per 10 ms,
   * the arrival time of the packet that completed it, and whether agent audio may be audible to
   * the caller.
   */
  frame(frame: Int16Array, vad: Float32Array, arrivalMs: number, agentAudible: boolean): void {
    const half = frame.length >> 1;
    for (let i = 0; i < 2; i++) {
      // The packet's audio spans the 20 ms before its arrival: halves at −10 ms and 0 ms.
      const t = arrivalMs - 10 + 10 * i;
      const level = levelDb(frame, i * half, (i + 1) * half);
      const caller = this.#detector.push(t, level, vad[i]!);
      // Echo of the agent is not the caller: the voice-activity events see only caller speech.
      const ev = this.#vad.push(caller ? vad[i]! : Math.min(vad[i]!, 0.1));
      if (ev !== null) this.#ev.speech(ev);
      // Without Silero, barge-in takes RNNoise's (or the level's) probability of this half, which
      // ends at `t` + 10 ms on the clock its levels came on (see `cancelled`).
      if (this.#silero === null) this.#judge.chunk(t + 10, 10, vad[i]!, this.#o.vadThreshold, agentAudible);
    }
  }

  /**
   * Clock tick at `nowMs` (the clock packets arrive on, which the canceller's media time starts
   * from), `idleMs` since the last packet with sound, and whether agent audio may be audible:
   * edges with silence suppression or DTX (RFC 3389, Opus DTX) stop sending while the caller is
   * quiet, and that silence must still end the caller's speech.
   */
  tick(nowMs: number, idleMs: number, agentAudible: boolean): void {
    if (idleMs <= SILENT_EDGE_MS) return;
    // An utterance open when the phone stopped sending must still end (or the agent ducked by an
    // "uh-huh" stayed down until the caller spoke again): her silence up to SILENT_EDGE_MS ago is
    // heard now. Audio of hers due before then would be that late, beyond any jitter (`cancelled`).
    // (On Opus the canceller's time runs its delay line later than arrivals: this is earlier still.)
    if (this.#judge.inUtterance) {
      this.#agentAudible(agentAudible, this.#lineEndMs);
      // whole 10 ms slots, as `unsent` counts them; heard all, for the open utterance bounds them
      const toMs = this.#lineEndMs + 10 * Math.floor((nowMs - SILENT_EDGE_MS - this.#lineEndMs) / 10);
      if (toMs - this.#lineEndMs >= 20) {
        // Without the model the judge hears it as no speech, 10 ms at a time as `frame` gives
        // RNNoise's. (Not a gap found when audio comes: a loss comes to `frame` concealed.)
        if (this.#silero === null)
          for (let t = this.#lineEndMs + 10; t <= toMs; t += 10) this.#judge.chunk(t, 10, 0, this.#o.vadThreshold, agentAudible);
        this.#silence(toMs, true, Infinity);
        this.#lineEndMs = toMs;
        this.#filled = true;
      }
    }
    if (!this.#vad.speaking) return;
    for (let i = 0; i < 2; i++) {
      const ev = this.#vad.push(0);
      if (ev !== null) this.#ev.speech(ev);
    }
  }

  close(): void {
    this.#silero?.close();
  }
}
