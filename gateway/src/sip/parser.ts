import { SipError } from './errors.js';
import { canonicalName, SipHeaders, TOKEN } from './headers.js';
import { parseCSeq, parseNameAddr, parseVia } from './headerValues.js';
import type { SipMessage } from './message.js';

/**
 * SIP message parsing: one message from a datagram or a framed chunk (`parseMessage`), and the
 * Content-Length framing of a TCP/TLS byte stream (`SipStreamFramer`).
 */

/** Largest message we accept, in bytes (start line + headers + body). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Most header fields (after comma splitting) one message may carry. */
export const MAX_HEADERS = 100;

/** Offset of the blank line ending the headers and the offset where the body starts, or null. */
function findHeaderEnd(buf: Buffer, from: number): { end: number; body: number } | null {
  const crlf = buf.indexOf('\r\n\r\n', from, 'latin1');
  const lf = buf.indexOf('\n\n', from, 'latin1');
  // Bare LF line ends are not RFC 3261, but RFC 4475 §3.1.1.x peers send them; accept the earlier.
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { end: crlf, body: crlf + 4 };
  if (lf !== -1) return { end: lf, body: lf + 2 };
  return null;
}

function skipLeadingBlankLines(buf: Buffer): number {
  let i = 0;
  while (i < buf.length && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i;
}

export interface ParseOptions {
  /**
   * Stream transports (TCP/TLS) require Content-Length (RFC 3261 §18.3); on UDP a missing one means
   * "the rest of the datagram".
   */
  readonly stream?: boolean;
}

/**
 * Parses one SIP message. Throws only SipError; what it returns has the five headers every
 * message needs (Via, From, To, Call-ID, CSeq), and a request's CSeq method matches its method.
 */
export function parseMessage(buf: Buffer, opts: ParseOptions = {}): SipMessage {
  if (buf.length > MAX_MESSAGE_BYTES) throw new SipError('SIP_TOO_LARGE', `message of ${buf.length} bytes`);
  const start = skipLeadingBlankLines(buf);
  const found = findHeaderEnd(buf, start);
  if (found === null) throw new SipError('SIP_MALFORMED', 'no blank line after the headers');
  const lines = buf.toString('utf8', start, found.end).split(/\r?\n/);
  const startLine = lines[0] ?? '';

  // Unfold continuation lines (RFC 3261 §7.3.1: a line starting with SP or HTAB continues the last).
  const fields: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0) {
      fields[fields.length - 1] = `${fields[fields.length - 1]!} ${line.trim()}`;
    } else fields.push(line);
  }
  const headers = new SipHeaders();
  let count = 0;
  for (const field of fields) {
    const colon = field.indexOf(':');
    if (colon <= 0) throw new SipError('SIP_MALFORMED', 'header line without a name');
    const name = field.slice(0, colon).trim();
    if (!TOKEN.test(name)) throw new SipError('SIP_MALFORMED', 'bad header name');
    count += headers.addRaw(name, field.slice(colon + 1).trim());
    if (count > MAX_HEADERS) throw new SipError('SIP_TOO_LARGE', `more than ${MAX_HEADERS} headers`);
  }

  let body = buf.subarray(found.body);
  const cl = headers.get('content-length');
  if (cl !== undefined) {
    if (!/^\d{1,9}$/.test(cl)) throw new SipError('SIP_BAD_CONTENT_LENGTH', 'Content-Length is not a number');
    const n = Number(cl);
    if (n > body.length) throw new SipError('SIP_BAD_CONTENT_LENGTH', `Content-Length ${n} > ${body.length} bytes present`);
    body = body.subarray(0, n);
  } else if (opts.stream === true) body = body.subarray(0, 0);

  const msg = parseStartLine(startLine, headers, Buffer.from(body));
  validate(msg);
  return msg;
}

