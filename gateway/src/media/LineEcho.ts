import { EchoCanceller, floatToInt16, int16ToFloat, Resampler, tsDiff } from '../../../codecs/src/index.js';
import type { SpeexModule } from './InboundDsp.js';

/** Edges up to this rate have their audio echo-cancelled in place for the agent too, Hz. */
const IN_PLACE_MAX_RATE = 16000;

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
 * The line echo cancellers of one call, on one sample clock from RTP timestamps (jitter-free),
 * anchored at the first packet's arrival.
 *
 * The barge-in judge's canceller (`aec`, with a residual echo suppressor) runs at `judgeRate`. On
 * G.711 and 8 kHz PCM edges it cancels in place, so the agent gets the cancelled audio too. On
 * wider edges near end and reference go through the same resampler to that rate (their delays
 * cancel), and on 16 kHz PCM edges a second canceller at the edge's rate, without the suppressor,
 * cancels in place for the agent; Opus edges (48 kHz) keep their full band, echo and all, for the
 * agent.
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
   * that is the band the judge's canceller ran on, not the decoded packet.
   */
  line: Int16Array = new Int16Array(0);

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
  }

  /** The judge's rate (`residual`, `line`), Hz. */
  get rate(): number {
    return this.aec.rate;
  }

  /** The edge-rate audio played at `playsAtMs` (the reference). */
  reference(playsAtMs: number, frame: Int16Array): void {
    this.#agentAec?.playRef(frame, Math.round((playsAtMs * this.#edgeRate) / 1000));
    const at = Math.round((playsAtMs * this.rate) / 1000);
    if (this.#ref === null) return this.aec.playRef(frame, at);
    this.aec.playRef(this.#toBand(this.#ref, frame, this.#refBand), at);
  }

  /**
   * Cancels one decoded packet (RTP timestamp `ts`, arrived at `arrivalMs`); `pcm` is cancelled in
   * place on edges up to 16 kHz. The residual the detector judges is left in `residual` / `atMs`.
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
      this.aec.process(band, at, band);
      this.#agentAec?.process(pcm, this.#sample(this.#edgeRate, ticks), pcm);
    }
    this.line = band;
    const n = band.length;
    const from = this.aec.suppressedEnd(at + n) - n;
    this.residual = this.#judged.subarray(0, n);
    this.aec.suppressed(from, this.residual);
    this.atMs = (1000 * from) / this.rate;
  }

  /** A new source: the clock starts afresh at its first packet. */
  restart(): void {
    this.#startMs = NaN;
  }

  close(): void {
    this.#near?.close();
    this.#ref?.close();
  }

  /** The sample, on a canceller's clock at `rate`, of the packet `ticks` RTP ticks after the first. */
  #sample(rate: number, ticks: number): number {
    return Math.round((this.#startMs * rate) / 1000 + (ticks * rate) / this.#clockRate);
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
