import {
  dtmfDigit,
  TELEPHONE_EVENT_SIZE,
  telephoneEventCode,
  telephoneEventDuration,
  telephoneEventEnd,
} from '../../../codecs/src/index.js';
import type { GatewayErrorCode } from '../errors.js';
import { TokenBucket } from '../rateLimit.js';

/** Caller digits passed on: 10/s sustained (Q.24 tones of 40 ms + 40 ms pauses allow 12.5), 20 at once. */
const DTMF_PER_SECOND = 10;
const DTMF_BURST = 20;

export interface DtmfReceiverEvents {
  /** A digit the caller pressed, and how long (ms). */
  digit(digit: string, durationMs: number): void;
  drop(code: GatewayErrorCode): void;
}

/**
 * The caller's keypad, for one call: RFC 4733 telephone-events from the stream, each digit taken
 * once, and digits an edge reports out of band. No one presses more than ~10 keys a second: a
 * flood of digits is dropped (EDGE_FLOOD), not passed on.
 */
export class DtmfReceiver {
  readonly #budget = new TokenBucket(DTMF_PER_SECOND, DTMF_BURST);
  readonly #clockRate: number;
  readonly #now: () => number;
  readonly #ev: DtmfReceiverEvents;
  #lastTs = -1;

  /** `clockRate`: the stream's (telephone-event is negotiated at the codec's rate), Hz. */
  constructor(clockRate: number, now: () => number, events: DtmfReceiverEvents) {
    this.#clockRate = clockRate;
    this.#now = now;
    this.#ev = events;
  }

  /** RFC 4733 §2.5.1.3–4: a digit is reported once, on its first end packet (ends are repeated). */
  event(ts: number, payload: Uint8Array): void {
    if (payload.length < TELEPHONE_EVENT_SIZE) return this.#ev.drop('DTMF_TRUNCATED');
    if (!telephoneEventEnd(payload) || ts === this.#lastTs) return;
    this.#lastTs = ts;
    const digit = dtmfDigit(telephoneEventCode(payload));
    if (digit === null) return;
    this.digit(digit, Math.round((1000 * telephoneEventDuration(payload)) / this.#clockRate));
  }

  /** A digit, from the stream or out of band (an edge's own message), within the budget. */
  digit(digit: string, durationMs: number): void {
    if (!this.#budget.take(this.#now())) return this.#ev.drop('EDGE_FLOOD');
    this.#ev.digit(digit, durationMs);
  }
}
