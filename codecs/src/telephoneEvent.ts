import { CodecError } from './errors.js';

/**
 * RFC 4733 §2.3 telephone-event payload (DTMF named events, §3.2):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     event     |E|R| volume    |          duration             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export const TELEPHONE_EVENT_SIZE = 4;

export interface TelephoneEvent {
  /** 0–9 digits, 10 '*', 11 '#', 12–15 'A'–'D', 16 flash (§3.2) */
  event: number;
  /** E bit: this is the last packet of the event */
  end: boolean;
  /** power level in −dBm0, 0..63 */
  volume: number;
  /** in timestamp units (clock rate of the stream, 8000 Hz for narrowband) */
  duration: number;
}

const DIGITS = '0123456789*#ABCD';

/** The DTMF character of an event code, or null for non-DTMF events (e.g. flash). */
export function dtmfDigit(event: number): string | null {
  return event >= 0 && event < 16 ? DIGITS[event]! : null;
}

/** The event code of a DTMF character (case-insensitive), or null. */
export function dtmfEvent(digit: string): number | null {
  const i = DIGITS.indexOf(digit.toUpperCase());
  return i >= 0 && digit.length === 1 ? i : null;
}

/*
 * The fields of a payload read in place, for a receiver that allocates nothing per packet; the
 * payload is at least TELEPHONE_EVENT_SIZE bytes (the caller checks: parseTelephoneEvent throws).
 */
/** The event code (§3.2). */
export function telephoneEventCode(payload: Uint8Array): number {
  return payload[0]!;
}
/** The E bit: the event's last packet (repeated three times, §2.5.1.4). */
export function telephoneEventEnd(payload: Uint8Array): boolean {
  return (payload[1]! & 0x80) !== 0;
}
/** The duration so far, in timestamp units (§2.5.1.3). */
export function telephoneEventDuration(payload: Uint8Array): number {
  return (payload[2]! << 8) | payload[3]!;
}

/**
 * @throws {CodecError} DTMF_TRUNCATED when shorter than 4 bytes.
 */
export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent {
  if (payload.length < TELEPHONE_EVENT_SIZE) {
    throw new CodecError('DTMF_TRUNCATED', `telephone-event payload is ${payload.length} bytes, needs 4`);
  }
  return {
    event: telephoneEventCode(payload),
    end: telephoneEventEnd(payload),
    volume: payload[1]! & 0x3f,
    duration: telephoneEventDuration(payload),
  };
}

/** Writes the 4-byte payload into `dst` at `offset`; returns 4. R bit is always 0 (§2.3). */
export function writeTelephoneEvent(dst: Uint8Array, offset: number, ev: TelephoneEvent): number {
  if (offset + TELEPHONE_EVENT_SIZE > dst.length) throw new RangeError('telephone-event needs 4 bytes');
  dst[offset] = ev.event & 0xff;
  dst[offset + 1] = (ev.end ? 0x80 : 0) | (ev.volume & 0x3f);
  dst[offset + 2] = (ev.duration >>> 8) & 0xff;
  dst[offset + 3] = ev.duration & 0xff;
  return TELEPHONE_EVENT_SIZE;
}
