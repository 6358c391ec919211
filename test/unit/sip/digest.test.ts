import { describe, expect, it } from 'vitest';
import { answerChallenge, digestResponse, DigestServer, parseDigestParams } from '../../../gateway/src/sip/digest.js';

// RFC 7616 §3.9.1: Mufasa / "Circle of Life", GET /dir/index.html.
const RFC7616 = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  method: 'GET',
  uri: '/dir/index.html',
  qop: 'auth' as const,
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  nc: '00000001',
};
const OPAQUE = 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS';

describe('digest (RFC 7616, RFC 8760)', () => {
  it('matches the RFC 7616 §3.9.1 vectors for MD5 and SHA-256', () => {
    expect(digestResponse({ ...RFC7616, algorithm: 'MD5' })).toBe('8ca523f5e9506fed4657c9700eebdbec');
    expect(digestResponse({ ...RFC7616, algorithm: 'SHA-256' })).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  it('answers the RFC 7616 challenge pair with SHA-256 (preferred over MD5)', () => {
    const challenge = (alg: string): string =>
      `Digest realm="${RFC7616.realm}", qop="auth, auth-int", algorithm=${alg}, nonce="${RFC7616.nonce}", opaque="${OPAQUE}"`;
    const value = answerChallenge([challenge('MD5'), challenge('SHA-256')], { ...RFC7616, nc: 1 });
    const p = parseDigestParams(value);
    expect(p.get('algorithm')).toBe('SHA-256');
    expect(p.get('response')).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
    expect(p.get('opaque')).toBe(OPAQUE);
    expect(p.get('nc')).toBe('00000001');
  });

  it('answers a challenge without qop in RFC 2069 form', () => {
    const value = answerChallenge(['Digest realm="r", nonce="n"'], { username: 'u', password: 'p', method: 'INVITE', uri: 'sip:x@y' });
    expect(parseDigestParams(value).has('qop')).toBe(false);
    expect(() => answerChallenge(['Basic realm="r"'], { username: 'u', password: 'p', method: 'INVITE', uri: 'sip:x@y' })).toThrow(
      /no usable digest challenge/,
    );
  });

  it('server: stateless nonces verify for both algorithms, go stale, and refuse tampering', () => {
    let now = 1_700_000_000_000;
    const server = new DigestServer({ realm: 'gw.example.com', secret: 'k', nonceTtlMs: 60_000, now: () => now });
    const passwords = (user: string): string | undefined => (user === 'trunk1' ? 'pw' : undefined);
    const challenges = server.challenge();
    expect(challenges).toHaveLength(2);
    expect(challenges[0]).toContain('algorithm=SHA-256');
    for (const c of challenges) {
      const auth = answerChallenge([c], { username: 'trunk1', password: 'pw', method: 'INVITE', uri: 'sip:+1@gw.example.com' });
      expect(server.verify(auth, 'INVITE', passwords)).toEqual({ result: 'ok', username: 'trunk1' });
      expect(server.verify(auth, 'BYE', passwords).result).toBe('invalid');
    }
    const auth = answerChallenge(challenges, { username: 'trunk1', password: 'pw', method: 'INVITE', uri: 'sip:+1@gw.example.com' });
    expect(server.verify(auth, 'INVITE', () => 'wrong').result).toBe('invalid');
    expect(server.verify(auth, 'INVITE', () => undefined).result).toBe('invalid');
    expect(server.verify(auth.replace(/nonce="([^.]*)\./, 'nonce="0.'), 'INVITE', passwords).result).toBe('invalid');
    expect(server.verify(undefined, 'INVITE', passwords).result).toBe('missing');
    expect(server.verify('garbage', 'INVITE', passwords).result).toBe('invalid');
    const other = new DigestServer({ realm: 'gw.example.com', secret: 'other', now: () => now });
    expect(other.verify(auth, 'INVITE', passwords).result).toBe('invalid');
    now += 61_000;
    expect(server.verify(auth, 'INVITE', passwords).result).toBe('stale');
    expect(server.challenge(true)[0]).toContain('stale=true');
  });
});
