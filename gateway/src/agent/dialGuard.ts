import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { GatewayError } from '../errors.js';

/**
 * Where the gateway may connect when it dials an agent or a webhook: the public internet, and
 * nothing inside unless allowed. A route's URL comes from whoever may create calls; without this
 * guard a token holder could make the gateway reach loopback services, the cloud metadata
 * endpoint (169.254.169.254) or the private network behind it (SSRF).
 *
 * The check applies to the address actually connected to: hostnames are resolved through
 * `lookup` (given to the socket), so a name that resolves inside is refused at connect time too.
 */
const FORBIDDEN: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network" (RFC 1122)
  ['10.0.0.0', 8, 'ipv4'], // private (RFC 1918)
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata (RFC 3927)
  ['172.16.0.0', 12, 'ipv4'], // private
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments (RFC 6890)
  ['192.168.0.0', 16, 'ipv4'], // private
  ['198.18.0.0', 15, 'ipv4'], // benchmarking (RFC 2544)
  ['224.0.0.0', 3, 'ipv4'], // multicast and reserved
  ['::', 96, 'ipv6'], // unspecified, loopback, IPv4-compatible (RFC 4291 §2.5.5.1, deprecated)
  // NAT64 local use (RFC 8215): the operator's own translator, at a prefix length of its choosing
  // (/48 to /96, RFC 6052 §2.2), so which IPv4 address one of these reaches cannot be told here.
  ['64:ff9b:1::', 48, 'ipv6'],
  ['fc00::', 7, 'ipv6'], // unique local (RFC 4193)
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'], // site-local (deprecated by RFC 3879, still the inside of some networks)
  ['ff00::', 8, 'ipv6'], // multicast
];

export class DialGuard {
  readonly #forbidden = new BlockList();
  readonly #allowed = new BlockList();
  readonly #allowedHosts = new Set<string>();

