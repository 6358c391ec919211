import { EchoCanceller, floatToInt16, int16ToFloat, Resampler, tsDiff } from '../../../codecs/src/index.js';
import type { SpeexModule } from './InboundDsp.js';

/** Rate of the canceller on wideband edges (Opus at 48 kHz): the speech band, at a third of the cost. */
const WIDEBAND_RATE = 16000;

/**
 * The line echo canceller of one call at the edge's rate, on one sample clock from RTP timestamps
 * (jitter-free), anchored at the first packet's arrival. Narrowband edges (G.711, 8 kHz) are
 * cancelled in place, so the agent gets the cancelled audio too. Opus edges (48 kHz) are
 * cancelled in the 0–8 kHz band at 16 kHz, for the barge-in detector only: near end and
 * reference go through the same resampler, so their delays cancel; the agent keeps full band.
 * The detector judges the residual with the residual echo suppressed too (one 4 ms block later):
 * what the filter leaves of the agent's voice must not look like the caller's.
 */
export class LineEcho {
  readonly aec: EchoCanceller;
  readonly #edgeRate: number;
  readonly #clockRate: number;
  readonly #near: Resampler | null;
  readonly #ref: Resampler | null;
  readonly #f32: Float32Array;
  readonly #f32Out: Float32Array;
  readonly #band: Int16Array;
  readonly #judged: Int16Array;
  #base = NaN;
  #ts0 = 0;
  /**
   * what the detector judges of the last packet (the residual, echo suppressed: a view of as many
   * samples, one block earlier) and the reference-clock time of its first sample, ms
   */
  residual: Int16Array = new Int16Array(0);
  atMs = 0;
  /**
   * The echo-cancelled audio of the last packet at the canceller's rate (before the residual echo
   * suppressor; a view): the caller's line as barge-in measures its background. On a wideband
   * edge that is the band the canceller ran on, not the decoded packet, which keeps its echo.
   */
  line: Int16Array = new Int16Array(0);

  constructor(speex: SpeexModule, edgeRate: number, clockRate: number, quality: number) {
    this.#edgeRate = edgeRate;
    this.#clockRate = clockRate;
    const rate = edgeRate <= WIDEBAND_RATE ? edgeRate : WIDEBAND_RATE;
    this.aec = new EchoCanceller({ rate, suppress: true });
    const wide = rate !== edgeRate;
    this.#near = wide ? new Resampler(speex, { inRate: edgeRate, outRate: rate, quality }) : null;
    this.#ref = wide ? new Resampler(speex, { inRate: edgeRate, outRate: rate, quality }) : null;
    const max = (edgeRate * 120) / 1000; // Opus' longest packet
    this.#f32 = new Float32Array(max);
    this.#f32Out = new Float32Array(wide ? this.#near!.maxOutput(max) + 8 : 0);
    this.#band = new Int16Array(this.#f32Out.length);
    this.#judged = new Int16Array(wide ? this.#band.length : max);
  }

  get rate(): number {
    return this.aec.rate;
  }

  /** The edge-rate audio played at `playsAtMs` (the reference). */
  reference(playsAtMs: number, frame: Int16Array): void {
    const at = Math.round((playsAtMs * this.rate) / 1000);
    if (this.#ref === null) return this.aec.playRef(frame, at);
    int16ToFloat(frame, this.#f32);
    const n = this.#ref.process(this.#f32.subarray(0, frame.length), this.#f32Out);
    floatToInt16(this.#f32Out.subarray(0, n), this.#band);
    this.aec.playRef(this.#band.subarray(0, n), at);
  }

  /**
   * Cancels one decoded packet (RTP timestamp `ts`, arrived at `arrivalMs`); narrowband `pcm` is
   * cancelled in place. The residual the detector judges is left in `residual` / `atMs`.
   */
  process(pcm: Int16Array, ts: number, arrivalMs: number): void {
    if (Number.isNaN(this.#base)) {
      this.#base = ((arrivalMs - (1000 * pcm.length) / this.#edgeRate) * this.rate) / 1000;
      this.#ts0 = ts;
    }
    const at = Math.round(this.#base + (tsDiff(this.#ts0, ts) * this.rate) / this.#clockRate);
    let n = pcm.length;
    if (this.#near === null) {
      this.aec.process(pcm, at, pcm);
      this.line = pcm;
    } else {
      int16ToFloat(pcm, this.#f32);
      n = this.#near.process(this.#f32.subarray(0, pcm.length), this.#f32Out);
      const band = this.#band.subarray(0, n);
      floatToInt16(this.#f32Out.subarray(0, n), band);
      this.aec.process(band, at, band);
      this.line = band;
    }
    const from = this.aec.suppressedEnd(at + n) - n;
    this.residual = this.#judged.subarray(0, n);
    this.aec.suppressed(from, this.residual);
    this.atMs = (1000 * from) / this.rate;
  }

  /** A new source: the clock starts afresh at its first packet. */
  restart(): void {
    this.#base = NaN;
  }

  close(): void {
    this.#near?.close();
    this.#ref?.close();
  }
}
