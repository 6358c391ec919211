import { SipError } from './errors.js';
import type { Remote, SipProtocol } from './transport.js';

export interface SipUri {
  scheme: 'sip' | 'sips' | 'tel';
  /** User part as written (still %-escaped); for tel: the number. Undefined when absent. */
  user: string | undefined;
  /** Host name, IPv4 address, or IPv6 reference with its brackets (`[::1]`); '' for tel:. */
  host: string;
  port: number | undefined;
  /** URI parameters (transport, lr, user, phone-context…), names lower-cased (RFC 3261 §19.1.4). */
  params: Map<string, string | null>;
  /** `?a=b&c=d` headers, kept raw. */
  headers: Map<string, string>;
}

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.?)$/;
// RFC 3261 §25.1 user: unreserved / escaped / user-unreserved ("&=+$,;?/").
const USER = /^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$/;
const PARAM = /^(?:[A-Za-z0-9\-_.!~*'()[\]/:&+$]|%[0-9A-Fa-f]{2})+$/;

function parseUriParams(s: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  for (const part of s.split(';')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).toLowerCase();
    const value = eq === -1 ? null : part.slice(eq + 1);
    if (!PARAM.test(name) || (value !== null && value !== '' && !PARAM.test(value))) {
      throw new SipError('SIP_BAD_URI', 'bad URI parameter');
    }
    params.set(name, value);
  }
  return params;
}

/**
 * Parses a sip:, sips: (RFC 3261 §19.1) or tel: (RFC 3966) URI. A password in the userinfo is
 * dropped: RFC 3261 §19.1.1 deprecates it and we never want one in a log line.
 */
export function parseUri(text: string): SipUri {
  const m = /^(sips?|tel):(.*)$/i.exec(text.trim());
  if (m === null) throw new SipError('SIP_BAD_URI', 'not a sip:, sips: or tel: URI');
  const scheme = m[1]!.toLowerCase() as SipUri['scheme'];
  let rest = m[2]!;
  if (scheme === 'tel') {
    const semi = rest.indexOf(';');
    const number = semi === -1 ? rest : rest.slice(0, semi);
    if (!/^\+?[0-9A-Fa-f*#.()-]+$/.test(number)) throw new SipError('SIP_BAD_URI', 'bad tel: number');
    return {
      scheme,
      user: number,
      host: '',
      port: undefined,
      params: parseUriParams(semi === -1 ? '' : rest.slice(semi + 1)),
      headers: new Map(),
    };
  }

  const headers = new Map<string, string>();
  const q = rest.indexOf('?');
  if (q !== -1) {
    for (const h of rest.slice(q + 1).split('&')) {
      const eq = h.indexOf('=');
      if (eq <= 0) throw new SipError('SIP_BAD_URI', 'bad URI header');
      headers.set(h.slice(0, eq), h.slice(eq + 1));
    }
    rest = rest.slice(0, q);
  }
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    user = colon === -1 ? userinfo : userinfo.slice(0, colon);
    if (!USER.test(user)) throw new SipError('SIP_BAD_URI', 'bad user part');
    rest = rest.slice(at + 1);
  }
  const semi = rest.indexOf(';');
  const hostport = semi === -1 ? rest : rest.slice(0, semi);
  const params = parseUriParams(semi === -1 ? '' : rest.slice(semi + 1));
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}))?$/.exec(hostport);
  if (hp === null || !HOST.test(hp[1]!)) throw new SipError('SIP_BAD_URI', 'bad host');
  const port = hp[2] === undefined ? undefined : Number(hp[2]);
  if (port !== undefined && port > 65535) throw new SipError('SIP_BAD_URI', 'port out of range');
  return { scheme, user, host: hp[1]!.toLowerCase(), port, params, headers };
}

export function formatUri(uri: SipUri): string {
  let s = `${uri.scheme}:`;
  if (uri.scheme === 'tel') s += uri.user ?? '';
  else s += `${uri.user === undefined ? '' : `${uri.user}@`}${uri.host}${uri.port === undefined ? '' : `:${uri.port}`}`;
  for (const [k, v] of uri.params) s += v === null ? `;${k}` : `;${k}=${v}`;
  if (uri.headers.size > 0) s += '?' + [...uri.headers].map(([k, v]) => `${k}=${v}`).join('&');
  return s;
}

/** Host without IPv6 brackets, as sockets want it. */
export function socketHost(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** Host as URIs and Via want it: IPv6 literals in brackets (RFC 3261 §25.1). */
export function uriHost(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/** Where a request for `uri` goes: its host and port, or the defaults of RFC 3263 §4.2 minus DNS. */
export function uriDestination(uri: string, fallback: SipProtocol): Remote {
  const u = parseUri(uri);
  const t = u.params.get('transport')?.toLowerCase();
  const protocol: SipProtocol = u.scheme === 'sips' || t === 'tls' ? 'tls' : t === 'tcp' ? 'tcp' : t === 'udp' ? 'udp' : fallback;
  return { protocol, address: socketHost(u.host), port: u.port ?? (protocol === 'tls' ? 5061 : 5060) };
}
