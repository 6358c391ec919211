import { createHash } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { dtmfDigit, isObj, parseWith, rec, str, tag, unknownTag, bad, type Parsed } from './wire.js';

/**
 * Vonage Voice API WebSocket, in both directions (agent dialect and edge). Text frames are JSON
 * control; binary frames are 16-bit little-endian PCM, 20 ms per message, at the rate the NCCO's
 * content-type names.
 * https://developer.vonage.com/en/voice/voice-api/concepts/websockets
 */

export type VonageRate = 8000 | 16000 | 24000;
export type VonageContentType = `audio/l16;rate=${VonageRate}`;

/** Bytes of one 20 ms binary frame at `rate` (640 at 16 kHz). */
export function vonageFrameBytes(rate: VonageRate): number {
  return (rate / 50) * 2;
}

/** The rate a content-type names, or null if it is not one Vonage offers. */
export function vonageRate(contentType: string): VonageRate | null {
  const m = /^audio\/l16;rate=(8000|16000|24000)$/.exec(contentType);
  return m ? (Number(m[1]) as VonageRate) : null;
}

// --- Vonage → customer (text) -------------------------------------------------------------------

/** First frame: the content-type, then the NCCO endpoint's `headers` spread at the top level. */
export type VonageConnected = Readonly<Record<string, unknown>> & {
  readonly event: 'websocket:connected';
  readonly 'content-type': VonageContentType;
};

export interface VonageDtmf {
  readonly event: 'websocket:dtmf';
  readonly digit: string;
  readonly duration: number;
}

/** Acknowledges a clear. */
export interface VonageCleared {
  readonly event: 'websocket:cleared';
}

/** A notify's payload, echoed once the audio queued before it has played (Vonage's mark). */
export interface VonageNotifyEcho {
  readonly event: 'websocket:notify';
  readonly payload: Readonly<Record<string, unknown>>;
}

export type VonageEvent = VonageConnected | VonageDtmf | VonageCleared | VonageNotifyEcho;

// --- customer → Vonage (text) -------------------------------------------------------------------

export interface VonageClear {
  readonly action: 'clear';
}

export interface VonageNotify {
  readonly action: 'notify';
  readonly payload: Readonly<Record<string, unknown>>;
}

export type VonageCommand = VonageClear | VonageNotify;

// --- parsers ------------------------------------------------------------------------------------

export function parseVonageEvent(json: unknown): Parsed<VonageEvent> {
  return parseWith((): VonageEvent => {
    const { m, t } = tag(json);
    switch (t) {
      case 'websocket:connected': {
        const ct = str(m, 'content-type', t);
        if (vonageRate(ct) === null) return bad(`content-type ${JSON.stringify(ct)} is not audio/l16 at 8000, 16000 or 24000`);
        return { ...m, event: t, 'content-type': ct as VonageContentType };
      }
      case 'websocket:dtmf': {
        // Seen both flat ({digit, duration}) and nested ({dtmf: {digit, duration}}).
        const d = isObj(m['dtmf']) ? m['dtmf'] : m;
        const duration = d['duration'] ?? 0;
        if (typeof duration !== 'number' || !(duration >= 0)) return bad('websocket:dtmf duration must be a number');
        return buildVonageDtmf(dtmfDigit(str(d, 'digit', t)), duration);
      }
      case 'websocket:cleared':
        return { event: t };
      case 'websocket:notify':
        return { event: t, payload: rec(m['payload'], 'websocket:notify.payload') };
      default:
        return unknownTag(t);
    }
  });
}

export function parseVonageCommand(json: unknown): Parsed<VonageCommand> {
  return parseWith((): VonageCommand => {
    const { m, t } = tag(json, 'action');
    switch (t) {
      case 'clear':
        return { action: t };
      case 'notify':
        return buildVonageNotify(rec(m['payload'] ?? {}, 'notify.payload'));
      default:
        return unknownTag(t, 'action');
    }
  });
}

// --- builders -------------------------------------------------------------------------------------

export function buildVonageConnected(rate: VonageRate, headers: Readonly<Record<string, unknown>> = {}): VonageConnected {
  return { event: 'websocket:connected', 'content-type': `audio/l16;rate=${rate}`, ...headers };
}

export function buildVonageDtmf(digit: string, durationMs: number): VonageDtmf {
  return { event: 'websocket:dtmf', digit, duration: durationMs };
}

export function buildVonageCleared(): VonageCleared {
  return { event: 'websocket:cleared' };
}

export function buildVonageNotifyEcho(payload: Readonly<Record<string, unknown>>): VonageNotifyEcho {
  return { event: 'websocket:notify', payload };
}

export function buildVonageClear(): VonageClear {
  return { action: 'clear' };
}

export function buildVonageNotify(payload: Readonly<Record<string, unknown>>): VonageNotify {
  return { action: 'notify', payload };
}

// --- NCCO answer --------------------------------------------------------------------------------

export interface VonageWebsocketEndpoint {
  readonly type: 'websocket';
  readonly uri: string;
  readonly 'content-type': VonageContentType;
  /** echoed in websocket:connected (the call's parameters) */
  readonly headers: Readonly<Record<string, unknown>>;
}

export type VonageNcco = readonly [{ readonly action: 'connect'; readonly endpoint: readonly [VonageWebsocketEndpoint] }];

/**
 * The answer NCCO: connect the call to a websocket endpoint.
 * https://developer.vonage.com/en/voice/voice-api/ncco-reference#connect
 */
export function buildVonageNcco(uri: string, rate: VonageRate = 16000, headers: Readonly<Record<string, unknown>> = {}): VonageNcco {
  return [{ action: 'connect', endpoint: [{ type: 'websocket', uri, 'content-type': `audio/l16;rate=${rate}`, headers }] }];
}

// --- signed webhooks ----------------------------------------------------------------------------

export type VonageJwtCheck = { readonly ok: true; readonly claims: JWTPayload } | { readonly ok: false; readonly reason: string };

/**
 * Checks a Vonage signed webhook: `Authorization: Bearer <JWT>`, HS256 with the account's
 * signature secret, issued within `maxAgeS`; when the token carries `payload_hash`, it must be
 * the hex SHA-256 of the raw body. Voice API signed webhooks are a Developer Preview, enabled
 * per application (signed_callbacks).
 * https://developer.vonage.com/en/getting-started/concepts/webhooks#decoding-signed-webhooks
 * https://developer.vonage.com/en/voice/voice-api/guides/signed-webhooks
 */
export async function verifyVonageSignedWebhook(
  authorization: string | undefined,
  signatureSecret: string,
  rawBody?: string | Uint8Array,
  maxAgeS = 300,
): Promise<VonageJwtCheck> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m) return { ok: false, reason: 'no Bearer JWT in Authorization' };
  if (signatureSecret === '') return { ok: false, reason: 'no signature secret configured' };
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(m[1]!, new TextEncoder().encode(signatureSecret), {
      algorithms: ['HS256'],
      maxTokenAge: maxAgeS,
    }));
  } catch (e) {
    return { ok: false, reason: e instanceof errors.JOSEError ? e.code : 'invalid JWT' };
  }
  const hash = claims['payload_hash'];
  if (rawBody !== undefined && hash !== undefined) {
    const actual = createHash('sha256').update(rawBody).digest('hex');
    if (typeof hash !== 'string' || hash.toLowerCase() !== actual) return { ok: false, reason: 'payload_hash does not match the body' };
  }
  return { ok: true, claims };
}
