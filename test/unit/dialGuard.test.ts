import { describe, expect, it } from 'vitest';
import { DialGuard } from '../../gateway/src/agent/dialGuard.js';
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
});
