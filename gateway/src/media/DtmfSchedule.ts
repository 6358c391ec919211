import { dtmfEvent } from '../../../codecs/src/index.js';
import { FRAME_MS } from './PlayoutClock.js';

/** RFC 4733 §2.5: event duration and the pause after it, ms. */
const DTMF_TONE_MS = 100;
const DTMF_GAP_MS = 60;
/** §2.5.1.4: the final (E-bit) packet is sent three times for robustness. */
const DTMF_END_REPEATS = 3;

/** What one 20 ms slot of outbound DTMF holds: a tone packet, or the silent pause between digits. */
export interface DtmfSlot {
  tone: boolean;
  /** tone: RFC 4733 event code, ms of the tone so far, first packet of the event, end (E) bit */
  event: number;
  elapsedMs: number;
  first: boolean;
  end: boolean;
}

/**
 * The agent's digits as RFC 4733 §2.5.1 wants them on the 20 ms clock: one event per digit with a
 * growing duration, the end packet three times, then a 60 ms pause before the next digit.
 */
export class DtmfSchedule {
  readonly #digits: string[] = [];
  #state: { event: number; elapsedMs: number; endSent: number; gapMs: number } | null = null;
  readonly #slot: DtmfSlot = { tone: false, event: 0, elapsedMs: 0, first: false, end: false };

  /** Queues each DTMF character of `digits` (others are ignored); returns digits queued. */
  add(digits: string): number {
    let n = 0;
    for (const d of digits) {
      if (dtmfEvent(d) !== null) {
        this.#digits.push(d);
        n++;
      }
    }
    return n;
  }

  /** Whether DTMF owns the next slot (a digit is playing or waiting). */
  get active(): boolean {
    return this.#state !== null || this.#digits.length > 0;
  }

  /** The next slot (call only while `active`); the object is reused. */
  next(): DtmfSlot {
    const s = this.#slot;
    let st = this.#state;
    if (st === null) st = this.#state = { event: dtmfEvent(this.#digits.shift()!)!, elapsedMs: 0, endSent: 0, gapMs: 0 };
    if (st.endSent >= DTMF_END_REPEATS) {
      st.gapMs += FRAME_MS;
      if (st.gapMs >= DTMF_GAP_MS) this.#state = null;
      s.tone = false;
      return s;
    }
    st.elapsedMs = Math.min(st.elapsedMs + FRAME_MS, DTMF_TONE_MS);
    s.tone = true;
    s.end = st.elapsedMs >= DTMF_TONE_MS;
    if (s.end) st.endSent++;
    s.event = st.event;
    s.elapsedMs = st.elapsedMs;
    s.first = st.elapsedMs === FRAME_MS && st.endSent <= 1;
    return s;
  }
}
