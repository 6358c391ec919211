import { SequenceUnwrapper } from '../../../codecs/src/index.js';

/**
 * Puts RTP packets of one SSRC back in sequence order within a small window and reports gaps
 * as losses, without a playout delay: an in-order packet is delivered at once; a packet after a
 * gap waits until either the gap fills, `window` newer packets have arrived, or the gap is
 * older than `maxWaitMs` (checked by `flushStale`, driven by the playout clock).
 *
 * The consumer is a machine (the agent's STT/VAD), not an ear, so there is no jitter buffer:
 * delivery timing follows arrival.
 */
export interface ReorderSink {
  /** A packet in order. `payload` may be borrowed: valid during this call only. */
  packet(payloadType: number, timestamp: number, payload: Uint8Array, arrivalMs: number, marker: boolean): void;
  /**
   * `count` consecutive packets were lost just before the next one delivered, whose payload type
   * and marker bit are given: what follows a gap says whether the gap lay in a silence (RFC 3551
   * §4.1: the first packet of a talkspurt is marked; RFC 3389 comfort noise fills a silence).
   */
  lost(count: number, nextPayloadType: number, nextMarker: boolean): void;
}

interface Held {
  payloadType: number;
  timestamp: number;
  payload: Uint8Array;
  arrivalMs: number;
  marker: boolean;
}

export type ReorderVerdict = 'ok' | 'late' | 'duplicate' | 'resync';

export class Reorderer {
  readonly #unwrap = new SequenceUnwrapper();
  readonly #held = new Map<number, Held>();
  readonly #sink: ReorderSink;
  readonly #window: number;
  readonly #maxWaitMs: number;
  /** longest gap, in packets, that is concealed; a larger jump is a resync (source restart) */
  readonly #maxConceal: number;
  #next = -1;
  #oldestHeldMs = Infinity;
  /** packets lost so far */
  lostTotal = 0;

  constructor(sink: ReorderSink, opts: { window?: number; maxWaitMs?: number; maxConceal?: number } = {}) {
    this.#sink = sink;
    this.#window = opts.window ?? 3;
    this.#maxWaitMs = opts.maxWaitMs ?? 60;
    this.#maxConceal = opts.maxConceal ?? 50;
  }

  /** Number of packets held waiting for a gap to fill. */
  get held(): number {
    return this.#held.size;
  }

  push(seq: number, payloadType: number, timestamp: number, payload: Uint8Array, arrivalMs: number, marker: boolean): ReorderVerdict {
    const ext = this.#unwrap.unwrap(seq);
    if (this.#next < 0) this.#next = ext;
    const ahead = ext - this.#next;
    if (ahead === 0) {
      this.#next++;
      this.#sink.packet(payloadType, timestamp, payload, arrivalMs, marker);
      this.#drain();
      return 'ok';
    }
    if (ahead < 0) return this.#held.has(ext) ? 'duplicate' : 'late';
    if (ahead > this.#maxConceal) {
      // A jump this large is a restarted or switched source, not loss: deliver what is held,
      // then continue from here without concealing the jump.
      this.#flushHeld();
      this.#next = ext + 1;
      this.#sink.packet(payloadType, timestamp, payload, arrivalMs, marker);
      return 'resync';
    }
    if (this.#held.has(ext)) return 'duplicate';
    // Borrowed payloads (uWS) must be copied before they are kept.
    this.#held.set(ext, { payloadType, timestamp, payload: payload.slice(), arrivalMs, marker });
    if (arrivalMs < this.#oldestHeldMs) this.#oldestHeldMs = arrivalMs;
    if (ahead >= this.#window) this.#skipGap();
    return 'ok';
  }

  /** Declares the current gap lost if its first held packet has waited longer than maxWaitMs. */
  flushStale(nowMs: number): void {
    if (this.#held.size > 0 && nowMs - this.#oldestHeldMs >= this.#maxWaitMs) this.#skipGap();
  }

  /** Forget everything (e.g. SSRC change). */
  reset(): void {
    this.#held.clear();
    this.#unwrap.reset();
    this.#next = -1;
    this.#oldestHeldMs = Infinity;
  }

  #skipGap(): void {
    let first = Infinity;
    for (const k of this.#held.keys()) if (k < first) first = k;
    const gap = first - this.#next;
    if (gap > 0) {
      this.lostTotal += gap;
      const next = this.#held.get(first)!;
      this.#sink.lost(gap, next.payloadType, next.marker);
    }
    this.#next = first;
    this.#drain();
  }

  /** Delivers every held packet in order, gaps unconcealed. */
  #flushHeld(): void {
    const keys = [...this.#held.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      const h = this.#held.get(k)!;
      this.#sink.packet(h.payloadType, h.timestamp, h.payload, h.arrivalMs, h.marker);
    }
    this.#held.clear();
    this.#oldestHeldMs = Infinity;
  }

  #drain(): void {
    if (this.#held.size === 0) return;
    let h = this.#held.get(this.#next);
    while (h !== undefined) {
      this.#held.delete(this.#next);
      this.#next++;
      this.#sink.packet(h.payloadType, h.timestamp, h.payload, h.arrivalMs, h.marker);
      h = this.#held.get(this.#next);
    }
    this.#oldestHeldMs = Infinity;
    for (const v of this.#held.values()) if (v.arrivalMs < this.#oldestHeldMs) this.#oldestHeldMs = v.arrivalMs;
  }
}