  /** @param allow CIDRs, addresses or host names that may be dialled although inside (config `dial.allow`, env DIAL_ALLOW) */
  constructor(allow: readonly string[] = []) {
    for (const [addr, bits, type] of FORBIDDEN) this.#forbidden.addSubnet(addr, bits, type);
    for (const a of allow) {
      const [addr = '', bits] = a.split('/');
      const family = isIP(addr);
      if (family === 0) this.#allowedHosts.add(hostName(a));
      else if (bits === undefined) this.#allowed.addAddress(addr, family === 4 ? 'ipv4' : 'ipv6');
      else this.#allowed.addSubnet(addr, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** Whether connecting to this address is allowed (an IPv6 address carrying an IPv4 one is judged by both). */
  allowsAddress(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    if (family === 4) return this.#allows(address, 'ipv4');
    if (this.#allowed.check(address, 'ipv6')) return true;
    return !this.#forbidden.check(address, 'ipv6') && embeddedIpv4(address).every((v4) => this.#allows(v4, 'ipv4'));
  }

  #allows(addr: string, type: 'ipv4' | 'ipv6'): boolean {
    return this.#allowed.check(addr, type) || !this.#forbidden.check(addr, type);
  }

  /**
   * Refuses a URL whose host is a forbidden address literal or a loopback name (other names are
   * checked when resolved, by `lookup`). @throws {GatewayError} AGENT_URL_FORBIDDEN
   */
  checkUrl(url: string): void {
    this.#checkHost(new URL(url).hostname.replace(/^\[|\]$/g, ''), 'AGENT_URL_FORBIDDEN');
  }

  #checkHost(host: string, code: ForbiddenCode): void {
    const name = hostName(host);
    if (this.#allowedHosts.has(name)) return;
    const inside = isIP(name) !== 0 ? !this.allowsAddress(name) : isLocalhost(name) && !LOOPBACK.some((a) => this.allowsAddress(a));
    if (inside) throw forbidden(host, code);
  }

  /** What to ask the resolver: a localhost name as `localhost` (the hosts file's loopback, never DNS). */
  #resolvable(host: string): string {
    return isLocalhost(hostName(host)) ? 'localhost' : host;
  }

  /**
   * The address to connect to for `host` (a literal, or a name resolved here, so what is
   * connected to is what was checked). @throws {GatewayError} `code` when it is inside
   */
  async address(host: string, code: ForbiddenCode): Promise<string> {
    this.#checkHost(host, code);
    if (isIP(host) !== 0) return host;
    const all = await dns.promises.lookup(this.#resolvable(host), { all: true });
    const ok = this.#allowedHosts.has(hostName(host)) ? all : all.filter((a) => this.allowsAddress(a.address));
    if (ok[0] === undefined) throw forbidden(host, code);
    return ok[0].address;
  }

  /** A dns.lookup that fails with AGENT_URL_FORBIDDEN when a name resolves to a forbidden address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    try {
      this.#checkHost(hostname, 'AGENT_URL_FORBIDDEN');
    } catch (err) {
      return callback(err as GatewayError & { code: string }, '', 0);
    }
    dns.lookup(this.#resolvable(hostname), { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, '', 0);
      const ok = this.#allowedHosts.has(hostName(hostname)) ? addresses : addresses.filter((a) => this.allowsAddress(a.address));
      const first = ok[0];
      if (first === undefined) return callback(forbidden(hostname, 'AGENT_URL_FORBIDDEN'), '', 0);
      if (options.all === true) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, ok);
      else callback(null, first.address, first.family);
    });
  };
}

type ForbiddenCode = 'AGENT_URL_FORBIDDEN' | 'SIP_URI_FORBIDDEN';
const LOOPBACK = ['127.0.0.1', '::1'];

function forbidden(host: string, code: ForbiddenCode): GatewayError & { code: ForbiddenCode } {
  return new GatewayError(
    code,
    `${host} is a loopback, link-local, private or metadata address: not dialled (allow it with DIAL_ALLOW)`,
  ) as GatewayError & { code: ForbiddenCode };
}

/** A host name as compared: lower case, without the root's trailing dot (`localhost.` is `localhost`). */
function hostName(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** RFC 6761 §6.3: `localhost` and every name under it are loopback, whatever DNS says. */
function isLocalhost(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * The IPv4 addresses an IPv6 address carries, by which it may reach them: IPv4-mapped
 * (::ffff:0:0/96) and SIIT-translated (::ffff:0:0:0/96, RFC 2765); NAT64's well-known prefix
 * 64:ff9b::/96 (RFC 6052 §2.1); 6to4 2002::/16 (RFC 3056 §2); Teredo 2001::/32, whose client
 * address is the last 32 bits inverted (RFC 4380 §4). (The local-use NAT64 prefix is refused
 * whole: see FORBIDDEN.)
 */
export function embeddedIpv4(address: string): string[] {
  const b = ipv6Bytes(address);
  if (b === null) return [];
  const v4 = (...i: number[]): string => i.map((k) => b[k]!).join('.');
  const zeros = (from: number, to: number): boolean => b.subarray(from, to).every((x) => x === 0);
  const word = (i: number): number => (b[i]! << 8) | b[i + 1]!;
  if (zeros(0, 10) && word(10) === 0xffff) return [v4(12, 13, 14, 15)];
  if (zeros(0, 8) && word(8) === 0xffff && word(10) === 0) return [v4(12, 13, 14, 15)];
  if (word(0) === 0x64 && word(2) === 0xff9b && zeros(4, 12)) return [v4(12, 13, 14, 15)];
  if (word(0) === 0x2002) return [v4(2, 3, 4, 5)];
  if (word(0) === 0x2001 && word(2) === 0) return [[12, 13, 14, 15].map((k) => b[k]! ^ 0xff).join('.')];
  return [];
}

/** The 16 bytes of a valid IPv6 literal (zone and dotted IPv4 tail allowed); null if it is not one. */
function ipv6Bytes(address: string): Uint8Array | null {
  let s = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (dotted !== null) {
    const [a, b, c, d] = dotted.slice(2).map(Number) as [number, number, number, number];
    s = `${dotted[1]!}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 1 || halves[1] === '' ? [] : halves[1]!.split(':');
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array<string>(Math.max(0, fill)).fill('0'), ...tail];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}
