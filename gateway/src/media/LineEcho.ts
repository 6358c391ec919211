import { EchoCanceller, floatToInt16, int16ToFloat, Resampler, tsDiff } from '../../../codecs/src/index.js';
import type { SpeexModule } from './InboundDsp.js';

/** Edges up to this rate have their audio echo-cancelled in place for the agent too, Hz. */
const IN_PLACE_MAX_RATE = 16000;
/**
 * speex quality of the resampler that brings the judge's echo estimate back to an Opus edge's
 * 48 kHz: 1 puts its images above 8 kHz 37 dB under the estimate, as quality 3 does (white noise
 * in the band; 28 dB at quality 0), in 0.5 ms rather than 1.5 ms. What it images is the echo
 * estimate, itself 10–30 dB under the agent.
 */
const ESTIMATE_UP_QUALITY = 1;

/**
 * The rate barge-in judges at on an edge of `edgeRate`, Hz: the telephone band (0–4 kHz, where a
 * phone caller and the line's echo are) up to 16 kHz PCM, the 0–8 kHz band on Opus. On 16 kHz PCM
 * the 16 kHz judge cleared more backchannels and noise than G.711's (held out: 34 of 240
 * backchannels, 11 noise clears; at 8 kHz 23 and 3); on Opus the 8 kHz judge caught fewer
 * interruptions (held out 170 of 192, 179 at 16 kHz). bench/README.md, fifteenth pass.
 */
export function judgeRate(edgeRate: number): 8000 | 16000 {
  return edgeRate > IN_PLACE_MAX_RATE ? 16000 : 8000;
}

/**
 * An echo loss the canceller measured (dB, NaN until measured) as barge-in is told it: until
 * measured, the worst line's (6 dB); capped at 40 dB, as a path that moves (a handset picked up)
 * echoes before it is re-learned.
 */
function reportedLoss(db: number): number {
  return Number.isFinite(db) ? Math.min(40, db) : 6;
}

/** Where the echo path goes (InboundEvents, the barge-in monitor). */
export interface EchoPathSink {
  /**
   * The echo canceller's measure of the echo path: loss to the cancelled audio (what the agent gets)
   * and to the echo left in the judge's (`cancelled`: residual echo suppressed, the line's noise
   * taken out), dB, delay to the agent frames (ms; NaN: none found yet, the losses then mean
   * nothing), the agent speech those were measured over (ms), the best correlation the delay
   * search has found (0..1; NaN before its second search: EchoCanceller `searchPeak`), and the echo
   * return loss its correlation reads where the path is (dB; NaN while none found, and after a move
   * until a search peaks there: EchoCanceller `correlatedErlDb`).
   */
  echoPath(lossDb: number, judgedLossDb: number, delayMs: number, measuredMs: number, searchPeak: number, correlatedErlDb: number): void;
}

/**
 * The line echo cancellers of one call, on one sample clock from RTP timestamps (jitter-free),
 * anchored at the first packet's arrival.
 *
 * The barge-in judge's canceller (`aec`, with a residual echo suppressor) runs at `judgeRate`. On
 * G.711 and 8 kHz PCM edges it cancels in place, so the agent gets the cancelled audio too. On
 * wider edges near end and reference go through the same resampler to that rate (their delays
 * cancel). On 16 kHz PCM edges a second canceller at the edge's rate, without the suppressor,
 * cancels in place for the agent. On Opus edges (48 kHz) the agent's audio is cancelled by band
 * splitting (WebRTC's AEC3 likewise adapts its filter on the 0–8 kHz band alone): the judge's
 * canceller's echo estimate (what it took out of the 0–8 kHz band) is brought back to 48 kHz and
 * subtracted from the packet, delayed by the two resamplers' delay (`delayMs`: 2 ms, 1.5 down at
 * speex quality 3 and 0.5 up), so the band above 8 kHz, where a telephone line's echo has no
 * energy, passes as it came.
 * The judge's residual comes with the residual echo suppressed too (one 4 ms block later): what
 * the filter leaves of the agent's voice must not look like the caller's.
 */
