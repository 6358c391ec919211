import { describe, expect, it } from 'vitest';
import { DialGuard, embeddedIpv4 } from '../../gateway/src/agent/dialGuard.js';
import { GatewayError } from '../../gateway/src/errors.js';

const lookup = (g: DialGuard, host: string) =>
  new Promise<{ err: NodeJS.ErrnoException | null; address: string }>((resolve) => {
    g.lookup(host, { family: 0 }, (err, address) => resolve({ err, address: typeof address === 'string' ? address : '' }));
  });

describe('DialGuard (where dial-outs may go)', () => {
  it('refuses loopback, link-local (metadata), private, CGNAT and unique-local addresses; lets public ones through', () => {
    const g = new DialGuard();
    for (const a of [
      '127.0.0.1',
      '169.254.169.254',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
    ])
      expect(g.allowsAddress(a), a).toBe(false);
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(g.allowsAddress(a), a).toBe(true);
  });

  it('checks address literals in URLs at once, with a stable code', () => {
    const g = new DialGuard();
    expect(() => g.checkUrl('ws://169.254.169.254/latest/meta-data')).toThrow(GatewayError);
    expect(() => g.checkUrl('wss://[::1]:8443/agent')).toThrow(expect.objectContaining({ code: 'AGENT_URL_FORBIDDEN' }) as Error);
    expect(() => g.checkUrl('wss://agent.example.com/voice')).not.toThrow();
  });

  it('resolves names itself and refuses a name that resolves inside (localhost)', async () => {
    const { err } = await lookup(new DialGuard(), 'localhost');
    expect(err).toMatchObject({ code: 'AGENT_URL_FORBIDDEN' });
  });

  it('opens named CIDRs, addresses and host names when allowed', async () => {
    const g = new DialGuard(['127.0.0.0/8', '10.0.0.5', 'agents.internal']);
    expect(g.allowsAddress('127.0.0.1')).toBe(true);
    expect(g.allowsAddress('10.0.0.5')).toBe(true);
    expect(g.allowsAddress('10.0.0.6')).toBe(false);
    expect(() => g.checkUrl('ws://agents.internal/x')).not.toThrow();
    const { err, address } = await lookup(g, 'localhost');
    expect(err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(address);
  });

  it('refuses IPv6 forms that carry an inside IPv4 address: IPv4-compatible, NAT64, 6to4, SIIT', () => {
    const g = new DialGuard();
    const inside = [
      '::127.0.0.1', // IPv4-compatible (::/96, deprecated)
      '::a9fe:a9fe', // the same, metadata, in hex
      '::8.8.8.8', // the whole of ::/96 is refused: it is not routed anywhere
      '64:ff9b::a9fe:a9fe', // NAT64 well-known prefix, metadata
      '64:ff9b::10.0.0.1',
      '64:ff9b::7f00:1',
      '64:ff9b:1:a9fe:a9:fe00::', // local-use NAT64 (RFC 8215), refused whole: its layout is the operator's
      '64:ff9b:1::808:808',
      '2002:a9fe:a9fe::1', // 6to4 of the metadata address
      '2002:7f00:1::', // 6to4 of loopback
      '2002:c0a8:101::1', // 6to4 of 192.168.1.1
      '::ffff:0:127.0.0.1', // SIIT (RFC 2765) IPv4-translated
      '::ffff:a9fe:a9fe', // IPv4-mapped, in hex
    ];
    for (const a of inside) expect(g.allowsAddress(a), a).toBe(false);
    // the same forms carrying a public address stay reachable (an IPv6-only host dialling through NAT64)
    for (const a of ['64:ff9b::808:808', '64:ff9b::8.8.8.8', '2002:808:808::1', '::ffff:0:8.8.8.8'])
      expect(g.allowsAddress(a), a).toBe(true);
    expect(embeddedIpv4('64:ff9b::a9fe:a9fe')).toEqual(['169.254.169.254']);
    expect(embeddedIpv4('2002:a9fe:a9fe::1')).toEqual(['169.254.169.254']);
    expect(embeddedIpv4('2606:4700:4700::1111')).toEqual([]);
    // DIAL_ALLOW opens the IPv4 address whatever IPv6 form carries it
    expect(new DialGuard(['169.254.169.254']).allowsAddress('64:ff9b::a9fe:a9fe')).toBe(true);
  });

  it('refuses localhost names however spelt (trailing dot, subdomains), without resolving them', async () => {
    const g = new DialGuard();
    for (const url of [
      'ws://localhost.:8080/',
      'ws://LOCALHOST./',
      'ws://agent.localhost/',
      'ws://[::127.0.0.1]/',
      'ws://[64:ff9b::a9fe:a9fe]/',
    ])
      expect(() => g.checkUrl(url), url).toThrow(expect.objectContaining({ code: 'AGENT_URL_FORBIDDEN' }) as Error);
    expect((await lookup(g, 'localhost.')).err).toMatchObject({ code: 'AGENT_URL_FORBIDDEN' });
    // allowed by name, in either spelling
    expect(() => new DialGuard(['localhost']).checkUrl('ws://localhost.:8080/')).not.toThrow();
    expect(() => new DialGuard(['localhost.']).checkUrl('ws://localhost:8080/')).not.toThrow();
    // with loopback allowed, `localhost.` is loopback (the hosts file's, not DNS's)
    const open = await lookup(new DialGuard(['127.0.0.0/8', '::1']), 'localhost.');
    expect(open.err).toBeNull();
    expect(['127.0.0.1', '::1']).toContain(open.address);
  });

  it("gives the address to connect to for a SIP host, refusing inside ones with the caller's code", async () => {
    const g = new DialGuard();
    await expect(g.address('127.0.0.1', 'SIP_URI_FORBIDDEN')).rejects.toMatchObject({ code: 'SIP_URI_FORBIDDEN' });
    await expect(g.address('localhost', 'SIP_URI_FORBIDDEN')).rejects.toMatchObject({ code: 'SIP_URI_FORBIDDEN' });
    await expect(g.address('::ffff:10.0.0.1', 'SIP_URI_FORBIDDEN')).rejects.toMatchObject({ code: 'SIP_URI_FORBIDDEN' });
    expect(await g.address('203.0.113.7', 'SIP_URI_FORBIDDEN')).toBe('203.0.113.7');
    expect(await new DialGuard(['127.0.0.0/8']).address('127.0.0.1', 'SIP_URI_FORBIDDEN')).toBe('127.0.0.1');
  });

  it('judges the address the resolver makes of decimal, octal, hex and short IPv4 forms (inet_aton), not the spelling', async () => {
    const g = new DialGuard();
    for (const host of ['2130706433', '0177.0.0.1', '0x7f.1', '127.1', '0x7f000001', '0', '0xa9.0xfe.0xa9.0xfe', '3232235777'])
      await expect(g.address(host, 'SIP_URI_FORBIDDEN'), host).rejects.toMatchObject({ code: 'SIP_URI_FORBIDDEN' });
    for (const host of ['2130706433', '0x7f.1']) expect((await lookup(g, host)).err, host).toMatchObject({ code: 'AGENT_URL_FORBIDDEN' });
    // a public address in decimal is still public: what it resolves to is dialled
    expect(await g.address('134744072', 'SIP_URI_FORBIDDEN')).toBe('8.8.8.8');
  });

  it('refuses site-local, zoned link-local and Teredo forms of inside addresses', () => {
    const g = new DialGuard();
    for (const a of ['fec0::1', 'fe80::1%eth0', '::1%lo', '0:0:0:0:0:0:0:1', '2001:0:4136:e378:8000:63bf:80ff:fffe'])
      expect(g.allowsAddress(a), a).toBe(false);
    // Teredo: the client's address is the last 32 bits inverted (RFC 4380 §4): 0x80fffffe is 127.0.0.1
    expect(embeddedIpv4('2001:0:4136:e378:8000:63bf:80ff:fffe')).toEqual(['127.0.0.1']);
    expect(g.allowsAddress('2001:0:4136:e378:8000:63bf:3fff:fdd2')).toBe(true); // client 192.0.2.45: not an inside range
  });
});
