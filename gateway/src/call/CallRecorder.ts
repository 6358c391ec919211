import { Resampler, tsDiff } from '../../../codecs/src/index.js';
import type { SpeexModule } from '../media/InboundDsp.js';
import type { RecordingFile } from './RecordingFile.js';

/** Seconds of stereo audio held in memory per call (a fixed ring: memory is bounded whatever the disk does). */
const RING_S = 3;
/** Audio younger than this (s) stays in the ring, where late caller packets and cleared agent frames can still change it. */
const HOLD_S = 0.75;
/** Once this much (s) is held, everything older than HOLD_S goes to the file: about one write per second. */
const FLUSH_S = 1.75;
/** A caller packet whose RTP time and arrival disagree by more than this (ms) re-anchors the channel (new source, timestamp jump, drift). */
const REANCHOR_MS = 500;
/** Denoised frames arriving this much (ms) after where the previous one ended leave a gap (the edge was silent, DTX). */
const GAP_MS = 120;
/** Writes within this many samples of where the channel ended continue it exactly (the clock's ms rounding). */
const SNAP = 2;

export interface CallRecorderOptions {
  /** the file rate, Hz: the edge's PCM rate (both channels) */
  rate: number;
  /** RTP clock rate of the caller's stream, Hz */
  clockRate: number;
  /** the call clock's origin, ms on the clock the taps' times use: sample 0 of the file */
  t0: number;
  /** left channel source: 'raw' (decoded packets as received) or 'denoised' (the agent's frames) */
  caller: 'raw' | 'denoised';
  /** the agent's rate, Hz (denoised frames come at it) */
  agentRate: number;
  speex: SpeexModule;
  resampleQuality: number;
}

/**
 * A call's stereo recording, both channels on the call clock (sample 0 = the call's start):
 *   left: the caller, placed by RTP timestamp (anchored at the first packet's arrival; gaps and
 *     lost packets stay silent), or, denoised, the frames the agent got, placed by arrival;
 *   right: the agent as the caller hears it, placed by the playout's `playsAtMs` (edge rate, after
 *     any gain the playout applies). A frame placed before the end of what the channel holds
 *     means the frames after it never played (a clear dropped what a buffered edge still held):
 *     they are erased, so dropped audio never appears.
 * Samples go into a fixed ring; about once a second the part older than HOLD_S is copied out and
 * handed to the file's asynchronous positioned writes. Nothing is written per packet.
 */
export class CallRecorder {
  readonly rate: number;
  readonly #o: CallRecorderOptions;
  readonly #file: RecordingFile;
  readonly #cap: number;
  /** interleaved stereo, frame i at slot i mod cap */
  readonly #ring: Int16Array;
  /** frames handed to the file */
  #flushed = 0;
  /** end of what each channel holds, frames */
  readonly #end = [0, 0];
  #leftBase = NaN;
  #ts0 = 0;
  readonly #resampler: Resampler | null;
  readonly #f32In: Float32Array;
  readonly #f32Out: Float32Array;
  readonly #pcmOut: Int16Array;
  #denoisedNext = NaN;
  /** samples that came too late for the ring (after their place went to the file) */
  lateSamples = 0;
  #closed: Promise<number | null> | null = null;

  constructor(file: RecordingFile, o: CallRecorderOptions) {
    this.#o = o;
    this.#file = file;
    this.rate = o.rate;
    this.#cap = Math.ceil(RING_S * o.rate);
    this.#ring = new Int16Array(2 * this.#cap);
    const denoised = o.caller === 'denoised';
    this.#resampler = denoised ? new Resampler(o.speex, { inRate: o.agentRate, outRate: o.rate, quality: o.resampleQuality }) : null;
    const frame = Math.ceil(o.agentRate / 50);
    this.#f32In = new Float32Array(denoised ? frame : 0);
    this.#f32Out = new Float32Array(this.#resampler?.maxOutput(frame) ?? 0);
    this.#pcmOut = new Int16Array(this.#f32Out.length);
  }

