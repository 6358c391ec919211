import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { SipError } from './errors.js';
import { splitOutside } from './message.js';

/** Algorithms of RFC 8760 §2 we speak (SHA-512-256 is not in node:crypto under that name). */
export type DigestAlgorithm = 'MD5' | 'SHA-256';

const HASH: Readonly<Record<string, string>> = { md5: 'md5', 'sha-256': 'sha256', 'md5-sess': 'md5', 'sha-256-sess': 'sha256' };

function h(hash: string, s: string): string {
  return createHash(hash).update(s, 'utf8').digest('hex');
}

/** `Digest a=b, c="d"` → Map (names lower-cased, quotes and escapes removed). */
export function parseDigestParams(value: string): Map<string, string> {
  const m = /^\s*Digest\s+(.*)$/is.exec(value);
  if (m === null) throw new SipError('SIP_BAD_AUTH', 'not a Digest header');
  const params = new Map<string, string>();
  for (const part of splitOutside(m[1]!, ',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    let v = part.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    params.set(part.slice(0, eq).trim().toLowerCase(), v);
  }
  return params;
}

export interface DigestInput {
  algorithm: string;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  uri: string;
  /** 'auth' or undefined (RFC 2069 compatibility: no qop, no cnonce, no nc). */
  qop: 'auth' | undefined;
  cnonce: string;
  /** Nonce count, 8 hex digits. */
  nc: string;
}

/** The `response` value of RFC 7616 §3.4.1 (qop=auth, or none), lower-case hex. */
export function digestResponse(d: DigestInput): string {
  const alg = d.algorithm.toLowerCase();
  const hash = HASH[alg];
  if (hash === undefined) throw new SipError('SIP_BAD_AUTH', `algorithm ${d.algorithm}`);
  let ha1 = h(hash, `${d.username}:${d.realm}:${d.password}`);
  if (alg.endsWith('-sess')) ha1 = h(hash, `${ha1}:${d.nonce}:${d.cnonce}`);
  const ha2 = h(hash, `${d.method}:${d.uri}`);
  return d.qop === undefined ? h(hash, `${ha1}:${d.nonce}:${ha2}`) : h(hash, `${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`);
}

/** Header names of a challenge and its answer: 401 ↔ WWW-/Authorization, 407 ↔ Proxy- (RFC 3261 §22). */
export function authHeaderNames(status: 401 | 407): { challenge: string; credentials: string } {
  return status === 401
    ? { challenge: 'www-authenticate', credentials: 'authorization' }
    : { challenge: 'proxy-authenticate', credentials: 'proxy-authorization' };
}

/**
 * Client side: answers the best of the offered challenges (SHA-256 before MD5, RFC 8760 §2.4) with
 * an Authorization / Proxy-Authorization value. Throws SIP_BAD_AUTH when none is usable.
 */
export function answerChallenge(
  challenges: readonly string[],
  creds: { username: string; password: string; method: string; uri: string; cnonce?: string; nc?: number },
): string {
  let best: Map<string, string> | undefined;
  let bestRank = -1;
  for (const c of challenges) {
    let p: Map<string, string>;
    try {
      p = parseDigestParams(c);
    } catch {
      continue;
    }
    const rank = ['md5', 'md5-sess', 'sha-256', 'sha-256-sess'].indexOf((p.get('algorithm') ?? 'MD5').toLowerCase());
    if (rank > bestRank && p.has('realm') && p.has('nonce')) [best, bestRank] = [p, rank];
  }
  if (best === undefined) throw new SipError('SIP_BAD_AUTH', 'no usable digest challenge');
  const qops = (best.get('qop') ?? '').split(',').map((s) => s.trim().toLowerCase());
  const qop = qops.includes('auth') ? 'auth' : undefined;
  if (qop === undefined && best.has('qop')) throw new SipError('SIP_BAD_AUTH', 'only qop=auth-int offered');
  const algorithm = best.get('algorithm') ?? 'MD5';
  const input: DigestInput = {
    algorithm,
    username: creds.username,
    password: creds.password,
    realm: best.get('realm')!,
    nonce: best.get('nonce')!,
    method: creds.method,
    uri: creds.uri,
    qop,
    cnonce: creds.cnonce ?? randomBytes(12).toString('base64url'),
    nc: (creds.nc ?? 1).toString(16).padStart(8, '0'),
  };
  const q = (s: string): string => `"${s.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${q(input.username)}`,
    `realm=${q(input.realm)}`,
    `nonce=${q(input.nonce)}`,
    `uri=${q(input.uri)}`,
    `response=${q(digestResponse(input))}`,
    `algorithm=${algorithm}`,
  ];
  if (qop !== undefined) parts.push(`qop=${qop}`, `nc=${input.nc}`, `cnonce=${q(input.cnonce)}`);
  const opaque = best.get('opaque');
  if (opaque !== undefined) parts.push(`opaque=${q(opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

export interface DigestServerOptions {
  realm: string;
  /** HMAC key for nonces; keep it across restarts (and instances) so issued nonces stay valid. */
  secret: string | Buffer;
  /** How long a nonce is fresh, in ms (default 300 000); after that a right answer is `stale`. */
  nonceTtlMs?: number;
  /** Offered in this order of preference (default SHA-256 then MD5, RFC 8760 §2.4). */
  algorithms?: readonly DigestAlgorithm[];
  /** Clock in ms (tests). */
  now?: () => number;
}

/** `ok`; `stale`: right password, expired nonce (challenge again with stale=true); else missing/invalid. */
export type DigestVerdict = { result: 'ok'; username: string } | { result: 'stale' | 'missing' | 'invalid' };

/**
 * Server side, stateless: the nonce is `timestamp.HMAC(secret, timestamp:realm)`, so any instance
 * holding the secret can verify it and no table of issued nonces is kept. The price: a replay of a
 * captured Authorization within the nonce lifetime is not detected (that needs nc tracking).
 */
export class DigestServer {
  readonly #realm: string;
  readonly #secret: string | Buffer;
  readonly #ttl: number;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #now: () => number;

  constructor(opts: DigestServerOptions) {
    this.#realm = opts.realm;
    this.#secret = opts.secret;
    this.#ttl = opts.nonceTtlMs ?? 300_000;
    this.#algorithms = opts.algorithms ?? ['SHA-256', 'MD5'];
    this.#now = opts.now ?? Date.now;
  }

  get realm(): string {
    return this.#realm;
  }

  #mac(ts: string): string {
    return createHmac('sha256', this.#secret).update(`${ts}:${this.#realm}`).digest('base64url').slice(0, 22);
  }

  nonce(): string {
    const ts = this.#now().toString(16);
    return `${ts}.${this.#mac(ts)}`;
  }

  /** One WWW-Authenticate / Proxy-Authenticate value per algorithm (RFC 8760 §2.4). */
  challenge(stale = false): string[] {
    const nonce = this.nonce();
    return this.#algorithms.map(
      (alg) => `Digest realm="${this.#realm}", nonce="${nonce}", algorithm=${alg}, qop="auth"${stale ? ', stale=true' : ''}`,
    );
  }

  /**
   * Checks an Authorization / Proxy-Authorization value for `method`. `passwordOf` returns the
   * user's password for this realm, or undefined for an unknown user.
   */
  verify(header: string | undefined, method: string, passwordOf: (username: string, realm: string) => string | undefined): DigestVerdict {
    if (header === undefined) return { result: 'missing' };
    let p: Map<string, string>;
    try {
      p = parseDigestParams(header);
    } catch {
      return { result: 'invalid' };
    }
    const [username, realm, nonce, uri, response] = ['username', 'realm', 'nonce', 'uri', 'response'].map((k) => p.get(k));
    const algorithm = p.get('algorithm') ?? 'MD5';
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined || realm !== this.#realm) {
      return { result: 'invalid' };
    }
    if (!this.#algorithms.some((a) => a.toLowerCase() === algorithm.toLowerCase())) return { result: 'invalid' };
    const dot = nonce.indexOf('.');
    const ts = nonce.slice(0, dot);
    if (dot <= 0 || !/^[0-9a-f]{1,13}$/.test(ts) || !safeEqual(nonce.slice(dot + 1), this.#mac(ts))) return { result: 'invalid' };
    const password = passwordOf(username, realm);
    if (password === undefined) return { result: 'invalid' };
    const qop = p.get('qop');
    if (qop !== undefined && qop !== 'auth') return { result: 'invalid' };
    const expected = digestResponse({
      algorithm,
      username,
      password,
      realm,
      nonce,
      method,
      uri,
      qop,
      cnonce: p.get('cnonce') ?? '',
      nc: p.get('nc') ?? '',
    });
    if (!safeEqual(response.toLowerCase(), expected)) return { result: 'invalid' };
    // RFC 7616 §3.3: stale when the answer is right but the nonce is too old.
    const age = this.#now() - parseInt(ts, 16);
    if (age < 0 || age > this.#ttl) return { result: 'stale' };
    return { result: 'ok', username };
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