function parseStartLine(line: string, headers: SipHeaders, body: Buffer): SipMessage {
  if (line.startsWith('SIP/')) {
    const m = /^SIP\/(\d+\.\d+) (\d{3}) ?(.*)$/.exec(line);
    if (m === null) throw new SipError('SIP_MALFORMED', 'bad status line');
    if (m[1] !== '2.0') throw new SipError('SIP_UNSUPPORTED_VERSION', `SIP/${m[1]}`);
    const status = Number(m[2]);
    if (status < 100 || status > 699) throw new SipError('SIP_MALFORMED', 'status out of range');
    return { type: 'response', status, reason: m[3] ?? '', headers, body };
  }
  // RFC 3261 §7.1: Method SP Request-URI SP SIP-Version, single spaces, no spaces in the URI.
  const parts = line.split(' ');
  if (parts.length !== 3) throw new SipError('SIP_MALFORMED', 'bad request line');
  const [method, uri, version] = parts as [string, string, string];
  if (!TOKEN.test(method) || uri === '' || !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(uri)) {
    throw new SipError('SIP_MALFORMED', 'bad request line');
  }
  if (!/^SIP\/\d+\.\d+$/i.test(version)) throw new SipError('SIP_MALFORMED', 'bad request line');
  if (version.toUpperCase() !== 'SIP/2.0') throw new SipError('SIP_UNSUPPORTED_VERSION', version);
  return { type: 'request', method, uri, headers, body };
}

function validate(msg: SipMessage): void {
  for (const name of ['via', 'from', 'to', 'call-id', 'cseq']) {
    if (!msg.headers.has(name)) throw new SipError('SIP_MISSING_HEADER', `no ${canonicalName(name)}`);
  }
  const cs = parseCSeq(msg.headers.get('cseq') ?? '');
  if (msg.type === 'request' && cs.method !== msg.method) throw new SipError('SIP_MALFORMED', 'CSeq method differs');
  parseVia(msg.headers.get('via') ?? '');
  parseNameAddr(msg.headers.get('from') ?? '');
  parseNameAddr(msg.headers.get('to') ?? '');
  const mf = msg.headers.get('max-forwards');
  // RFC 3261 §20.22: 0–255 (leading zeros are legal, RFC 4475 §3.1.1.1).
  if (mf !== undefined && (!/^\d{1,10}$/.test(mf) || Number(mf) > 255)) throw new SipError('SIP_MALFORMED', 'bad Max-Forwards');
}

/**
 * Splits a TCP/TLS byte stream into messages by Content-Length (RFC 3261 §18.3). CRLF keep-alives
 * between messages are skipped; each double CRLF is a ping to answer with one CRLF (RFC 5626
 * §3.5.1). A stream over the size limit or with a bad Content-Length cannot be re-synchronised:
 * `push` throws SipError and the caller closes the connection.
 */
export class SipStreamFramer {
  #buf: Buffer = Buffer.alloc(0);
  readonly #max: number;

  constructor(maxMessageBytes = MAX_MESSAGE_BYTES) {
    this.#max = maxMessageBytes;
  }

  /** Bytes waiting for the rest of a message. */
  get pending(): number {
    return this.#buf.length;
  }

  push(chunk: Buffer): { messages: Buffer[]; pings: number } {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const messages: Buffer[] = [];
    let pings = 0;
    for (;;) {
      let crlf = 0;
      while (this.#buf[crlf * 2] === 0x0d && this.#buf[crlf * 2 + 1] === 0x0a) crlf++;
      if (crlf > 0) {
        pings += Math.floor(crlf / 2);
        this.#buf = this.#buf.subarray(crlf * 2);
      }
      if (this.#buf.length === 0 || (this.#buf.length === 1 && this.#buf[0] === 0x0d)) break;
      const found = findHeaderEnd(this.#buf, 0);
      if (found === null) {
        if (this.#buf.length > this.#max) throw new SipError('SIP_TOO_LARGE', 'headers over the limit');
        break;
      }
      const head = this.#buf.toString('latin1', 0, found.end);
      const m = /(?:^|\n)(?:content-length|l)[ \t]*:[ \t]*([^\r\n]*)/i.exec(head);
      const cl = m === null ? '0' : m[1]!.trim();
      if (!/^\d{1,9}$/.test(cl)) throw new SipError('SIP_BAD_CONTENT_LENGTH', 'Content-Length is not a number');
      const total = found.body + Number(cl);
      if (total > this.#max) throw new SipError('SIP_TOO_LARGE', `message of ${total} bytes`);
      if (this.#buf.length < total) break;
      messages.push(this.#buf.subarray(0, total));
      this.#buf = this.#buf.subarray(total);
    }
    // Keep no view on a large consumed chunk alive longer than needed.
    if (this.#buf.length > 0 && this.#buf.byteOffset > 0) this.#buf = Buffer.from(this.#buf);
    return { messages, pings };
  }
}
