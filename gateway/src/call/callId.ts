import { createHash, randomBytes } from 'node:crypto';

/**
 * Call ids that name the gateway instance holding the call, so any instance can send an API
 * request for a call to the one that has it, with no shared registry.
 *
 * An id is an RFC 4122 version-4 UUID (so CallSids and other dialects' ids derive from it as
 * before) whose last 12 hex digits (the 48-bit "node" field) are a stable hash of the instance
 * name: the first 48 bits of SHA-256(name). The other 74 bits are random, the version and variant
 * bits are kept.
 *
 *   3f2b9c41-7d0e-4a5b-9c3e-  5e1f0a7c2d94
 *   └──────── random (v4) ──┘ └─ instance ─┘
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-([0-9a-f]{12})$/i;

/** The 12-hex-digit tag an instance name puts in its call ids. */
export function instanceTag(instance: string): string {
  return createHash('sha256').update(instance, 'utf8').digest('hex').slice(0, 12);
}

/** A new call id for a call held by `instance` (a v4 UUID carrying the instance's tag). */
export function newCallId(instance: string, tag: string = instanceTag(instance)): string {
  const b = randomBytes(10);
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4
  b[8] = (b[8]! & 0x3f) | 0x80; // variant 10xx (RFC 4122)
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${tag}`;
}

/** The instance tag an id carries (lower case), or null when it is not UUID-shaped. */
export function instanceTagOf(id: string): string | null {
  const m = UUID.exec(id);
  return m === null ? null : m[1]!.toLowerCase();
}
