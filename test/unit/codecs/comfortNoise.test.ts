import { describe, expect, it } from 'vitest';
import { comfortNoiseLevel } from '../../../codecs/src/index.js';

describe('RFC 3389 comfort noise', () => {
  it('reads the noise level in −dBov from the first byte (§3)', () => {
    expect(comfortNoiseLevel(Uint8Array.of(70))).toBe(-70);
    expect(comfortNoiseLevel(Uint8Array.of(0))).toBe(0);
    expect(comfortNoiseLevel(Uint8Array.of(127))).toBe(-127);
    // spectral coefficients after it (§3.2) change nothing
    expect(comfortNoiseLevel(Uint8Array.of(45, 10, 200, 3))).toBe(-45);
  });

  it('ignores the reserved bit, and has no level in an empty payload', () => {
    expect(comfortNoiseLevel(Uint8Array.of(0x80 | 52))).toBe(-52);
    expect(comfortNoiseLevel(new Uint8Array(0))).toBeNull();
  });
});
