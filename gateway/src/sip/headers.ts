/**
 * SIP header fields as stored: the case-insensitive, order-keeping `SipHeaders` container, the
 * compact and canonical spellings of header names, and the quote/bracket-aware splitter that
 * list headers and parameters share.
 */

/** RFC 3261 §7.3.3 compact forms (plus RFC 3515 r, RFC 4028 x), mapped to the long name. */
const COMPACT: Readonly<Record<string, string>> = {
  i: 'call-id',
  m: 'contact',
  e: 'content-encoding',
  l: 'content-length',
  c: 'content-type',
  f: 'from',
  s: 'subject',
  k: 'supported',
  t: 'to',
  v: 'via',
  o: 'event',
  u: 'allow-events',
  r: 'refer-to',
  x: 'session-expires',
};

/** Headers whose values are comma-separated lists (RFC 3261 §7.3.1), stored one value each. */
export const LIST_HEADERS = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'allow',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-encoding',
  'allow-events',
  'path',
]);

/** Spellings that title case would get wrong. */
const CANONICAL: Readonly<Record<string, string>> = {
  'call-id': 'Call-ID',
  cseq: 'CSeq',
  'www-authenticate': 'WWW-Authenticate',
  'mime-version': 'MIME-Version',
  rack: 'RAck',
  rseq: 'RSeq',
};

/** RFC 3261 §25.1 token: header names, methods. */
export const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

function longName(name: string): string {
  const lower = name.toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** Wire spelling of a lower-case long header name (Call-ID, CSeq, Content-Type, …). */
export function canonicalName(lower: string): string {
  return CANONICAL[lower] ?? lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Splits on `sep` outside double quotes and angle brackets (RFC 3261 §25.1: a quoted display name
 * or a bracketed URI may hold commas and semicolons). Backslash escapes inside quotes are honoured.
 */
export function splitOutside(value: string, sep: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (quoted) {
      if (ch === '\\') i++;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === '<') angle = true;
    else if (ch === '>') angle = false;
    else if (ch === sep && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out;
}

/** Case-insensitive header fields, compact forms folded into long names; insertion order kept. */
export class SipHeaders {
  #map = new Map<string, string[]>();

  /** First value of a header, or undefined. */
  get(name: string): string | undefined {
    return this.#map.get(longName(name))?.[0];
  }

  getAll(name: string): readonly string[] {
    return this.#map.get(longName(name)) ?? [];
  }

  has(name: string): boolean {
    return this.#map.has(longName(name));
  }

  set(name: string, value: string | readonly string[]): this {
    this.#map.set(longName(name), typeof value === 'string' ? [value] : [...value]);
    return this;
  }

  append(name: string, value: string): this {
    const key = longName(name);
    const list = this.#map.get(key);
    if (list === undefined) this.#map.set(key, [value]);
    else list.push(value);
    return this;
  }

  /** Adds `value` before the existing ones (a proxy or UAC pushing a Via, RFC 3261 §8.1.1.7). */
  prepend(name: string, value: string): this {
    const key = longName(name);
    this.#map.set(key, [value, ...(this.#map.get(key) ?? [])]);
    return this;
  }

  delete(name: string): this {
    this.#map.delete(longName(name));
    return this;
  }

  /** [lower-case long name, values] in insertion order. */
  entries(): IterableIterator<[string, string[]]> {
    return this.#map.entries();
  }

  clone(): SipHeaders {
    const copy = new SipHeaders();
    for (const [k, v] of this.#map) copy.#map.set(k, [...v]);
    return copy;
  }

  /** Adds one raw header field, splitting list headers on their commas. */
  addRaw(name: string, value: string): number {
    const key = longName(name);
    const values = LIST_HEADERS.has(key) ? splitOutside(value, ',').filter((v) => v !== '') : [value];
    for (const v of values) this.append(key, v);
    return values.length;
  }
}
