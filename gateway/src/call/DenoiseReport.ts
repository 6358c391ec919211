import { FrameFlags } from '../media/dspProtocol.js';

/** A change of whether RNNoise shapes the caller's audio, as the agent hears of it. */
export interface DenoiseChange {
  enabled: boolean;
  /** the call's estimated SNR, dB (one decimal), null before it could be estimated */
  snrDb: number | null;
  /** ms of caller audio since the call began (20 ms per frame delivered) */
  atMs: number;
}

/**
 * What a call's inbound frames say about denoising: the route's mode, whether RNNoise runs now,
 * the estimated SNR, when `auto` decided, how often it switched, and how many frames had to
 * bypass RNNoise because the DSP fell behind (shedding). Fed one frame's FrameFlags at a time.
 */
export class DenoiseReport {
  readonly mode: 'on' | 'off' | 'auto';
  enabled = false;
  snrDb: number | null = null;
  /** ms of caller audio at the first decision (auto), null before */
  decidedAtMs: number | null = null;
  switches = 0;
  /** frames delivered with RNNoise bypassed by overload */
  shedFrames = 0;
  #frames = 0;
  /** what the agent was last told, null before the first decision took effect */
  #told: boolean | null = null;

  constructor(denoise: boolean | 'auto') {
    this.mode = denoise === 'auto' ? 'auto' : denoise ? 'on' : 'off';
    this.enabled = denoise !== false;
  }

  /** One frame delivered; returns the change to tell the agent, if any (auto decisions only). */
  frame(flags: number, snrDb: number): DenoiseChange | null {
    this.#frames++;
    if (!Number.isNaN(snrDb)) this.snrDb = Math.round(10 * snrDb) / 10;
    const shed = (flags & FrameFlags.shed) !== 0;
    if (shed) this.shedFrames++;
    // What shapes the audio now (auto runs RNNoise until its first decision, as `true` does).
    this.enabled = (flags & FrameFlags.denoised) !== 0;
    const atMs = 20 * this.#frames;
    if (this.mode !== 'auto' || (flags & FrameFlags.decided) === 0) return null;
    this.decidedAtMs ??= atMs;
    // Told once the decision has taken effect (RNNoise warmed up and switched in a pause). A
    // bypass forced by overload is not a decision: it shows in shedFrames, not as a switch.
    const wanted = (flags & FrameFlags.wanted) !== 0;
    if (shed || this.enabled !== wanted || this.#told === this.enabled) return null;
    if (this.#told !== null) this.switches++;
    this.#told = this.enabled;
    return { enabled: this.enabled, snrDb: this.snrDb, atMs };
  }

  /** For the call's stats. */
  snapshot(): Record<string, unknown> {
    return {
      mode: this.mode,
      enabled: this.enabled,
      snrDb: this.snrDb,
      decidedAtMs: this.decidedAtMs,
      switches: this.switches,
      shedFrames: this.shedFrames,
    };
  }
}
