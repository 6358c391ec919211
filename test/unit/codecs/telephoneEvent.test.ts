import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, dtmfDigit, dtmfEvent, parseTelephoneEvent, writeTelephoneEvent } from '../../../codecs/src/index.js';

describe('RFC 4733 telephone-event', () => {
  it('parses an end packet of digit 5 (RFC 4733 §2.3 layout)', () => {
    // event 5 | E=1, R=0, volume 10 | duration 800 (100 ms at 8 kHz)
    const ev = parseTelephoneEvent(Uint8Array.of(0x05, 0x8a, 0x03, 0x20));
    expect(ev).toEqual({ event: 5, end: true, volume: 10, duration: 800 });
    expect(dtmfDigit(ev.event)).toBe('5');
  });

  it('maps all 16 DTMF events to characters and back (§3.2)', () => {
    expect([...Array(16).keys()].map((e) => dtmfDigit(e)).join('')).toBe('0123456789*#ABCD');
    for (const d of '0123456789*#ABCDabcd') expect(dtmfDigit(dtmfEvent(d)!)).toBe(d.toUpperCase());
    expect(dtmfDigit(16)).toBeNull(); // flash
    expect(dtmfEvent('x')).toBeNull();
    expect(dtmfEvent('12')).toBeNull();
  });

  it('round-trips any event (property) and rejects truncated payloads', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: 0xffff }),
        (event, end, volume, duration) => {
          const buf = new Uint8Array(4);
          writeTelephoneEvent(buf, 0, { event, end, volume, duration });
          expect(parseTelephoneEvent(buf)).toEqual({ event, end, volume, duration });
        },
      ),
    );
    expect(() => parseTelephoneEvent(Uint8Array.of(1, 2, 3))).toThrow(CodecError);
  });
});
