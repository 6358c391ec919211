import { performance } from 'node:perf_hooks';
import { createRtpPacket, type RtpPacket } from '../../../../codecs/src/index.js';
import { CODEC_INFO, type EdgeCodecName } from '../../media/edgeCodecs.js';
import type { EdgeSink } from '../Edge.js';

/** 20 ms frames a stream may deliver at once before the rest of a burst is paced (0.5 s). */
const BURST_FRAMES = 25;
/** Frames/s the burst allowance refills at: real time plus a margin for clock drift. */
const REFILL_PER_S = 55;
/** Frames of a burst released per 20 ms while catching up (4× real time). */
const CATCH_UP_FRAMES = 4;
/** Frames a paced burst may hold (20 s); more are dropped as DSP_OVERLOAD. */
export const BACKLOG_FRAMES = 1000;
/** Initial size of the base64 scratch: 100 ms of 16 kHz L16 (grows for larger messages, rarely). */
const SCRATCH_BYTES = 3200;

/**
 * Inbound framing of a media stream (CPaaS JSON `media`, binary L16, AudioSocket, chan_websocket):
 * payloads of any length (a whole number of samples) become the 20 ms RTP packets the call's
 * inbound leg takes, sequence and timestamp from this stream's own counters (the platforms'
 * counters do not survive re-framing, and over TCP nothing is lost or reordered).
 *
 * Pacing: platforms release what they held after a stall in one burst (ten seconds of audio in a
 * few milliseconds). The first half second passes at once, like any small burst; the rest is kept
 * here (allocated on the first burst only) and handed on at 4× real time with its arrival times,
 * so the agent gets every word, soon, and neither the DSP ring nor the event loop is swamped.
 *
 * Buffers are allocated once per stream; nothing here allocates per packet.
 */
export class StreamFraming {
  readonly frameBytes: number;
  readonly #sampleBytes: number;
  readonly #ticks: number;
  readonly #pkt: RtpPacket = createRtpPacket();
  readonly #frame: Uint8Array;
  #fill = 0;
  #scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
  #tokens = BURST_FRAMES;
  #tokensAt = performance.now();
  #backlog: Uint8Array | null = null;
  #arrivals: Float64Array | null = null;
  #head = 0;
  #count = 0;
  #timer: NodeJS.Timeout | null = null;
  #sink: EdgeSink | null = null;
  /** frames delivered, and frames that waited in the backlog */
  framesIn = 0;
  framesPaced = 0;

  constructor(codec: EdgeCodecName, payloadType: number) {
    const info = CODEC_INFO[codec];
    this.frameBytes = info.maxPayload; // G.711 160, slin8 320, slin16 640: one 20 ms frame
    this.#sampleBytes = this.frameBytes / info.frameSamples;
    this.#ticks = info.frameTicks;
    this.#frame = new Uint8Array(this.frameBytes);
    const p = this.#pkt;
    p.payloadType = payloadType;
    p.ssrc = (Math.random() * 0xffffffff) >>> 0;
    p.sequenceNumber = Math.floor(Math.random() * 0x8000);
    p.timestamp = (Math.random() * 0xffffffff) >>> 0;
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
  }

  /** A base64 payload (validated by the platform's parser); false when nothing could be taken. */
  pushBase64(b64: string, arrivalMs: number): boolean {
    const max = (b64.length >> 2) * 3;
    if (max > this.#scratch.length) this.#scratch = Buffer.allocUnsafe(max);
    const n = this.#scratch.write(b64, 0, 'base64');
    return this.push(this.#scratch.subarray(0, n), arrivalMs);
  }

  /** Raw payload bytes (borrowed); false (and a drop) when it is empty or not whole samples. */
  push(bytes: Uint8Array, arrivalMs: number): boolean {
    const sink = this.#sink;
    if (sink === null) return false;
    if (bytes.length === 0 || bytes.length % this.#sampleBytes !== 0) {
      sink.drop('CODEC_BAD_FRAME');
      return false;
    }
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(this.frameBytes - this.#fill, bytes.length - at);
      this.#frame.set(bytes.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === this.frameBytes) {
        this.#fill = 0;
        this.#frameReady(this.#frame, arrivalMs, sink);
      }
    }
    return true;
  }

  #frameReady(frame: Uint8Array, arrivalMs: number, sink: EdgeSink): void {
    const now = performance.now();
    this.#tokens = Math.min(BURST_FRAMES, this.#tokens + ((now - this.#tokensAt) * REFILL_PER_S) / 1000);
    this.#tokensAt = now;
    if (this.#count === 0 && this.#tokens >= 1) {
      this.#tokens--;
      this.#deliver(frame, arrivalMs, sink);
      return;
    }
    this.#hold(frame, arrivalMs, sink);
  }

  #hold(frame: Uint8Array, arrivalMs: number, sink: EdgeSink): void {
    if (this.#backlog === null) {
      this.#backlog = new Uint8Array(BACKLOG_FRAMES * this.frameBytes);
      this.#arrivals = new Float64Array(BACKLOG_FRAMES);
    }
    if (this.#count === BACKLOG_FRAMES) {
      sink.drop('DSP_OVERLOAD');
      return;
    }
    const slot = (this.#head + this.#count) % BACKLOG_FRAMES;
    this.#backlog.set(frame, slot * this.frameBytes);
    this.#arrivals![slot] = arrivalMs;
    this.#count++;
    this.framesPaced++;
    this.#timer ??= setTimeout(this.#drain, 20);
  }

  readonly #drain = (): void => {
    this.#timer = null;
    const sink = this.#sink;
    if (sink === null) return;
    for (let k = 0; k < CATCH_UP_FRAMES && this.#count > 0; k++) {
      const slot = this.#head;
      this.#head = (this.#head + 1) % BACKLOG_FRAMES;
      this.#count--;
      const off = slot * this.frameBytes;
      this.#deliver(this.#backlog!.subarray(off, off + this.frameBytes), this.#arrivals![slot]!, sink);
    }
    if (this.#count > 0) this.#timer = setTimeout(this.#drain, 20);
  };

  #deliver(frame: Uint8Array, arrivalMs: number, sink: EdgeSink): void {
    const p = this.#pkt;
    p.payload = frame;
    this.framesIn++;
    sink.media(p, arrivalMs);
    p.sequenceNumber = (p.sequenceNumber + 1) & 0xffff;
    p.timestamp = (p.timestamp + this.#ticks) >>> 0;
  }

  /** Stops pacing; what was held is dropped with the call. */
  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#sink = null;
    this.#count = 0;
  }
}
