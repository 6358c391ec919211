import { SipError } from './errors.js';
import { splitOutside, TOKEN } from './headers.js';
import type { SipMessage } from './message.js';

/**
 * Structured header values: parameters, Via, name-addr (From, To, Contact, Route…) and CSeq,
 * parsed and formatted, plus the accessors that read them off a parsed message.
 */

/** `;a=b;c` → Map (a → b, c → null); names lower-cased, quotes kept on values. */
export function parseParams(s: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  for (const part of splitOutside(s, ';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq === -1) params.set(part.toLowerCase(), null);
    else params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return params;
}

export function formatParams(params: ReadonlyMap<string, string | null>): string {
  let s = '';
  for (const [k, v] of params) s += v === null ? `;${k}` : `;${k}=${v}`;
  return s;
}

export interface Via {
  /** UDP, TCP, TLS (upper case). */
  transport: string;
  host: string;
  port: number | undefined;
  params: Map<string, string | null>;
}

/** One Via value (RFC 3261 §20.42): `SIP/2.0/UDP host:port;branch=…;received=…;rport=…`. */
export function parseVia(value: string): Via {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z0-9-]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/i.exec(value);
  if (m === null) throw new SipError('SIP_MALFORMED', 'bad Via');
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && port > 65535) throw new SipError('SIP_MALFORMED', 'bad Via port');
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port, params: parseParams(m[4] ?? '') };
}

export function formatVia(via: Via): string {
  return `SIP/2.0/${via.transport} ${via.host}${via.port === undefined ? '' : `:${via.port}`}${formatParams(via.params)}`;
}

export interface NameAddr {
  displayName: string | undefined;
  /** The URI as written, without angle brackets. */
  uri: string;
  /** Header parameters (tag, expires, lr, …), not URI parameters. */
  params: Map<string, string | null>;
}

/**
 * From, To, Contact, Route, Record-Route, Refer-To (RFC 3261 §20.10): `"Name" <uri>;tag=x`,
 * `Name <uri>` or a bare `uri;tag=x` (whose `;` parameters are header parameters, §20.10).
 */
export function parseNameAddr(value: string): NameAddr {
  const v = value.trim();
  const lt = v.startsWith('"') ? v.indexOf('<', closingQuote(v) + 1) : v.indexOf('<');
  if (lt !== -1) {
    const gt = v.indexOf('>', lt);
    if (gt === -1) throw new SipError('SIP_MALFORMED', 'unclosed <');
    let name = v.slice(0, lt).trim();
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1).replace(/\\(.)/g, '$1');
    const uri = v.slice(lt + 1, gt).trim();
    if (uri === '') throw new SipError('SIP_MALFORMED', 'empty URI');
    return { displayName: name === '' ? undefined : name, uri, params: parseParams(v.slice(gt + 1)) };
  }
  if (v === '*') return { displayName: undefined, uri: '*', params: new Map() };
  const semi = v.indexOf(';');
  const uri = (semi === -1 ? v : v.slice(0, semi)).trim();
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(uri)) throw new SipError('SIP_MALFORMED', 'bad name-addr');
  return { displayName: undefined, uri, params: parseParams(semi === -1 ? '' : v.slice(semi)) };
}

function closingQuote(v: string): number {
  for (let i = 1; i < v.length; i++) {
    if (v[i] === '\\') i++;
    else if (v[i] === '"') return i;
  }
  throw new SipError('SIP_MALFORMED', 'unclosed quote');
}

export function formatNameAddr(na: NameAddr): string {
  const name = na.displayName === undefined ? '' : `"${na.displayName.replace(/(["\\])/g, '\\$1')}" `;
  return `${name}<${na.uri}>${formatParams(na.params)}`;
}

export interface CSeq {
  seq: number;
  method: string;
}

/** RFC 3261 §20.16: a 32-bit sequence number (we require < 2^31, §8.1.1.5) and the method. */
export function parseCSeq(value: string): CSeq {
  const m = /^(\d{1,10})\s+(\S+)$/.exec(value.trim());
  if (m === null || !TOKEN.test(m[2]!)) throw new SipError('SIP_MALFORMED', 'bad CSeq');
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) throw new SipError('SIP_MALFORMED', 'CSeq out of range');
  return { seq, method: m[2]! };
}

/** Top Via of a parsed message (validated at parse time, so it parses). */
export function topVia(msg: SipMessage): Via {
  return parseVia(msg.headers.get('via') ?? '');
}

export function cseqOf(msg: SipMessage): CSeq {
  return parseCSeq(msg.headers.get('cseq') ?? '');
}

export function callIdOf(msg: SipMessage): string {
  return msg.headers.get('call-id') ?? '';
}

export function tagOf(msg: SipMessage, header: 'from' | 'to'): string | undefined {
  return parseNameAddr(msg.headers.get(header) ?? '').params.get('tag') ?? undefined;
}

/** Max-Forwards (RFC 3261 §8.1.1.6); 70 when absent. */
export function maxForwardsOf(msg: SipMessage): number {
  const v = msg.headers.get('max-forwards');
  return v === undefined ? 70 : Number(v);
}
