import { timingSafeEqual } from 'node:crypto';
import type { GatewayErrorCode } from '../errors.js';

/**
 * Shared plumbing of the platform wire modules: typed parse results, strict field readers,
 * base64 and size checks, XML escaping and constant-time comparison. The vendor modules
 * (twilio.ts, plivo.ts, …) hold only their message shapes.
 */

/** The error codes a parser reports: a malformed message, or one larger than we accept. */
export type WireErrorCode = Extract<GatewayErrorCode, 'CONTROL_INVALID' | 'FRAME_TOO_LARGE'>;

export interface WireError {
  readonly ok: false;
  readonly code: WireErrorCode;
  readonly reason: string;
}

export type Parsed<T> = { readonly ok: true; readonly msg: T } | WireError;

/**
 * Largest base64 media payload accepted in one JSON message: 512 Ki characters = 384 KiB of
 * audio (48 s of µ-law 8 kHz, 12 s of L16 16 kHz). Vendors allow "any size" (Twilio) or up to
 * 100 KB (Exotel); the cap only bounds what one message can make us allocate.
 */
export const MAX_PAYLOAD_CHARS = 512 * 1024;

/** Largest text frame parsed as JSON (a maximal payload plus its envelope). */
export const MAX_TEXT_CHARS = MAX_PAYLOAD_CHARS + 4096;

/** Thrown by the readers below; converted to a WireError by `parseWith`, never escapes. */
class Bad extends Error {
  constructor(
    readonly code: WireErrorCode,
    reason: string,
  ) {
    super(reason);
  }
}

export function fail(reason: string, code: WireErrorCode = 'CONTROL_INVALID'): WireError {
  return { ok: false, code, reason };
}

/** Runs a reader-based parser; any reader failure becomes a typed error, nothing throws. */
export function parseWith<T>(fn: () => T): Parsed<T> {
  try {
    return { ok: true, msg: fn() };
  } catch (e) {
    if (e instanceof Bad) return fail(e.message, e.code);
    return fail(e instanceof Error ? e.message : 'unparseable message');
  }
}

/** Parses one text frame as JSON, bounded in size. */
export function parseJsonText(text: string, maxChars = MAX_TEXT_CHARS): Parsed<unknown> {
  if (text.length > maxChars) return fail(`text frame of ${text.length} chars exceeds ${maxChars}`, 'FRAME_TOO_LARGE');
  try {
    return { ok: true, msg: JSON.parse(text) as unknown };
  } catch {
    return fail('text frame is not JSON');
  }
}

export type Obj = Readonly<Record<string, unknown>>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function rec(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new Bad('CONTROL_INVALID', `${path} must be an object`);
  return v;
}

export function str(o: Obj, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new Bad('CONTROL_INVALID', `${path}.${key} must be a string`);
  return v;
}

export function optStr(o: Obj, key: string, path: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : str(o, key, path);
}

/** A decimal integer carried as a string ("all numbers are strings" in Twilio's protocol). */
export function intStr(o: Obj, key: string, path: string): string {
  const v = str(o, key, path);
  if (!/^\d{1,15}$/.test(v)) throw new Bad('CONTROL_INVALID', `${path}.${key} must be a decimal string`);
  return v;
}

export function int(o: Obj, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Bad('CONTROL_INVALID', `${path}.${key} must be an integer`);
  return v;
}

export function oneOf<const T extends string>(o: Obj, key: string, path: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new Bad('CONTROL_INVALID', `${path}.${key} must be one of ${values.join(', ')}`);
  }
  return v as T;
}

export function strArray(o: Obj, key: string, path: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new Bad('CONTROL_INVALID', `${path}.${key} must be a string array`);
  return v;
}

