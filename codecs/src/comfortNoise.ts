/**
 * RFC 3389 §3 comfort-noise payload: one byte of noise level, then optional spectral
 * coefficients (ignored here).
 *
 *     0 1 2 3 4 5 6 7
 *    +-+-+-+-+-+-+-+-+
 *    |0|   level     |
 *    +-+-+-+-+-+-+-+-+
 *
 * The level is −dBov, 0..127: 0 dBov is a full-scale square wave in the codec's range (±8031 of
 * µ-law's 14 bits, ±4096 of A-law's 13), which is 0 dBFS of 16-bit PCM within 0.2 dB.
 */

/** The noise level a comfort-noise packet states, dBov (0 to −127), or null for an empty payload. */
export function comfortNoiseLevel(payload: Uint8Array): number | null {
  // §3: the first bit is reserved (0); a sender that sets it still means the level in the rest
  return payload.length === 0 ? null : 0 - (payload[0]! & 0x7f);
}
