import { dtmfEvent, Resampler, writeRtpFixedHeader, writeTelephoneEvent, RTP_HEADER_SIZE } from '../../../codecs/src/index.js';
import { CODEC_INFO, createEncoder, type EdgeCodecName, type FrameEncoder } from './edgeCodecs.js';
import { FRAME_MS, type Tickable } from './PlayoutClock.js';
import { PlayoutQueue } from './PlayoutQueue.js';
import type { SpeexModule } from './InboundDsp.js';

export interface PlayoutEvents {
  /** Sends one RTP packet to the edge. `pkt` is reused after ~4 ticks: send synchronously or copy. */
  send(pkt: Uint8Array): void;
  /** A mark was reached (played) or dropped by a clear. */
  mark(name: string, cleared: boolean): void;
  /** Agent audio refused: the queue is at its bound. */
  overflow(samples: number): void;
  /** A tick where agent audio was playing but ran out before the frame was full. */
  underrun(): void;
  /** First sample of an agent chunk went out; `waitedMs` since it arrived. */
  started(waitedMs: number): void;
  /** The edge-rate audio of each tick (the echo reference for barge-in). Borrowed. */
  reference(nowMs: number, frame: Int16Array): void;
}

export interface PlayoutOptions {
  codec: EdgeCodecName;
  payloadType: number;
  dtmfPayloadType: number;
  ssrc: number;
  /** Hz of the agent's PCM16 */
  agentRate: number;
  maxSeconds: number;
  quality: number;
}

/** RFC 4733 §2.5: event duration and the pause after it, ms. */
const DTMF_TONE_MS = 100;
const DTMF_GAP_MS = 60;
/** §2.5.1.4: the final (E-bit) packet is sent three times for robustness. */
const DTMF_END_REPEATS = 3;
/** ring of packet buffers: a dgram send may still hold the previous one */
const PACKET_RING = 4;

/**
 * Outbound media of one call: the agent's audio queue played on the shared 20 ms clock —
 * resampled to the edge rate, encoded, packetised with continuous sequence numbers and
 * timestamps under one SSRC (RFC 3550 §5.1). When the queue is dry the edge still gets a
 * packet every 20 ms (silence), so its clock and jitter buffer stay fed. Outbound DTMF
 * (RFC 4733) takes the place of audio while it plays.
 */
export class Playout implements Tickable {
  readonly queue: PlayoutQueue;
  readonly #ev: PlayoutEvents;
  readonly #o: PlayoutOptions;
  readonly #resampler: Resampler;
  readonly #encoder: FrameEncoder;
  readonly #agentFrame: Int16Array;
  readonly #f32In: Float32Array;
  readonly #f32Out: Float32Array;
  readonly #edgeFrame: Int16Array;
  readonly #frameTicks: number;
  readonly #packets: Uint8Array[];
  #ring = 0;
  #seq: number;
  #ts: number;
  #first = true;
  /** end of the last agent sample on the caller's timeline (send time + its offset + resampler delay), ms */
  #audioEndsAt = 0;
  /** marks reached, waiting for their audio to finish playing: [name, fireAtMs] */
  readonly #reached: [string, number][] = [];
  #playing = false;
  /** samples of agent audio played since the last clear (for barge-in's playedMs) */
  playedSinceClear = 0;
  readonly #dtmf: string[] = [];
  #dtmfState: { event: number; startTs: number; elapsedMs: number; endSent: number; gapMs: number } | null = null;
  #oddByte = -1;
  #closed = false;
  packetsSent = 0;

  constructor(speex: SpeexModule, opts: PlayoutOptions, events: PlayoutEvents) {
    this.#o = opts;
    this.#ev = events;
    const info = CODEC_INFO[opts.codec];
    this.queue = new PlayoutQueue(opts.maxSeconds * opts.agentRate);
    this.#resampler = new Resampler(speex, { inRate: opts.agentRate, outRate: info.pcmRate, quality: opts.quality });
    this.#encoder = createEncoder(opts.codec);
    this.#agentFrame = new Int16Array((opts.agentRate * FRAME_MS) / 1000);
    this.#f32In = new Float32Array(this.#agentFrame.length);
    this.#f32Out = new Float32Array(this.#resampler.maxOutput(this.#agentFrame.length) + 8);
    this.#edgeFrame = new Int16Array(info.frameSamples);
    this.#frameTicks = info.frameTicks;
    this.#packets = Array.from({ length: PACKET_RING }, () => new Uint8Array(RTP_HEADER_SIZE + info.maxPayload));
    // RFC 3550 §5.1: random initial sequence number and timestamp. Half the 16-bit space for the
    // sequence keeps SRTP index guessing away from rollover (pion sequencer.go does the same).
    this.#seq = Math.floor(Math.random() * 0x8000);
    this.#ts = Math.floor(Math.random() * 0xffffffff) >>> 0;
  }

  /** Algorithmic delay of the outbound chain (resampler), ms. */
  get delayMs(): number {
    return this.#resampler.delayMs;
  }

  /** ms of agent audio queued. */
  get queuedMs(): number {
    return (1000 * this.queue.queued) / this.#o.agentRate;
  }