export class LineEcho {
  /** the judge's canceller: its measures are the call's echo path */
  readonly aec: EchoCanceller;
  /** the agent's canceller on 16 kHz edges, in place at the edge's rate (null elsewhere) */
  readonly #agentAec: EchoCanceller | null;
  readonly #edgeRate: number;
  readonly #clockRate: number;
  readonly #near: Resampler | null;
  readonly #ref: Resampler | null;
  /** Opus: the judge's echo estimate back to the edge's rate, and the packet's delay line (edge samples) */
  readonly #up: Resampler | null;
  readonly #held: Int16Array;
  #heldAt = 0;
  readonly #bandIn: Int16Array;
  readonly #estimate: Float32Array;
  readonly #estimateUp: Float32Array;
  /** what the agent's audio is delayed by here, ms (Opus: the band split's; 0 elsewhere) */
  readonly delayMs: number;
  readonly #f32: Float32Array;
  readonly #f32Out: Float32Array;
  readonly #band: Int16Array;
  readonly #refBand: Int16Array;
  readonly #judged: Int16Array;
  /** the first packet's start, ms on the reference's clock (NaN: none yet), and its RTP timestamp */
  #startMs = NaN;
  #ts0 = 0;
  /**
   * what the detector judges of the last packet (the residual at the judge's rate, echo
   * suppressed: a view of as many samples, one block earlier) and the reference-clock time of its
   * first sample, ms
   */
  residual: Int16Array = new Int16Array(0);
  atMs = 0;
  /**
   * The judge's echo-cancelled audio of the last packet at its rate (before the residual echo
   * suppressor; a view): the caller's line as barge-in measures its background. On a wider edge
   * that is the band the judge's canceller ran on, not the decoded packet. `lineAtMs`: the
   * reference-clock time of its first sample, ms (4–8 ms after `atMs`: the suppressor's block).
   */
  line: Int16Array = new Int16Array(0);
  lineAtMs = 0;

