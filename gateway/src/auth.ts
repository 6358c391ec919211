import { createHmac, timingSafeEqual } from 'node:crypto';
import { jwtVerify } from 'jose';
import { GatewayError } from './errors.js';

/**
 * Who may connect: when a secret is configured, every call-creating or call-attaching request
 * carries a JWT signed with it (HS256, RFC 7519 via `jose`), as `Authorization: Bearer <jwt>` or
 * `?token=<jwt>` (WebSocket clients in browsers cannot set headers). `exp` and `nbf` are honoured
 * when present; nothing else is required of the claims.
 */
export class Auth {
  readonly #key: Uint8Array;
  readonly #maxLifetimeS: number | null;

  /**
   * @param maxLifetimeS when set, tokens must carry `exp`, at most this many seconds after their
   *   `iat` (or after now, without one): a leaked token then stops working by itself
   */
  constructor(secret: string, maxLifetimeS: number | null = null) {
    this.#key = new TextEncoder().encode(secret);
    this.#maxLifetimeS = maxLifetimeS;
  }

  /**
   * The token of a request: `Authorization: Bearer`, then the `token` query parameter; with
   * `basic`, also Basic with the token as password (how Twilio REST clients send
   * AccountSid:AuthToken: only the Twilio-compatible hang-up takes it).
   */
  static tokenOf(authorization: string, query: string, basic = false): string | null {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (m) return m[1]!;
    const b = basic ? /^Basic\s+(\S+)$/i.exec(authorization) : null;
    if (b) {
      const pass = Buffer.from(b[1]!, 'base64').toString('utf8').split(':').slice(1).join(':');
      if (pass !== '') return pass;
    }
    const t = new URLSearchParams(query).get('token');
    return t === null || t === '' ? null : t;
  }

  /** Resolves when `token` is a valid JWT for this gateway; rejects with UNAUTHORIZED (401). */
  async verify(token: string | null): Promise<void> {
    if (token === null) throw new GatewayError('UNAUTHORIZED', 'a JWT is required (Authorization: Bearer, or ?token=)', { status: 401 });
    let payload: { exp?: number; iat?: number };
    try {
      ({ payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], clockTolerance: 5 }));
    } catch (err) {
      throw new GatewayError('UNAUTHORIZED', `invalid token: ${(err as Error).message}`, { status: 401 });
    }
    const max = this.#maxLifetimeS;
    if (max === null) return;
    if (payload.exp === undefined) throw new GatewayError('UNAUTHORIZED', 'invalid token: it must expire (exp)', { status: 401 });
    const from = payload.iat ?? Math.floor(Date.now() / 1000);
    if (payload.exp - from > max)
      throw new GatewayError('UNAUTHORIZED', `invalid token: it lives longer than AUTH_MAX_TOKEN_LIFETIME_S (${max} s)`, { status: 401 });
  }
}

/** Header on each agent dial-out when a secret is configured (in the spirit of X-Twilio-Signature). */
export const SIGNATURE_HEADER = 'x-gateway-signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<callId>.<url>")>`: the agent recomputes it
 * to know the dial came from its gateway, for this call and URL, recently (replays age out).
 */
export function signDial(secret: string, url: string, callId: string, nowSec = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${nowSec}.${callId}.${url}`).digest('hex');
  return `t=${nowSec},v1=${mac}`;
}

/** What an agent (in Node) runs to check a dial: signature, call and URL, and age ≤ `toleranceSec`. */
export function verifyDial(
  secret: string,
  header: string,
  url: string,
  callId: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  return verifySigned(header, toleranceSec, nowSec, (t) => signDial(secret, url, callId, t));
}

/** Checks a `t=…,v1=…` header against `sign(t)` in constant time, and its age. */
function verifySigned(header: string, toleranceSec: number, nowSec: number, sign: (t: number) => string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const want = Buffer.from(sign(t).slice(-64), 'hex');
  return timingSafeEqual(want, Buffer.from(m[2]!, 'hex'));
}

/**
 * The X-Gateway-Signature of an end-of-call report (api/eventsWebhook.ts): the dial-outs' format,
 * `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<url>.<body>")>`, over the exact body bytes,
 * so the receiver knows the report is ours, unaltered, for its URL, and recent.
 */
export function signReport(secret: string, url: string, body: string, nowSec = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${nowSec}.${url}.${body}`).digest('hex');
  return `t=${nowSec},v1=${mac}`;
}

/** What a report receiver (in Node) runs: signature over the body and URL, and age ≤ `toleranceSec`. */
export function verifyReport(
  secret: string,
  header: string,
  url: string,
  body: string,
  toleranceSec = 300,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  return verifySigned(header, toleranceSec, nowSec, (t) => signReport(secret, url, body, t));
}
