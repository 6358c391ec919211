/**
 * Speech onset and end for one call, from per-10 ms voice probabilities, with hysteresis:
 * onset after `startFrames` consecutive frames ≥ `startThreshold`, end after `stopFrames`
 * consecutive frames < `stopThreshold`. Times are media time (ms of caller audio since the
 * call's first frame), so they are exact and independent of scheduling.
 */
export interface VadOptions {
  startThreshold: number;
  stopThreshold: number;
  /** 10 ms frames */
  startFrames: number;
  /** 10 ms frames */
  stopFrames: number;
}

export const DEFAULT_VAD: VadOptions = { startThreshold: 0.6, stopThreshold: 0.35, startFrames: 3, stopFrames: 50 };

export type VadEvent = { type: 'speech_started' | 'speech_stopped'; atMs: number } | null;

export class VoiceActivity {
  readonly #o: VadOptions;
  #frames = 0;
  #speaking = false;
  #run = 0;
  #runStart = 0;

  constructor(opts: Partial<VadOptions> = {}) {
    this.#o = { ...DEFAULT_VAD, ...opts };
  }

  get speaking(): boolean {
    return this.#speaking;
  }

  /** Media time of the next frame, ms. */
  get nowMs(): number {
    return this.#frames * 10;
  }

  /** Feeds one 10 ms probability; returns an event when the state flips. */
  push(p: number): VadEvent {
    const t = this.#frames * 10;
    this.#frames++;
    const counts = this.#speaking ? p < this.#o.stopThreshold : p >= this.#o.startThreshold;
    if (!counts) {
      this.#run = 0;
      return null;
    }
    if (this.#run === 0) this.#runStart = t;
    this.#run++;
    if (this.#run < (this.#speaking ? this.#o.stopFrames : this.#o.startFrames)) return null;
    this.#speaking = !this.#speaking;
    this.#run = 0;
    return { type: this.#speaking ? 'speech_started' : 'speech_stopped', atMs: this.#runStart };
  }
}
