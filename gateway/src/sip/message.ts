import { SipHeaders } from './headers.js';
import { parseNameAddr } from './headerValues.js';
import { parseUri } from './uri.js';

/**
 * SIP messages (RFC 3261 §7): the request and response shapes and how this core builds them.
 * Parsing, serializing and header values live in their own modules, re-exported here so that
 * `message.js` stays the one import for everything about a message.
 */

export { SipHeaders, splitOutside } from './headers.js';
export {
  callIdOf,
  cseqOf,
  formatNameAddr,
  formatParams,
  formatVia,
  maxForwardsOf,
  parseCSeq,
  parseNameAddr,
  parseParams,
  parseVia,
  tagOf,
  topVia,
} from './headerValues.js';
export type { CSeq, NameAddr, Via } from './headerValues.js';
export { MAX_HEADERS, MAX_MESSAGE_BYTES, parseMessage, SipStreamFramer } from './parser.js';
export type { ParseOptions } from './parser.js';
export { serialize } from './serializer.js';

export interface SipRequest {
  readonly type: 'request';
  method: string;
  uri: string;
  headers: SipHeaders;
  body: Buffer;
}

export interface SipResponse {
  readonly type: 'response';
  status: number;
  reason: string;
  headers: SipHeaders;
  body: Buffer;
}

export type SipMessage = SipRequest | SipResponse;

/** Reason phrases for the statuses this core sends (RFC 3261 §21, RFC 3515, RFC 6665). */
export const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  483: 'Too Many Hops',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  603: 'Decline',
};

export function createRequest(method: string, uri: string, headers = new SipHeaders(), body = Buffer.alloc(0)): SipRequest {
  return { type: 'request', method, uri, headers, body };
}

/**
 * A response to `req` (RFC 3261 §8.2.6.2): Via (all), From, To, Call-ID and CSeq copied; `toTag`
 * added to To when it has none (the UAS's dialog tag).
 */
export function createResponse(req: SipRequest, status: number, reason?: string, toTag?: string): SipResponse {
  const headers = new SipHeaders();
  headers.set('via', req.headers.getAll('via'));
  for (const name of ['from', 'to', 'call-id', 'cseq']) {
    const v = req.headers.get(name);
    if (v !== undefined) headers.set(name, v);
  }
  const to = headers.get('to');
  if (toTag !== undefined && to !== undefined && status > 100 && parseNameAddr(to).params.get('tag') === undefined) {
    headers.set('to', `${to};tag=${toTag}`);
  }
  // §12.1.1: a response that may establish a dialog carries the request's Record-Route, in order
  // (so the caller's in-dialog requests go back through the proxies that asked, e.g. Kamailio).
  const recordRoute = req.headers.getAll('record-route');
  if (req.method === 'INVITE' && status > 100 && status < 300 && recordRoute.length > 0) headers.set('record-route', recordRoute);
  return { type: 'response', status, reason: reason ?? REASONS[status] ?? 'Unknown', headers, body: Buffer.alloc(0) };
}

/**
 * The URI of a name-addr (a Contact, a Record-Route entry) if a request can be sent to it: undefined
 * when it does not parse or names no sip: or sips: URI, as a tel: URI does (RFC 3261 §8.1.1.8 for a
 * Contact; §12.1.1, §12.1.2 make the Record-Route a route set, whose first entry is a next hop).
 */
export function sendableUri(nameAddr: string): string | undefined {
  try {
    const { uri } = parseNameAddr(nameAddr);
    return parseUri(uri).scheme === 'tel' ? undefined : uri;
  } catch {
    return undefined;
  }
}

/**
 * The dialog's remote target from a message's Contact (RFC 3261 §12.1.1, §12.1.2; a target refresh,
 * §12.2.2): `fallback` when there is no Contact; undefined when nothing could be sent to it.
 */
export function remoteTargetOf(msg: SipMessage, fallback: string): string | undefined {
  const contact = msg.headers.get('contact');
  return contact === undefined ? fallback : sendableUri(contact);
}

/**
 * Where a dialog's requests go first (RFC 3261 §12.2.1.1, loose routing): the URI of its route set's
 * first entry, else its remote target; undefined when that names nowhere to send.
 */
export function firstHopOf(routeSet: readonly string[], remoteTarget: string | undefined): string | undefined {
  const first = routeSet[0];
  return first === undefined ? remoteTarget : sendableUri(first);
}
