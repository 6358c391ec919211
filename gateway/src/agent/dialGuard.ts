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
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'], // loopback
  ['fc00::', 7, 'ipv6'], // unique local (RFC 4193)
  ['fe80::', 10, 'ipv6'], // link-local
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
      if (family === 0) this.#allowedHosts.add(a.toLowerCase());
      else if (bits === undefined) this.#allowed.addAddress(addr, family === 4 ? 'ipv4' : 'ipv6');
      else this.#allowed.addSubnet(addr, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** Whether connecting to this address is allowed. */
  allowsAddress(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    let type: 'ipv4' | 'ipv6' = family === 4 ? 'ipv4' : 'ipv6';
    let addr = address;
    // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped !== null) {
      addr = mapped[1]!;
      type = 'ipv4';
    }
    return this.#allowed.check(addr, type) || !this.#forbidden.check(addr, type);
  }

  /**
   * Refuses a URL whose host is a forbidden address literal (names are checked when resolved, by
   * `lookup`). @throws {GatewayError} AGENT_URL_FORBIDDEN
   */
  checkUrl(url: string): void {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (this.#allowedHosts.has(host.toLowerCase())) return;
    if (isIP(host) !== 0 && !this.allowsAddress(host)) throw forbidden(host);
  }

  /** A dns.lookup that fails with AGENT_URL_FORBIDDEN when a name resolves to a forbidden address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err !== null) return callback(err, '', 0);
      const ok = this.#allowedHosts.has(hostname.toLowerCase()) ? addresses : addresses.filter((a) => this.allowsAddress(a.address));
      const first = ok[0];
      if (first === undefined) return callback(forbidden(hostname), '', 0);
      if (options.all === true) (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, ok);
      else callback(null, first.address, first.family);
    });
  };
}

function forbidden(host: string): GatewayError & { code: 'AGENT_URL_FORBIDDEN' } {
  return new GatewayError(
    'AGENT_URL_FORBIDDEN',
    `${host} is a loopback, link-local, private or metadata address: not dialled (allow it with DIAL_ALLOW)`,
  ) as GatewayError & { code: 'AGENT_URL_FORBIDDEN' };
}