/** An object of string values (Twilio customParameters, Telnyx custom_parameters). */
export function strRecord(o: Obj, key: string, path: string): Record<string, string> {
  const v = rec(o[key], `${path}.${key}`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string') throw new Bad('CONTROL_INVALID', `${path}.${key}.${k} must be a string`);
    out[k] = x;
  }
  return out;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A base64 audio payload: canonical alphabet and padding (Node's decoder would silently skip
 * garbage), at most MAX_PAYLOAD_CHARS, and a whole number of `sampleBytes`-byte samples.
 */
export function b64(o: Obj, key: string, path: string, sampleBytes: 1 | 2 = 1): string {
  const v = str(o, key, path);
  if (v.length > MAX_PAYLOAD_CHARS) throw new Bad('FRAME_TOO_LARGE', `${path}.${key} of ${v.length} chars exceeds ${MAX_PAYLOAD_CHARS}`);
  if (!B64.test(v)) throw new Bad('CONTROL_INVALID', `${path}.${key} is not base64`);
  if (b64Bytes(v) % sampleBytes !== 0) throw new Bad('CONTROL_INVALID', `${path}.${key} holds a partial 16-bit sample`);
  return v;
}

/** Decoded length of canonical base64, without decoding. */
export function b64Bytes(s: string): number {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - pad;
}

/** A value for an error message (JSON.stringify(undefined) is undefined, not a string). */
export function show(v: unknown): string {
  return v === undefined ? 'undefined' : JSON.stringify(v);
}

export function bad(reason: string): never {
  throw new Bad('CONTROL_INVALID', reason);
}

/** One DTMF key as the vendors spell it (RFC 4733 events 0-15). */
export function dtmfDigit(d: string): string {
  return /^[0-9*#A-D]$/.test(d) ? d : bad(`dtmf digit ${JSON.stringify(d)} is not one of 0-9 * # A-D`);
}

/** The `event` (or other discriminator) of a message, for the dispatching switch. */
export function tag(json: unknown, key = 'event'): { readonly m: Obj; readonly t: unknown } {
  const m = rec(json, 'message');
  return { m, t: m[key] };
}

export function unknownTag(t: unknown, key = 'event'): never {
  throw new Bad('CONTROL_INVALID', `unknown ${key} ${show(t)}`);
}

// ---------------------------------------------------------------------------------------------
// XML (TwiML, Plivo XML, TeXML). https://www.w3.org/TR/xml/#charsets, #AVNormalize

export const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';

/** Characters XML 1.0 cannot carry at all, escaped or not. */
const XML_INVALID =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function xmlCheck(s: string): void {
  if (XML_INVALID.test(s)) throw new RangeError('value contains a character XML 1.0 cannot represent');
}

/** Escapes an attribute value (double-quoted). Tab/CR/LF become references so that attribute
 *  normalization does not turn them into spaces. Throws RangeError on unrepresentable chars. */
export function xmlAttr(s: string): string {
  xmlCheck(s);
  return s.replace(/[&<>"'\t\n\r]/g, (c) => XML_ENTITY[c] ?? c);
}

/** Escapes element text. Throws RangeError on unrepresentable chars. */
export function xmlText(s: string): string {
  xmlCheck(s);
  return s.replace(/[&<>]/g, (c) => XML_ENTITY[c] ?? c);
}

const XML_ENTITY: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

// ---------------------------------------------------------------------------------------------
// Signatures

/** Constant-time string equality (the length of a wrong guess may leak; its content does not). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** scheme://authority, path and the raw query of a URL string, without any normalization
 *  (WHATWG URL would re-encode the query and drop default ports, and signatures cover the
 *  string as the vendor saw it). Null if it is not an http(s) URL. */
export function splitUrl(url: string): {
  readonly scheme: string;
  readonly userinfo: string;
  readonly host: string;
  readonly port: string;
  readonly path: string;
  readonly query: string;
} | null {
  const m = /^(https?):\/\/([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(?::(\d*))?([^?#]*)(?:\?([^#]*))?(?:#.*)?$/i.exec(url);
  if (!m) return null;
  return { scheme: m[1]!, userinfo: m[2] ?? '', host: m[3]!, port: m[4] ?? '', path: m[5]!, query: m[6] ?? '' };
}
