import { BargeInDetector, levelDb, type BargeInOptions } from '../media/BargeIn.js';
import { VoiceActivity, type VadEvent } from '../media/VoiceActivity.js';

export interface BargeInEvents {
  /** The caller started or stopped talking (agent echo excluded). */
  speech(ev: NonNullable<VadEvent>): void;
  /** The caller talks over audible agent audio; `atMs` is the speech onset in caller media time. */
  bargeIn(atMs: number): void;
}

/** An edge quiet for this long (ms) is taken as silence by the voice-activity detector. */
const SILENT_EDGE_MS = 100;

/**
 * Listens to the caller for one call: speech start and end (for the agent's turn-taking) and
 * barge-in (the caller talking over the agent). It judges each 20 ms frame the inbound chain
 * delivers, as two 10 ms halves, against what the playout played (the echo reference).
 */
export class BargeInMonitor {
  readonly #detector: BargeInDetector;
  readonly #vad: VoiceActivity;
  readonly #ev: BargeInEvents;

  constructor(opts: Readonly<BargeInOptions>, events: BargeInEvents) {
    this.#detector = new BargeInDetector(opts);
    this.#vad = new VoiceActivity({ startFrames: Math.max(1, Math.round(opts.onsetMs / 10)) });
    this.#ev = events;
  }

  /** Whether the caller is talking now. */
  get speaking(): boolean {
    return this.#vad.speaking;
  }

  /** The agent's loudest audio over the `ms` before `nowMs` (as played, from the echo reference), dBFS. */
  agentPeakDb(nowMs: number, ms: number): number {
    return this.#detector.referencePeakDb(nowMs - ms, nowMs);
  }

  /** What the playout sent, and when the caller hears it. */
  reference(playsAtMs: number, frame: Int16Array): void {
    this.#detector.reference(playsAtMs, frame);
  }

  /** The echo path the echo canceller measured: loss (dB) and delay to this frame (ms). */
  echoPath(lossDb: number, delayMs: number): void {
    this.#detector.setEchoPath(lossDb, Math.round(delayMs / 10));
  }

  /**
   * One frame of (denoised) caller audio as the agent gets it, its voice probabilities and raw
   * levels per 10 ms, the arrival time of the packet that completed it, and whether agent audio
   * may be audible to the caller.
   */
  frame(frame: Int16Array, vad: Float32Array, rawLevels: Float32Array, arrivalMs: number, agentAudible: boolean): void {
    const half = frame.length >> 1;
    for (let i = 0; i < 2; i++) {
      // The packet's audio spans the 20 ms before its arrival: halves at −10 ms and 0 ms.
      const t = arrivalMs - 10 + 10 * i;
      const level = levelDb(frame, i * half, (i + 1) * half);
      const verdict = this.#detector.push(t, level, vad[i]!, agentAudible, rawLevels[i]!);
      // Echo of the agent is not the caller: the voice-activity events see only caller speech.
      const ev = this.#vad.push(verdict === null ? Math.min(vad[i]!, 0.1) : vad[i]!);
      if (ev !== null) this.#ev.speech(ev);
      if (verdict === 'barge_in') {
        const onset = t - this.#detector.runStartMs;
        this.#ev.bargeIn(Math.max(0, this.#vad.nowMs - Math.round(onset) - 10));
      }
    }
  }

  /**
   * Clock tick: edges with silence suppression or DTX (RFC 3389, Opus DTX) stop sending while the
   * caller is quiet, and that silence must still end the caller's speech.
   */
  tick(idleMs: number): void {
    if (!this.#vad.speaking || idleMs <= SILENT_EDGE_MS) return;
    for (let i = 0; i < 2; i++) {
      const ev = this.#vad.push(0);
      if (ev !== null) this.#ev.speech(ev);
    }
  }
}
