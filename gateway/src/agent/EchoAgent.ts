import type { Agent, AgentCommands, CallInfo, GatewayEvent } from './Agent.js';

/** Longest utterance echoed, ms; longer speech is cut (the demo is not a recorder). */
const MAX_UTTERANCE_MS = 15_000;
/** Audio kept from before the detected onset (VAD needs a few frames to decide), ms. */
const PRE_ROLL_MS = 200;
/** Audio kept after the detected end of speech, ms. */
const POST_ROLL_MS = 150;
const FRAME_MS = 20;

/**
 * The built-in demo agent (`builtin:echo`): plays the caller's own denoised voice back once they
 * stop talking, then marks the end of the echo. Talking over the echo clears it (barge-in).
 * It speaks the same semantic interface as remote agents, in-process, so the whole media path is
 * exercised without a network peer.
 */
export class EchoAgent implements Agent {
  readonly #cmds: AgentCommands;
  #frames: Int16Array[] = [];
  /** media time of frames[0], ms */
  #firstAt = 0;
  /** media time of the next frame, ms */
  #now = 0;
  #recording = false;
  #startAt = 0;
  #echoing = false;
  #n = 0;

  constructor(cmds: AgentCommands) {
    this.#cmds = cmds;
  }

  start(_info: CallInfo): void {}

  audio(frame: Int16Array): void {
    this.#frames.push(frame.slice());
    this.#now += FRAME_MS;
    const keepFrom = this.#recording ? this.#startAt - PRE_ROLL_MS : this.#now - PRE_ROLL_MS;
    const maxFrames = (MAX_UTTERANCE_MS + PRE_ROLL_MS + POST_ROLL_MS) / FRAME_MS;
    while (this.#frames.length > 0 && (this.#firstAt < keepFrom || this.#frames.length > maxFrames)) {
      this.#frames.shift();
      this.#firstAt += FRAME_MS;
    }
  }

  event(ev: GatewayEvent): void {
    switch (ev.type) {
      case 'speech_started':
        if (this.#echoing) this.#cmds.clear(); // the caller talks over the echo: stop it
        this.#recording = true;
        this.#startAt = ev.atMs;
        return;
      case 'speech_stopped': {
        if (!this.#recording) return;
        this.#recording = false;
        const from = Math.max(0, Math.floor((this.#startAt - PRE_ROLL_MS - this.#firstAt) / FRAME_MS));
        const to = Math.min(this.#frames.length, Math.ceil((ev.atMs + POST_ROLL_MS - this.#firstAt) / FRAME_MS));
        if (to <= from) return;
        const len = this.#frames[0]!.length;
        const pcm = new Int16Array((to - from) * len);
        for (let i = from; i < to; i++) pcm.set(this.#frames[i]!, (i - from) * len);
        this.#echoing = true;
        this.#cmds.audio(new Uint8Array(pcm.buffer));
        this.#cmds.mark(`echo-${++this.#n}`);
        return;
      }
      case 'mark':
        if (ev.name === `echo-${this.#n}`) this.#echoing = false;
        return;
      default:
        return;
    }
  }

  close(_reason: string): void {
    this.#frames = [];
  }
}
