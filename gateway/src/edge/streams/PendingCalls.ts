import { randomBytes } from 'node:crypto';
import type { Route } from '../../route.js';
import type { CpaasPlatform } from './protocol.js';

/** What an answer webhook learned of a call, kept until the platform's stream starts. */
export interface PendingCall {
  platform: CpaasPlatform;
  from: string;
  to: string;
  /** the platform's id of the call (CallSid, CallUUID, uuid), for logs */
  platformCallId: string;
  route: Route;
}

/** A stream must start within this long of its answer. */
const PENDING_TTL_MS = 60_000;
/** Answers whose streams never came are kept at most this many (the oldest go first). */
const MAX_PENDING = 10_000;

/**
 * Calls answered and not yet streaming, by the one-time token the answer put in the stream's
 * parameters. A stream without a live token is not a call of ours ("unknown call"): platform
 * streams carry no credentials of their own, and this is what ties one to a verified webhook.
 */
export class PendingCalls {
  readonly #calls = new Map<string, PendingCall & { expiresAt: number }>();

  /** Registers a call; returns its token (32 hex digits: alphanumeric, as Plivo's extraHeaders need). */
  issue(call: PendingCall, nowMs = Date.now()): string {
    for (const [token, c] of this.#calls) {
      if (c.expiresAt > nowMs && this.#calls.size < MAX_PENDING) break;
      this.#calls.delete(token); // Map order is insertion order: expired ones come first
    }
    const token = randomBytes(16).toString('hex');
    this.#calls.set(token, { ...call, expiresAt: nowMs + PENDING_TTL_MS });
    return token;
  }

  /** The call behind `token` on `platform`, once; null if unknown, used or expired. */
  take(platform: CpaasPlatform, token: string | null, nowMs = Date.now()): PendingCall | null {
    if (token === null) return null;
    const c = this.#calls.get(token);
    if (c === undefined || c.platform !== platform) return null;
    this.#calls.delete(token);
    return c.expiresAt > nowMs ? c : null;
  }

  get size(): number {
    return this.#calls.size;
  }
}