  /** Sample index of a time on the call clock. */
  #pos(ms: number): number {
    return Math.round(((ms - this.#o.t0) * this.rate) / 1000);
  }

  /** A decoded caller packet (raw mode): its audio ends when it arrived, its RTP timestamp keeps its place exact. */
  caller(pcm: Int16Array, ts: number, arrivalMs: number): void {
    if (this.#closed !== null || this.#resampler !== null) return;
    const byArrival = this.#pos(arrivalMs) - pcm.length;
    let p = this.#leftBase + Math.round((tsDiff(this.#ts0, ts) * this.rate) / this.#o.clockRate);
    if (Number.isNaN(p) || Math.abs(p - byArrival) > (REANCHOR_MS * this.rate) / 1000) {
      this.#leftBase = p = byArrival;
      this.#ts0 = ts;
    }
    this.#put(0, p, pcm);
  }

  /**
   * A frame the agent got (denoised mode), at the agent rate; `delayMs` is the inbound chain's
   * algorithmic delay, so the audio lands where the caller said it.
   */
  callerFrame(frame: Int16Array, arrivalMs: number, delayMs: number): void {
    const r = this.#resampler;
    if (this.#closed !== null || r === null) return;
    const f32 = this.#f32In;
    const n = Math.min(frame.length, f32.length);
    for (let i = 0; i < n; i++) f32[i] = frame[i]!;
    const made = r.process(f32.subarray(0, n), this.#f32Out);
    const out = this.#pcmOut;
    for (let i = 0; i < made; i++) {
      const v = Math.round(this.#f32Out[i]!);
      out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
    }
    const byArrival = this.#pos(arrivalMs - delayMs - r.delayMs) - made;
    const next = this.#denoisedNext;
    const rate = this.rate / 1000;
    if (Number.isNaN(next) || byArrival - next > GAP_MS * rate || next - byArrival > REANCHOR_MS * rate) this.#denoisedNext = byArrival;
    this.#put(0, this.#denoisedNext, out.subarray(0, made));
    this.#denoisedNext += made;
  }

  /** What the playout played (edge rate) and when the caller hears it. */
  agent(playsAtMs: number, frame: Int16Array): void {
    if (this.#closed !== null) return;
    const end = this.#end[1]!;
    let p = this.#pos(playsAtMs);
    if (Math.abs(p - end) <= SNAP) p = end;
    // Placed before the end of what we hold: what follows it was never heard (see the class comment).
    if (p + frame.length < end) this.#erase(1, Math.max(p + frame.length, this.#flushed), end);
    this.#put(1, p, frame);
    this.#end[1] = Math.max(this.#flushed, p + frame.length);
  }

  /** Writes samples of channel `ch` at frame `p`, making room (a flush) when they reach past the ring. */
  #put(ch: number, p: number, x: Int16Array): void {
    const n = x.length;
    let from = 0;
    if (p < this.#flushed) {
      from = this.#flushed - p;
      this.lateSamples += Math.min(n, from);
      if (from >= n) return;
    }
    const end = p + n;
    if (end - this.#flushed > this.#cap) this.#flushTo(end - this.#cap);
    const ring = this.#ring;
    const cap = this.#cap;
    for (let i = from, slot = (p + from) % cap; i < n; i++, slot = slot + 1 === cap ? 0 : slot + 1) ring[2 * slot + ch] = x[i]!;
    if (end > this.#end[ch]!) this.#end[ch] = end;
    const head = Math.max(this.#end[0]!, this.#end[1]!);
    if (head - this.#flushed > FLUSH_S * this.rate) this.#flushTo(head - Math.round(HOLD_S * this.rate));
  }

  /** Silences channel `ch` in frames [from, to). */
  #erase(ch: number, from: number, to: number): void {
    for (let i = from; i < to; i++) this.#ring[2 * (i % this.#cap) + ch] = 0;
  }

  /** Hands frames [flushed, target) to the file and clears their slots for reuse. */
  #flushTo(target: number): void {
    const from = this.#flushed;
    if (target <= from) return;
    const out = Buffer.allocUnsafe(4 * (target - from));
    const cap = this.#cap;
    for (let i = from, o = 0; i < target; i++, o += 4) {
      const slot = 2 * (i % cap);
      out.writeInt16LE(this.#ring[slot]!, o);
      out.writeInt16LE(this.#ring[slot + 1]!, o + 2);
      this.#ring[slot] = 0;
      this.#ring[slot + 1] = 0;
    }
    this.#file.write(4 * from, out);
    this.#flushed = target;
  }

  /** Writes what is held and finishes the file; resolves with its data bytes, or null if it failed. Idempotent. */
  close(): Promise<number | null> {
    if (this.#closed === null) {
      this.#flushTo(Math.max(this.#end[0]!, this.#end[1]!));
      this.#resampler?.close();
      this.#closed = this.#file.finish();
    }
    return this.#closed;
  }
}
