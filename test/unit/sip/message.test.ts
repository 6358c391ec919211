import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SipError } from '../../../gateway/src/sip/errors.js';
import {
  createResponse,
  cseqOf,
  MAX_MESSAGE_BYTES,
  parseMessage,
  parseNameAddr,
  parseVia,
  serialize,
  SipStreamFramer,
  tagOf,
  topVia,
} from '../../../gateway/src/sip/message.js';
import type { SipMessage, SipRequest } from '../../../gateway/src/sip/message.js';
import { formatUri, parseUri } from '../../../gateway/src/sip/uri.js';

const FIXTURES = join(import.meta.dirname, '../../fixtures/sip/rfc4475');
const load = (dir: string, name: string): Buffer =>
  Buffer.from(readFileSync(join(FIXTURES, dir, name), 'latin1').replace(/\n/g, '\r\n'), 'latin1');

/** The SipError code `fn` throws (anything else fails the test). */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SipError);
    return (err as SipError).code;
  }
  return undefined;
}

const INVITE = [
  'INVITE sip:+14155550100@gw.example.com SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: <sip:+14155550100@gw.example.com>',
  'From: "Alice, A." <sip:alice@example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.1>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\n',
].join('\r\n');

function request(buf: Buffer | string): SipRequest {
  const m = parseMessage(Buffer.isBuffer(buf) ? buf : Buffer.from(buf));
  if (m.type !== 'request') throw new Error('expected a request');
  return m;
}

