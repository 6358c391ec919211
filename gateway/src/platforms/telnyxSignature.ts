import { createPublicKey, verify } from 'node:crypto';

/** telnyx-signature-ed25519, the Ed25519 signature Telnyx puts on every webhook request. */

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 raw key bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Checks a Telnyx webhook: the Ed25519 signature (base64, header `telnyx-signature-ed25519`)
 * over `${telnyx-timestamp}|${raw body}`, with the account's public key (base64 of the raw 32
 * bytes, from the portal), and a timestamp within `toleranceS` of now (replays).
 * https://developers.telnyx.com/docs/development/api-fundamentals/webhooks
 */
export function verifyTelnyxSignature(
  publicKeyB64: string,
  signatureB64: string | undefined,
  timestamp: string | undefined,
  rawBody: string | Uint8Array,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = 300,
): boolean {
  if (signatureB64 === undefined || timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowS - Number(timestamp)) > toleranceS) return false;
  const raw = Buffer.from(publicKeyB64, 'base64');
  const sig = Buffer.from(signatureB64, 'base64');
  if (raw.length !== 32 || sig.length !== 64) return false;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
    const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody;
    return verify(null, Buffer.concat([Buffer.from(`${timestamp}|`, 'utf8'), body]), key, sig);
  } catch {
    return false;
  }
}
