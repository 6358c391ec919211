import { describe, expect, it } from 'vitest';
import { signReport, verifyReport, verifyDial, signDial } from '../../../gateway/src/auth.js';
import { parseRoute } from '../../../gateway/src/route.js';

const SECRET = 'report-secret-0123456789abcdef';
const URL_ = 'https://ops.example/hooks/call-ended';

describe('report signatures (X-Gateway-Signature over the body)', () => {
  it('verifies the report as sent, and nothing altered, re-addressed, foreign or stale', () => {
    const body = JSON.stringify({ event: 'call.ended', callId: 'c1', quality: { inbound: { lossPercent: 1.2 } } });
    const now = 1_760_000_000;
    const sig = signReport(SECRET, URL_, body, now);
    expect(sig).toMatch(/^t=1760000000,v1=[0-9a-f]{64}$/);
    expect(verifyReport(SECRET, sig, URL_, body, 300, now + 10)).toBe(true);
    expect(verifyReport(SECRET, sig, URL_, body.replace('1.2', '0.2'), 300, now)).toBe(false);
    expect(verifyReport(SECRET, sig, 'https://evil.example/hooks/call-ended', body, 300, now)).toBe(false);
    expect(verifyReport('another-secret-0123456789abcdef', sig, URL_, body, 300, now)).toBe(false);
    expect(verifyReport(SECRET, sig, URL_, body, 300, now + 301)).toBe(false);
    expect(verifyReport(SECRET, 'v1=abc', URL_, body, 300, now)).toBe(false);
    // Dial signatures are a different message: neither passes for the other.
    expect(verifyDial(SECRET, signReport(SECRET, URL_, 'c1', now), URL_, 'c1', 300, now)).toBe(false);
    expect(verifyDial(SECRET, signDial(SECRET, URL_, 'c1', now), URL_, 'c1', 300, now)).toBe(true);
  });
});

describe('route options record and events', () => {
  const agent = { url: 'wss://agent.example/voice' };
  it('are off by default; record takes true or {caller}; events needs an http(s) URL', () => {
    expect(parseRoute({ agent })).toMatchObject({ record: null, events: null });
    expect(parseRoute({ agent, record: true }).record).toEqual({ caller: 'raw' });
    expect(parseRoute({ agent, record: { caller: 'denoised' } }).record).toEqual({ caller: 'denoised' });
    expect(parseRoute({ agent, record: false }).record).toBeNull();
    expect(parseRoute({ agent, events: { url: 'https://ops.example/h' } }).events).toEqual({ url: 'https://ops.example/h' });
    expect(() => parseRoute({ agent, record: 'yes' })).toThrow(/route\.record/);
    expect(() => parseRoute({ agent, record: { caller: 'both' } })).toThrow(/route\.record\.caller/);
    expect(() => parseRoute({ agent, record: { format: 'mp3' } })).toThrow(/route\.record\.format: unknown option/);
    expect(() => parseRoute({ agent, events: { url: 'ftp://ops.example/h' } })).toThrow(/route\.events\.url/);
    expect(() => parseRoute({ agent, events: 'https://ops.example/h' })).toThrow(/route\.events/);
  });
});
