import { int16ToFloat, Resampler } from '../../../codecs/src/index.js';
import { DtmfSchedule } from './DtmfSchedule.js';
import { createOutboundFrame, type Edge } from '../edge/Edge.js';
import { CODEC_DELAY_MS, CODEC_INFO, createEncoder, type EdgeCodecName, type FrameEncoder } from './edgeCodecs.js';
import { FarEndPlayback } from './FarEndPlayback.js';
import { FRAME_MS, type Tickable } from './PlayoutClock.js';
import { PlayoutGain } from './PlayoutGain.js';
import { PlayoutQueue } from './PlayoutQueue.js';
import type { SpeexModule } from './InboundDsp.js';

export interface PlayoutEvents {
  /** A mark was reached (played, or confirmed by a buffered edge) or dropped by a clear. */
  mark(name: string, cleared: boolean): void;
  /** Agent audio refused: the queue is at its bound. */
  overflow(samples: number): void;
  /** A tick where agent audio was playing but ran out before the frame was full. */
  underrun(): void;
  /** First sample of an agent chunk went out; `waitedMs` since it arrived. */
  started(waitedMs: number): void;
  /**
   * Each frame of agent audio (not DTMF) and when the caller hears it: `frame` as encoded (edge rate),
   * `heard` as the far end plays it, the echo reference (FarEndPlayback). Both borrowed.
   */
  reference(playsAtMs: number, frame: Int16Array, heard: Int16Array): void;
}

export interface PlayoutOptions {
  codec: EdgeCodecName;
  /** Hz of the agent's PCM16 */
  agentRate: number;
  maxSeconds: number;
  quality: number;
}

/**
 * Marks a call may have outstanding (queued, or reached and not yet reported). Each is echoed to
 * the agent once; a flood of them would be echoed in one tick and stall every call's clock.
 */
export const MAX_PENDING_MARKS = 256;

/**
 * Outbound media of one call: the agent's audio queue played on the shared 20 ms clock —
 * resampled to the edge rate, encoded, and handed to the edge one frame per tick (the edge frames
 * it: RTP, a JSON media event…). A clocked edge gets a frame every 20 ms even when the queue is
 * dry (silence), so its clock and jitter buffer stay fed; a buffered edge is kept `leadMs` ahead
 * and gets no silence. Outbound DTMF (RFC 4733) takes the place of audio while it plays.
 */
export class Playout implements Tickable {
  readonly queue: PlayoutQueue;
  readonly #ev: PlayoutEvents;
  readonly #o: PlayoutOptions;
  readonly #edge: Edge;
  readonly #buffered: boolean;
  readonly #resampler: Resampler;
  readonly #encoder: FrameEncoder;
  readonly #farEnd: FarEndPlayback;
  readonly #agentFrame: Int16Array;
  readonly #f32In: Float32Array;
  readonly #f32Out: Float32Array;
  readonly #edgeFrame: Int16Array;
  readonly #payload: Uint8Array;
  readonly #frame = createOutboundFrame();
  /** ms of audio sent to a buffered edge that it has not played yet (0 for clocked edges between ticks) */
  #aheadMs = 0;
  /** end of the last agent sample on the caller's timeline (play time + the chain's delay), ms */
  #audioEndsAt = 0;
  /** marks reached, waiting for their audio to finish playing: [name, fireAtMs] */
  readonly #reached: [string, number][] = [];
  /** marks handed to a buffered edge, waiting for its confirmation */
  readonly #unconfirmed: string[] = [];
  #playing = false;
  /** samples of agent audio played since the last clear (for barge-in's playedMs) */
  playedSinceClear = 0;
  readonly #dtmf = new DtmfSchedule();
  #oddByte = -1;
  #closed = false;
  /** frames the edge took */
  framesSent = 0;
  /** marks taken and not yet reported to the agent */
  #pendingMarks = 0;
  /** barge-in ducking: lowers the audio, drops nothing */
  readonly gain = new PlayoutGain();