  constructor(speex: SpeexModule, edgeRate: number, clockRate: number, quality: number) {
    this.#edgeRate = edgeRate;
    this.#clockRate = clockRate;
    const rate = judgeRate(edgeRate);
    const wide = edgeRate > rate;
    this.aec = new EchoCanceller({ rate, suppress: true });
    this.#agentAec = wide && edgeRate <= IN_PLACE_MAX_RATE ? new EchoCanceller({ rate: edgeRate }) : null;
    this.#near = wide ? new Resampler(speex, { inRate: edgeRate, outRate: rate, quality }) : null;
    this.#ref = wide ? new Resampler(speex, { inRate: edgeRate, outRate: rate, quality }) : null;
    const max = (edgeRate * 120) / 1000; // Opus' longest packet
    this.#f32 = new Float32Array(wide ? max : 0);
    this.#f32Out = new Float32Array(wide ? this.#near!.maxOutput(max) + 8 : 0);
    this.#band = new Int16Array(this.#f32Out.length);
    this.#refBand = new Int16Array(this.#f32Out.length);
    this.#judged = new Int16Array(wide ? this.#band.length : max);
    const split = wide && this.#agentAec === null;
    this.#up = split ? new Resampler(speex, { inRate: rate, outRate: edgeRate, quality: ESTIMATE_UP_QUALITY }) : null;
    // the echo estimate reaches the edge's rate this many samples after the packet it came from:
    // the down resampler's delay (its output samples, at the edge's rate) and the up resampler's
    // (never 0: every speex filter has a delay)
    const held = split ? (this.#near!.delaySamples * edgeRate) / rate + this.#up!.delaySamples : 0;
    this.#held = new Int16Array(held);
    this.delayMs = (1000 * held) / edgeRate;
    this.#bandIn = new Int16Array(split ? this.#band.length : 0);
    this.#estimate = new Float32Array(split ? this.#band.length : 0);
    this.#estimateUp = new Float32Array(split ? this.#up!.maxOutput(this.#band.length) + 8 : 0);
  }

  /** The judge's rate (`residual`, `line`), Hz. */
  get rate(): number {
    return this.aec.rate;
  }

  /**
   * The edge-rate audio the far end plays at `playsAtMs` (the reference: on Opus the packet
   * decoded). Returns what the judge's canceller was given: on a wider edge the band at its rate,
   * the band the line is heard in (`line`; a view, valid until the next frame), else the frame.
   */
  reference(playsAtMs: number, frame: Int16Array): Int16Array {
    this.#agentAec?.playRef(frame, Math.round((playsAtMs * this.#edgeRate) / 1000));
    const at = Math.round((playsAtMs * this.rate) / 1000);
    const band = this.#ref === null ? frame : this.#toBand(this.#ref, frame, this.#refBand);
    this.aec.playRef(band, at);
    return band;
  }

  /**
   * Tells `to` the echo path after a packet, with the agent frames `laterMs` behind this clock:
   * once the canceller has found the echo, or has searched enough to say it has not found one yet.
   */
  reportPath(laterMs: number, to: EchoPathSink): void {
    const aec = this.aec;
    const peak = aec.searchPeak;
    if (!aec.locked && Number.isNaN(peak)) return;
    const delayMs = aec.locked ? (1000 * aec.delay) / aec.rate + laterMs : NaN;
    to.echoPath(reportedLoss(aec.lossDb), reportedLoss(aec.suppressedEchoLossDb), delayMs, aec.measuredMs, peak, aec.correlatedErlDb);
  }

  /**
   * Cancels one decoded packet (RTP timestamp `ts`, arrived at `arrivalMs`) in place for the agent
   * (on Opus, delayed by `delayMs`). The residual the detector judges is left in `residual` / `atMs`.
   */
  process(pcm: Int16Array, ts: number, arrivalMs: number): void {
    if (Number.isNaN(this.#startMs)) {
      this.#startMs = arrivalMs - (1000 * pcm.length) / this.#edgeRate;
      this.#ts0 = ts;
    }
    const ticks = tsDiff(this.#ts0, ts);
    const at = this.#sample(this.rate, ticks);
    let band = pcm;
    if (this.#near === null) {
      this.aec.process(pcm, at, pcm);
    } else {
      // the band first: the judge's canceller gets the line as it came, echo and all
      band = this.#toBand(this.#near, pcm, this.#band);
      if (this.#up === null) {
        this.aec.process(band, at, band);
        this.#agentAec?.process(pcm, this.#sample(this.#edgeRate, ticks), pcm);
      } else {
        const bandIn = this.#bandIn.subarray(0, band.length);
        bandIn.set(band);
        this.aec.process(band, at, band);
        const est = this.#estimate.subarray(0, band.length);
        for (let i = 0; i < band.length; i++) est[i] = bandIn[i]! - band[i]!;
        this.#subtract(pcm, est);
      }
    }
    this.line = band;
    this.lineAtMs = (1000 * at) / this.rate;
    const n = band.length;
    const from = this.aec.suppressedEnd(at + n) - n;
    this.residual = this.#judged.subarray(0, n);
    this.aec.suppressed(from, this.residual);
    this.atMs = (1000 * from) / this.rate;
  }

  /**
   * A packet the decoder concealed (a loss), on its way to the agent: the cancellers' delay search
   * does not take it for silence, and on Opus it takes its place in the delay line (nothing is
   * cancelled in it), so the agent's audio stays one stream.
   */
  conceal(pcm: Int16Array): void {
    const band = Math.round((pcm.length * this.rate) / this.#edgeRate);
    this.aec.lost(band);
    this.#agentAec?.lost(pcm.length);
    if (this.#up === null) return;
    const est = this.#estimate.subarray(0, band);
    est.fill(0);
    this.#subtract(pcm, est);
  }

  /** A new source: the clock starts afresh at its first packet. */
  restart(): void {
    this.#startMs = NaN;
  }

  close(): void {
    this.#near?.close();
    this.#ref?.close();
    this.#up?.close();
  }

  /** The sample, on a canceller's clock at `rate`, of the packet `ticks` RTP ticks after the first. */
  #sample(rate: number, ticks: number): number {
    return Math.round((this.#startMs * rate) / 1000 + (ticks * rate) / this.#clockRate);
  }

  /**
   * Opus: `pcm` ← `pcm` delayed by `delayMs`, less the band's echo estimate `est` brought to the
   * edge's rate (ratio 3: as many samples as `pcm` has).
   */
  #subtract(pcm: Int16Array, est: Float32Array): void {
    const up = this.#estimateUp;
    const n = this.#up!.process(est, up);
    const held = this.#held;
    let at = this.#heldAt;
    for (let i = 0; i < pcm.length; i++) {
      const x = pcm[i]!;
      const e = held[at]! - (i < n ? up[i]! : 0);
      held[at] = x;
      at = at + 1 === held.length ? 0 : at + 1;
      pcm[i] = e > 32767 ? 32767 : e < -32768 ? -32768 : Math.round(e);
    }
    this.#heldAt = at;
  }

  /** `x` resampled to the judge's band by `r` into `out` (a view of it). */
  #toBand(r: Resampler, x: Int16Array, out: Int16Array): Int16Array {
    int16ToFloat(x, this.#f32);
    const n = r.process(this.#f32.subarray(0, x.length), this.#f32Out);
    const band = out.subarray(0, n);
    floatToInt16(this.#f32Out.subarray(0, n), band);
    return band;
  }
}