  /** ms of agent audio the caller has heard since the last clear: played, minus what is still on its way out. */
  heardMs(nowMs: number): number {
    return Math.max(0, Math.round((1000 * this.playedSinceClear) / this.#o.agentRate - Math.max(0, this.#audioEndsAt - nowMs)));
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

  /** Queues a mark; with nothing queued and nothing playing, it is reached at once. */
  mark(name: string, nowMs: number): void {
    if (this.#closed) return;
    if (this.queue.empty) {
      this.#reached.push([name, this.#audioEndsAt]);
      this.#fireDue(nowMs);
    } else this.queue.pushMark(name);
  }

  /**
   * Drops all queued audio; every pending mark (queued or reached but not yet fired) is reported
   * as cleared. The next tick sends silence. Returns ms of audio dropped.
   */
  clear(): number {
    const dropped = this.queuedMs;
    for (const [name] of this.#reached.splice(0)) this.#ev.mark(name, true);
    for (const name of this.queue.clear()) this.#ev.mark(name, true);
    this.playedSinceClear = 0;
    this.#oddByte = -1;
    this.#playing = false;
    // The filter still holds a few ms of the dropped audio; without this it leaks into the next packet.
    this.#resampler.reset();
    return dropped;
  }

  /** Queues RFC 4733 events for each DTMF character (others are ignored); returns digits queued. */
  sendDtmf(digits: string): number {
    let n = 0;
    for (const d of digits) {
      if (dtmfEvent(d) !== null) {
        this.#dtmf.push(d);
        n++;
      }
    }
    return n;
  }

  tick(nowMs: number, slots: number): void {
    if (this.#closed) return;
    if (slots > 1) this.#ts = (this.#ts + (slots - 1) * this.#frameTicks) >>> 0;
    if (this.#dtmfState !== null || this.#dtmf.length > 0) this.#dtmfTick();
    else this.#audioTick(nowMs);
    this.#ts = (this.#ts + this.#frameTicks) >>> 0;
    this.#fireDue(nowMs);
  }

  #audioTick(nowMs: number): void {
    const r = this.queue.pull(this.#agentFrame);
    if (r.filled > 0) {
      if (r.firstReceivedAt >= 0) this.#ev.started(nowMs - r.firstReceivedAt);
      this.playedSinceClear += r.filled;
      this.#audioEndsAt = nowMs + (1000 * r.filled) / this.#o.agentRate + this.#resampler.delayMs;
      if (r.filled < this.#agentFrame.length && this.queue.peekMark() === null) this.#ev.underrun();
      this.#playing = true;
    } else this.#playing = false;
    // Marks now at the head: their audio is all in this or an earlier frame.
    for (let m = this.queue.shiftMark(); m !== null; m = this.queue.shiftMark()) this.#reached.push([m, this.#audioEndsAt]);
    // Always run the resampler (zeros when idle) so its filter state is continuous.
    const a = this.#agentFrame;
    for (let i = 0; i < a.length; i++) this.#f32In[i] = a[i]!;
    const made = this.#resampler.process(this.#f32In, this.#f32Out);
    const e = this.#edgeFrame;
    for (let i = 0; i < e.length; i++) {
      const v = i < made ? Math.round(this.#f32Out[i]!) : 0;
      e[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    const pkt = this.#nextPacket();
    const n = this.#encoder.encode(e, pkt.subarray(RTP_HEADER_SIZE));
    writeRtpFixedHeader(pkt, 0, this.#first, this.#o.payloadType, this.#seq, this.#ts, this.#o.ssrc);
    this.#emit(pkt, RTP_HEADER_SIZE + n);
    this.#ev.reference(nowMs, e);
  }

  /** RFC 4733 §2.5.1: one event per digit, same timestamp, growing duration, E bit ×3 at the end. */
  #dtmfTick(): void {
    let st = this.#dtmfState;
    if (st === null) {
      const d = this.#dtmf.shift()!;
      st = this.#dtmfState = { event: dtmfEvent(d)!, startTs: this.#ts, elapsedMs: 0, endSent: 0, gapMs: 0 };
    }
    if (st.endSent >= DTMF_END_REPEATS) {
      // Inter-digit pause: plain audio (silence or queued agent audio is held back).
      st.gapMs += FRAME_MS;
      if (st.gapMs >= DTMF_GAP_MS) this.#dtmfState = null;
      this.#silenceTick();
      return;
    }
    st.elapsedMs = Math.min(st.elapsedMs + FRAME_MS, DTMF_TONE_MS);
    const end = st.elapsedMs >= DTMF_TONE_MS;
    if (end) st.endSent++;
    const pkt = this.#nextPacket();
    writeRtpFixedHeader(pkt, 0, st.elapsedMs === FRAME_MS && st.endSent <= 1, this.#o.dtmfPayloadType, this.#seq, st.startTs, this.#o.ssrc);
    writeTelephoneEvent(pkt, RTP_HEADER_SIZE, { event: st.event, end, volume: 10, duration: (st.elapsedMs * this.#frameTicks) / FRAME_MS });
    this.#emit(pkt, RTP_HEADER_SIZE + 4);
  }

  #silenceTick(): void {
    this.#agentFrame.fill(0);
    const e = this.#edgeFrame.fill(0);
    const pkt = this.#nextPacket();
    const n = this.#encoder.encode(e, pkt.subarray(RTP_HEADER_SIZE));
    writeRtpFixedHeader(pkt, 0, false, this.#o.payloadType, this.#seq, this.#ts, this.#o.ssrc);
    this.#emit(pkt, RTP_HEADER_SIZE + n);
  }

  #nextPacket(): Uint8Array {
    const p = this.#packets[this.#ring]!;
    this.#ring = (this.#ring + 1) % PACKET_RING;
    return p;
  }

  #emit(pkt: Uint8Array, len: number): void {
    this.#first = false;
    this.#seq = (this.#seq + 1) & 0xffff;
    this.packetsSent++;
    this.#ev.send(pkt.subarray(0, len));
  }

  #fireDue(nowMs: number): void {
    while (this.#reached.length > 0 && this.#reached[0]![1] <= nowMs) this.#ev.mark(this.#reached.shift()![0], false);
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
  }
}