  constructor(speex: SpeexModule, opts: PlayoutOptions, edge: Edge, events: PlayoutEvents) {
    this.#o = opts;
    this.#ev = events;
    this.#edge = edge;
    this.#buffered = edge.playback === 'buffered';
    const info = CODEC_INFO[opts.codec];
    this.queue = new PlayoutQueue(opts.maxSeconds * opts.agentRate);
    this.#resampler = new Resampler(speex, { inRate: opts.agentRate, outRate: info.pcmRate, quality: opts.quality });
    this.#encoder = createEncoder(opts.codec);
    this.#agentFrame = new Int16Array((opts.agentRate * FRAME_MS) / 1000);
    this.#f32In = new Float32Array(this.#agentFrame.length);
    this.#f32Out = new Float32Array(this.#resampler.maxOutput(this.#agentFrame.length) + 8);
    this.#edgeFrame = new Int16Array(info.frameSamples);
    this.#payload = new Uint8Array(info.maxPayload);
    this.#farEnd = new FarEndPlayback(opts.codec, info.frameSamples);
  }

  /** Algorithmic delay of the outbound chain, ms: the resampler's, and the codec's (Opus: 6.5). */
  get delayMs(): number {
    return this.#resampler.delayMs + CODEC_DELAY_MS[this.#o.codec];
  }

  /** ms of agent audio queued. */
  get queuedMs(): number {
    return (1000 * this.queue.queued) / this.#o.agentRate;
  }