describe('SIP message parser and serializer (RFC 3261 §7, §20)', () => {
  it('parses a request and survives a round trip', () => {
    const req = request(INVITE);
    expect(req.method).toBe('INVITE');
    expect(req.uri).toBe('sip:+14155550100@gw.example.com');
    expect(req.body.toString()).toBe('v=0\n');
    expect(cseqOf(req)).toEqual({ seq: 314159, method: 'INVITE' });
    expect(parseNameAddr(req.headers.get('from')!)).toMatchObject({ displayName: 'Alice, A.', uri: 'sip:alice@example.com' });
    expect(tagOf(req, 'from')).toBe('1928301774');
    const again = parseMessage(serialize(req));
    expect(serialize(again).equals(serialize(req))).toBe(true);
    expect(serialize(req).toString()).toContain('Call-ID: a84b4c76e66710@pc33.example.com\r\n');
  });

  it('reads compact header forms (RFC 3261 §7.3.3) and writes long names', () => {
    const compact = [
      'BYE sip:a@b SIP/2.0',
      'v: SIP/2.0/TCP h.example.com;branch=z9hG4bK1',
      'f: <sip:x@y>;tag=1',
      't: <sip:a@b>;tag=2',
      'i: cid-1',
      'CSeq: 2 BYE',
      'm: <sip:x@10.0.0.1>',
      'k: timer',
      'c: text/plain',
      'e: gzip',
      's: subj',
      'o: refer',
      'u: refer',
      'l: 2',
      '',
      'hi',
    ].join('\r\n');
    const req = request(compact);
    expect(req.headers.get('Call-ID')).toBe('cid-1');
    expect(req.headers.get('i')).toBe('cid-1');
    expect(req.headers.get('supported')).toBe('timer');
    expect(req.headers.get('event')).toBe('refer');
    expect(req.body.toString()).toBe('hi');
    const out = serialize(req).toString();
    for (const name of [
      'Via:',
      'From:',
      'To:',
      'Call-ID:',
      'Contact:',
      'Supported:',
      'Content-Type:',
      'Content-Encoding:',
      'Subject:',
      'Event:',
      'Allow-Events:',
    ]) {
      expect(out).toContain(`\r\n${name} `);
    }
  });

  it('splits list headers on commas outside quotes and brackets', () => {
    const msg = request(
      INVITE.replace(
        'Contact: <sip:alice@192.0.2.1>',
        'Contact: "Doe, John" <sip:j@192.0.2.1;a=b,c>, <sip:k@192.0.2.2>;q=0.5\r\nVia: SIP/2.0/TCP p1.example.com;branch=z9hG4bKa, SIP/2.0/UDP p2.example.com:5070;branch=z9hG4bKb',
      ),
    );
    expect(msg.headers.getAll('contact')).toEqual(['"Doe, John" <sip:j@192.0.2.1;a=b,c>', '<sip:k@192.0.2.2>;q=0.5']);
    expect(msg.headers.getAll('via')).toHaveLength(3);
    expect(parseVia(msg.headers.getAll('via')[2]!)).toMatchObject({ transport: 'UDP', host: 'p2.example.com', port: 5070 });
    const via = topVia(msg);
    expect(via.params.get('branch')).toBe('z9hG4bK776asdhds');
    expect(via.params.get('rport')).toBeNull();
  });

  it('builds responses that copy Via, From, To, Call-ID, CSeq and add the To tag', () => {
    const res = createResponse(request(INVITE), 180, undefined, 'abc');
    expect(res.reason).toBe('Ringing');
    expect(tagOf(res, 'to')).toBe('abc');
    expect(res.headers.getAll('via')).toEqual(request(INVITE).headers.getAll('via'));
    expect(parseMessage(serialize(res))).toMatchObject({ type: 'response', status: 180 });
  });

  it('rejects oversize messages and too many headers with SIP_TOO_LARGE', () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x61);
    expect(codeOf(() => parseMessage(big))).toBe('SIP_TOO_LARGE');
    const many = INVITE.replace('Max-Forwards: 70', Array.from({ length: 120 }, (_, i) => `X-H${i}: ${i}`).join('\r\n'));
    expect(codeOf(() => parseMessage(Buffer.from(many)))).toBe('SIP_TOO_LARGE');
  });

  describe('RFC 4475 torture messages', () => {
    for (const name of readdirSync(join(FIXTURES, 'valid'))) {
      it(`accepts ${name}`, () => {
        const msg = parseMessage(load('valid', name));
        expect(parseMessage(serialize(msg))).toMatchObject({ type: msg.type });
      });
    }
    for (const name of readdirSync(join(FIXTURES, 'invalid'))) {
      const code = name.split('.')[1];
      it(`rejects ${name} with ${code}`, () => {
        let caught: unknown;
        try {
          parseMessage(load('invalid', name));
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(SipError);
        expect((caught as SipError).code).toBe(code);
      });
    }

    it('reads the tortuous INVITE (§3.1.1.1) as intended', () => {
      const msg = parseMessage(load('valid', 'wsinv.sip'));
      expect(msg.type === 'request' && msg.method).toBe('INVITE');
      expect(cseqOf(msg)).toEqual({ seq: 9, method: 'INVITE' });
      expect(tagOf(msg, 'to')).toBe('1918181833n');
      expect(tagOf(msg, 'from')).toBe('98asjd8');
      expect(parseNameAddr(msg.headers.get('from')!).displayName).toBe('J Rosenberg \\"');
      expect(msg.headers.getAll('via').map((v) => parseVia(v).params.get('branch'))).toEqual(['390skdjuw', 'z9hG4bK9ikj8', 'z9hG4bK30239']);
      expect(msg.headers.get('newfangledheader')).toBe('newfangled value continued newfangled value');
      expect(parseNameAddr(msg.headers.get('contact')!).params.get('q')).toBe('0.33');
      expect(msg.body.length).toBe(150);
    });
  });
});

describe('SipStreamFramer (RFC 3261 §18.3, RFC 5626 §3.5.1)', () => {
  const wire = Buffer.concat([Buffer.from('\r\n\r\n'), Buffer.from(INVITE), Buffer.from('\r\n'), Buffer.from(INVITE)]);

  it('splits a stream into messages however it is chunked, and counts keep-alive pings', () => {
    for (const size of [1, 2, 7, 64, 500, wire.length]) {
      const framer = new SipStreamFramer();
      const out: Buffer[] = [];
      let pings = 0;
      for (let i = 0; i < wire.length; i += size) {
        const r = framer.push(wire.subarray(i, i + size));
        out.push(...r.messages);
        pings += r.pings;
      }
      expect(out.map((b) => (parseMessage(b, { stream: true }) as SipRequest).body.toString())).toEqual(['v=0\n', 'v=0\n']);
      expect(framer.pending).toBe(0);
      if (size > 4) expect(pings).toBe(1);
    }
  });

  it('throws SipError on an oversize or unframeable stream', () => {
    const framer = new SipStreamFramer(1024);
    expect(() => framer.push(Buffer.alloc(2000, 0x61))).toThrow(SipError);
    const bad = new SipStreamFramer();
    expect(() => bad.push(Buffer.from(INVITE.replace('Content-Length: 4', 'Content-Length: x')))).toThrow(SipError);
  });
});

