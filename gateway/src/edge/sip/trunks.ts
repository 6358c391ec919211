import { BlockList, isIP } from 'node:net';
import { fail, isObject } from '../../route.js';

/** A carrier, PBX or SBC allowed to send calls (config `sip.trunks[]`). */
export interface SipTrunk {
  name: string;
  /** source addresses it calls from (CIDR or single addresses); empty: any (then `auth` is required) */
  allow: BlockList | null;
  /** digest credentials (RFC 8760) it must answer a challenge with; null: its addresses suffice */
  auth: { username: string; password: string } | null;
  /** its media comes from behind NAT: latch to the media's real source instead of the SDP's */
  behindNat: boolean;
}

/** With no trunks configured, only this host may call (a safe default for `make run`). */
const LOCAL_ONLY: SipTrunk = (() => {
  const allow = new BlockList();
  allow.addSubnet('127.0.0.0', 8, 'ipv4');
  allow.addAddress('::1', 'ipv6');
  return { name: 'local', allow, auth: null, behindNat: false };
})();

/**
 * Parses `sip.trunks` of the config file:
 *   {"sip": {"trunks": [{"name": "carrier", "allow": ["203.0.113.0/24"], "auth": {"username", "password"}, "behindNat": false}]}}
 */
export function parseTrunks(raw: unknown): SipTrunk[] {
  if (raw === undefined) return [LOCAL_ONLY];
  if (!isObject(raw)) fail('config.sip', 'must be an object');
  const list = raw['trunks'] ?? [];
  if (!Array.isArray(list)) fail('config.sip.trunks', 'must be an array');
  if (list.length === 0) return [LOCAL_ONLY];
  return list.map((t: unknown, i) => parseTrunk(t, `config.sip.trunks[${i}]`));
}

function parseTrunk(t: unknown, field: string): SipTrunk {
  if (!isObject(t)) fail(field, 'must be an object');
  const name = t['name'] ?? field;
  if (typeof name !== 'string') fail(`${field}.name`, 'must be a string');
  const allowRaw = t['allow'] ?? [];
  if (!Array.isArray(allowRaw) || !allowRaw.every((a) => typeof a === 'string'))
    fail(`${field}.allow`, 'must be an array of CIDRs or addresses');
  let allow: BlockList | null = null;
  if (allowRaw.length > 0) {
    allow = new BlockList();
    for (const a of allowRaw) addCidr(allow, a, `${field}.allow`);
  }
  let auth: SipTrunk['auth'] = null;
  if (t['auth'] !== undefined) {
    const a = t['auth'];
    if (!isObject(a) || typeof a['username'] !== 'string' || typeof a['password'] !== 'string' || a['password'].length < 8)
      fail(`${field}.auth`, 'must be {"username", "password"} with a password of at least 8 characters');
    auth = { username: a['username'], password: a['password'] };
  }
  if (allow === null && auth === null)
    fail(field, 'needs "allow" addresses, "auth" credentials, or both: an open trunk would take calls from anyone');
  const behindNat = t['behindNat'] ?? false;
  if (typeof behindNat !== 'boolean') fail(`${field}.behindNat`, 'must be a boolean');
  return { name, allow, auth, behindNat };
}

function addCidr(list: BlockList, cidr: string, field: string): void {
  const [addr = '', bits] = cidr.split('/');
  const family = isIP(addr);
  if (family === 0) fail(field, `not an address or CIDR: ${JSON.stringify(cidr)}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) return list.addAddress(addr, type);
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
    fail(field, `bad prefix length in ${JSON.stringify(cidr)}`);
  list.addSubnet(addr, prefix, type);
}

/** The trunks a source address belongs to: those whose allow-list has it, and those open to any address (auth only). */
export function trunksFor(trunks: readonly SipTrunk[], address: string): SipTrunk[] {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  return trunks.filter((t) => t.allow === null || t.allow.check(address, family));
}