  /**
   * ms of agent audio the caller has heard since the last clear: played, minus what is still on
   * its way out; no more than a buffered edge's confirmations allow (a platform that stalled).
   */
  heardMs(nowMs: number): number {
    const sent = Math.max(0, (1000 * this.playedSinceClear) / this.#o.agentRate - Math.max(0, this.#audioEndsAt - nowMs));
    const confirmed = this.#edge.playedMs?.(nowMs) ?? Infinity;
    return Math.round(Math.min(sent, confirmed));
  }

  /**
   * Queues agent PCM16 LE of any length (an odd trailing byte is carried to the next message).
   * `bytes` may be borrowed: it is copied here.
   */
  enqueue(bytes: Uint8Array, nowMs: number): void {
    if (this.#closed) return;
    let start = 0;
    const carry = this.#oddByte >= 0 ? 1 : 0;
    const total = bytes.length + carry;
    const samples = total >> 1;
    if (samples === 0) {
      if (bytes.length === 1) this.#oddByte = bytes[0]!;
      return;
    }
    const pcm = new Int16Array(samples);
    let i = 0;
    if (carry) {
      pcm[0] = (((bytes[0]! << 8) | this.#oddByte) << 16) >> 16;
      start = 1;
      i = 1;
    }
    const dv = new DataView(bytes.buffer, bytes.byteOffset + start, bytes.length - start);
    for (let k = 0; i < samples; i++, k += 2) pcm[i] = dv.getInt16(k, true);
    this.#oddByte = (bytes.length - start) % 2 === 1 ? bytes[bytes.length - 1]! : -1;
    if (!this.queue.pushAudio(pcm, nowMs)) this.#ev.overflow(samples);
  }

  /**
   * Queues a mark; with nothing queued it is reached at once (when the audio already sent has
   * played). False when MAX_PENDING_MARKS are outstanding: the mark is refused.
   */
  mark(name: string, nowMs: number): boolean {
    if (this.#closed) return true;
    if (this.#pendingMarks >= MAX_PENDING_MARKS) return false;
    this.#pendingMarks++;
    if (!this.queue.empty) this.queue.pushMark(name);
    else this.#reach(name, nowMs);
    return true;
  }

  /** Reports a mark to the agent (played, or dropped by a clear). */
  #report(name: string, cleared: boolean): void {
    this.#pendingMarks--;
    this.#ev.mark(name, cleared);
  }

  /** A buffered edge confirmed a mark: it reaches the agent now. Unknown names (cleared ones) are ignored. */
  confirm(name: string): void {
    const i = this.#unconfirmed.indexOf(name);
    if (i < 0) return;
    this.#unconfirmed.splice(i, 1);
    this.#report(name, false);
  }

  /**
   * Drops all queued audio (and what a buffered edge still holds); every pending mark (queued,
   * reached but not yet fired, or awaiting the edge) is reported as cleared. The next tick sends
   * silence. Returns ms of audio dropped.
   */
  clear(): number {
    const dropped = this.queuedMs;
    for (const [name] of this.#reached.splice(0)) this.#report(name, true);
    for (const name of this.#unconfirmed.splice(0)) this.#report(name, true);
    for (const name of this.queue.clear()) this.#report(name, true);
    if (this.#buffered) this.#edge.clear();
    this.playedSinceClear = 0;
    this.gain.reset();
    this.#oddByte = -1;
    this.#playing = false;
    this.#aheadMs = 0;
    // The filter still holds a few ms of the dropped audio; without this it leaks into the next frame.
    this.#resampler.reset();
    return dropped;
  }

  /** Queues RFC 4733 events for each DTMF character (others are ignored); returns digits queued. */
  sendDtmf(digits: string): number {
    return this.#dtmf.add(digits);
  }

  tick(nowMs: number, slots: number): void {
    if (this.#closed) return;
    this.#aheadMs = Math.max(0, this.#aheadMs - FRAME_MS * slots);
    this.#frame.slots = slots;
    // A clocked edge takes one frame a tick; a buffered one is topped up to its lead.
    do {
      if (this.#dtmf.active) this.#dtmfFrame();
      else this.#audioFrame(nowMs);
      this.#frame.slots = 1;
    } while (this.#buffered && this.#aheadMs <= this.#edge.leadMs && !this.queue.empty && !this.#dtmf.active);
    this.#fireDue(nowMs);
  }

  #audioFrame(nowMs: number): void {
    const playsAt = nowMs + this.#aheadMs;
    const r = this.queue.pull(this.#agentFrame);
    if (r.filled > 0) {
      if (r.firstReceivedAt >= 0) this.#ev.started(nowMs - r.firstReceivedAt);
      this.playedSinceClear += r.filled;
      this.#audioEndsAt = playsAt + (1000 * r.filled) / this.#o.agentRate + this.delayMs;
      if (r.filled < this.#agentFrame.length && this.queue.peekMark() === null) this.#ev.underrun();
      this.#playing = true;
    } else this.#playing = false;
    // Always run the resampler (zeros when idle) so its filter state is continuous.
    int16ToFloat(this.#agentFrame, this.#f32In);
    this.gain.apply(this.#f32In);
    const made = this.#resampler.process(this.#f32In, this.#f32Out);
    const e = this.#edgeFrame;
    for (let i = 0; i < e.length; i++) {
      const v = i < made ? Math.round(this.#f32Out[i]!) : 0;
      e[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    const f = this.#frame;
    f.kind = 'audio';
    f.idle = r.filled === 0;
    f.payload = this.#payload.subarray(0, this.#encoder.encode(e, this.#payload));
    const sent = this.#emit(!(f.idle && this.#buffered));
    const heard = this.#farEnd.play(e, f.payload, sent);
    // Marks now at the head: their audio is all in this or an earlier frame.
    for (let m = this.queue.shiftMark(); m !== null; m = this.queue.shiftMark()) this.#reach(m, nowMs);
    this.#ev.reference(playsAt, e, heard);
  }

  /** A mark whose audio has all been handed to the edge. */
  #reach(name: string, nowMs: number): void {
    if (this.#buffered) {
      this.#unconfirmed.push(name);
      this.#edge.mark(name);
      return;
    }
    this.#reached.push([name, this.#audioEndsAt]);
    this.#fireDue(nowMs);
  }

  /** A DTMF slot: a telephone-event in place of audio, or the pause between digits (queued agent audio waits). */
  #dtmfFrame(): void {
    const d = this.#dtmf.next();
    const f = this.#frame;
    if (!d.tone) {
      this.#edgeFrame.fill(0);
      f.kind = 'audio';
      f.idle = true;
      f.payload = this.#payload.subarray(0, this.#encoder.encode(this.#edgeFrame, this.#payload));
      this.#farEnd.play(this.#edgeFrame, f.payload, this.#emit(!this.#buffered)); // (its decoder follows)
      return;
    }
    f.kind = 'tone';
    f.idle = false;
    f.event = d.event;
    f.elapsedMs = d.elapsedMs;
    f.first = d.first;
    f.end = d.end;
    this.#emit(true);
  }

  /** Hands the frame to the edge (when `send`) and counts the 20 ms it covers. True if the edge took it. */
  #emit(send: boolean): boolean {
    const sent = send && this.#edge.send(this.#frame);
    if (sent) this.framesSent++;
    if (send || !this.#buffered) this.#aheadMs += FRAME_MS;
    return sent;
  }

  #fireDue(nowMs: number): void {
    while (this.#reached.length > 0 && this.#reached[0]![1] <= nowMs) this.#report(this.#reached.shift()![0], false);
  }

  /** True while agent audio is going out (for barge-in and the echo agent). */
  get playing(): boolean {
    return this.#playing || !this.queue.empty;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resampler.close();
    this.#encoder.close();
    this.#farEnd.close();
  }
}