describe('SIP URIs (RFC 3261 §19.1, RFC 3966)', () => {
  it('parses and formats sip:, sips: and tel:', () => {
    const u = parseUri('sip:+14155550100:secret@[2001:db8::1]:5080;transport=tcp;lr?subject=hi');
    expect(u).toMatchObject({ scheme: 'sip', user: '+14155550100', host: '[2001:db8::1]', port: 5080 });
    expect(u.params.get('transport')).toBe('tcp');
    expect(u.params.get('lr')).toBeNull();
    expect(u.headers.get('subject')).toBe('hi');
    expect(formatUri(u)).toBe('sip:+14155550100@[2001:db8::1]:5080;transport=tcp;lr?subject=hi');
    expect(parseUri('sips:gw.example.com')).toMatchObject({ scheme: 'sips', user: undefined, host: 'gw.example.com', port: undefined });
    expect(parseUri('tel:+1-201-555-0123;phone-context=example.com')).toMatchObject({ scheme: 'tel', user: '+1-201-555-0123' });
    expect(formatUri(parseUri('TEL:+4420'))).toBe('tel:+4420');
  });

  it('rejects bad URIs with SIP_BAD_URI', () => {
    for (const bad of ['http://x', 'sip:', 'sip:a@b:99999', 'sip:a b@c', 'sip:user@host;a=b c', 'tel:abc!', 'sip:@']) {
      expect(
        codeOf(() => parseUri(bad)),
        bad,
      ).toBe('SIP_BAD_URI');
    }
  });
});

describe('SIP parser under fuzzing', () => {
  const RUNS = { numRuns: 3000 };
  const check = (buf: Buffer): void => {
    let msg: SipMessage | undefined;
    try {
      msg = parseMessage(buf);
    } catch (err) {
      expect(err).toBeInstanceOf(SipError);
      return;
    }
    // Whatever it accepts, it can write and read again.
    expect(parseMessage(serialize(msg)).type).toBe(msg.type);
  };

  it('never throws anything but SipError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => check(Buffer.from(bytes))),
      RUNS,
    );
  });

  it('never throws anything but SipError on mutated valid messages', () => {
    const base = Buffer.from(INVITE);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.constantFrom(0x20, 0x3a, 0x3b, 0x2c, 0x22, 0x3c, 0x0d, 0x0a, 0x00, 0x41, 0x5c)), {
          maxLength: 8,
        }),
        (edits) => {
          const buf = Buffer.from(base);
          for (const [at, byte] of edits) buf[at] = byte;
          check(buf);
        },
      ),
      RUNS,
    );
  });

  it('answers pathological inputs quickly (no catastrophic backtracking)', () => {
    const started = performance.now();
    for (const s of [
      'Via: ' + 'SIP/2.0/UDP '.repeat(3000),
      'From: ' + '"'.repeat(20000),
      'To: ' + '<'.repeat(20000),
      'CSeq: ' + '1 '.repeat(20000),
    ]) {
      check(Buffer.from(INVITE.replace('Max-Forwards: 70', s)));
    }
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('framer never throws anything but SipError and never loops', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 10 }), (chunks) => {
        const framer = new SipStreamFramer(4096);
        try {
          for (const c of chunks) framer.push(Buffer.from(c));
        } catch (err) {
          expect(err).toBeInstanceOf(SipError);
        }
      }),
      RUNS,
    );
  });
});
