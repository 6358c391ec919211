import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { Auth, signDial, verifyDial } from '../../gateway/src/auth.js';
import { parseRoute } from '../../gateway/src/route.js';
import { RoutingTable } from '../../gateway/src/routing.js';
import { loadSettings } from '../../gateway/src/settings.js';
import { TokenBucket } from '../../gateway/src/rateLimit.js';
import { toE164 } from '../../gateway/src/e164.js';
import { GatewayError } from '../../gateway/src/errors.js';
import { PlayoutQueue } from '../../gateway/src/media/PlayoutQueue.js';
import { Reorderer } from '../../gateway/src/media/Reorderer.js';
import { VoiceActivity } from '../../gateway/src/media/VoiceActivity.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as GatewayError).code;
  }
  return 'no error';
}

describe('E.164 normalisation', () => {
  it.each([
    ['+1 (415) 555-0100', '+14155550100'],
    ['0044 20 7946 0958', '+442079460958'],
    ['tel:+49-30-1234567', '+49301234567'],
    ['sip:+33123456789@trunk.example;user=phone', '+33123456789'],
    ['14155550100', '+14155550100'],
  ])('%s → %s', (input, out) => expect(toE164(input)).toBe(out));

  it.each(['', '+0123456789', '+1234', '+1234567890123456', 'alice', '+1 415 CALL NOW'])('refuses %j with INVALID_NUMBER', (input) => {
    expect(codeOf(() => toE164(input))).toBe('INVALID_NUMBER');
  });
});

describe('routing config', () => {
  const agent = { agent: { url: 'ws://agent.example/voice' } };
  it('routes exact numbers first, then the longest prefix, then the default', () => {
    const t = new RoutingTable({
      numbers: {
        '+14155550100': { ...agent, sampleRate: 16000 },
        '+1415*': { ...agent, sampleRate: 8000 },
        '+1*': { ...agent, sampleRate: 48000 },
      },
      default: { agent: { url: 'builtin:echo' } },
    });
    expect(t.lookup('+14155550100').sampleRate).toBe(16000);
    expect(t.lookup('+14155550199').sampleRate).toBe(8000);
    expect(t.lookup('+12125550100').sampleRate).toBe(48000);
    expect(t.lookup('+442079460958').agent.url).toBe('builtin:echo');
    expect(t.lookup(undefined).agent.url).toBe('builtin:echo');
  });

  it('defaults to the built-in echo agent at 24 kHz with denoise auto', () => {
    const r = new RoutingTable({}).lookup('+14155550100');
    expect(r).toMatchObject({ agent: { url: 'builtin:echo', dialect: 'native' }, sampleRate: 24000, denoise: 'auto' });
  });

  it.each([
    [{ numbers: { '+14155550100': { agent: { url: 'http://x' } } } }, 'config.numbers["+14155550100"].agent.url'],
    [{ numbers: { abc: agent } }, 'config.numbers["abc"]'],
    [{ default: { agent: { url: 'ws://a' }, sampleRate: 44100 } }, 'config.default.sampleRate'],
    [{ default: { agent: { url: 'ws://a', dialect: 'skype' } } }, 'config.default.agent.dialect'],
    [{ default: { agent: { url: 'ws://a', headers: { x: 1 } } } }, 'config.default.agent.headers'],
    [{ default: { agent: { url: 'ws://a' }, denoise: 'yes' } }, 'config.default.denoise'],
    [{ numbers: [] }, 'config.numbers'],
  ])('rejects %j naming %s', (raw, field) => {
    try {
      new RoutingTable(raw);
      expect.unreachable();
    } catch (err) {
      expect((err as GatewayError).code).toBe('CONFIG_INVALID');
      expect((err as Error).message.startsWith(field)).toBe(true);
    }
  });

  it('turns autoClear and the duck events on for native agents only, and checks the barge-in options', () => {
    expect(parseRoute({ agent: { url: 'ws://a' } }).bargeIn).toMatchObject({ autoClear: true, duckEvents: true, duckDb: 12, silero: true });
    expect(parseRoute({ agent: { url: 'ws://a', dialect: 'twilio' } }).bargeIn).toMatchObject({ autoClear: false, duckEvents: false });
    expect(parseRoute({ agent: { url: 'ws://a' }, bargeIn: { duckDb: 0, shortUtteranceMs: 800 } }).bargeIn).toMatchObject({
      duckDb: 0,
      shortUtteranceMs: 800,
    });
    expect(() => parseRoute({ agent: { url: 'ws://a' }, bargeIn: { duckDb: -3 } })).toThrow(/route\.bargeIn\.duckDb/);
    expect(() => parseRoute({ agent: { url: 'ws://a' }, bargeIn: { silero: 'yes' } })).toThrow(/route\.bargeIn\.silero/);
  });

  it('accepts inline routes with headers and params, frozen', () => {
    const r = parseRoute({ agent: { url: 'wss://a.example/x', headers: { authorization: 'Bearer t' } }, params: { lang: 'en' } });
    expect(r.agent.headers).toEqual({ authorization: 'Bearer t' });
    expect(Object.isFrozen(r)).toBe(true);
  });
});

describe('Reorderer', () => {
  function harness(opts = {}) {
    const out: (number | string)[] = [];
    const r = new Reorderer({ packet: (_pt, ts) => out.push(ts), lost: (n) => out.push(`lost${n}`) }, opts);
    const push = (seq: number, at = 0) => r.push(seq & 0xffff, 0, seq, new Uint8Array(1), at, false);
    return { r, out, push };
  }

  it('delivers in-order packets at once, across the 16-bit wrap', () => {
    const h = harness();
    for (let s = 65530; s < 65540; s++) expect(h.push(s)).toBe('ok');
    expect(h.out).toEqual([...Array(10).keys()].map((i) => 65530 + i));
  });

  it('puts a swapped pair back in order without declaring loss', () => {
    const h = harness();
    [1, 2, 4, 3, 5].forEach((s) => h.push(s));
    expect(h.out).toEqual([1, 2, 3, 4, 5]);
  });

  it('declares a gap lost once `window` newer packets arrived', () => {
    const h = harness({ window: 3 });
    [1, 2, 4, 5].forEach((s) => h.push(s));
    expect(h.out).toEqual([1, 2]);
    h.push(6);
    expect(h.out).toEqual([1, 2, 'lost1', 4, 5, 6]);
    expect(h.r.lostTotal).toBe(1);
  });

  it('declares a gap lost when it has waited maxWaitMs (end of talkspurt)', () => {
    const h = harness({ maxWaitMs: 60 });
    h.push(1, 0);
    h.push(3, 20);
    h.r.flushStale(50);
    expect(h.out).toEqual([1]);
    h.r.flushStale(80);
    expect(h.out).toEqual([1, 'lost1', 3]);
  });

  it('reports late and duplicate packets and drops them', () => {
    const h = harness();
    [1, 2, 3].forEach((s) => h.push(s));
    expect(h.push(2)).toBe('late');
    h.push(5);
    expect(h.push(5)).toBe('duplicate');
  });

  it('says what follows a gap: its payload type and marker bit', () => {
    const gaps: [number, number, boolean][] = [];
    const r = new Reorderer({ packet: () => undefined, lost: (n, pt, marker) => gaps.push([n, pt, marker]) }, { maxWaitMs: 60 });
    r.push(1, 0, 160, new Uint8Array(1), 0, false);
    r.push(3, 13, 480, new Uint8Array(1), 20, false); // comfort noise after a lost packet
    r.flushStale(80);
    r.push(6, 0, 1600, new Uint8Array(1), 100, true); // a talkspurt's first packet after two lost
    r.flushStale(160);
    expect(gaps).toEqual([
      [1, 13, false],
      [2, 0, true],
    ]);
  });

  it('resynchronises on a large jump instead of concealing it', () => {
    const h = harness();
    h.push(1);
    expect(h.push(30000)).toBe('resync');
    h.push(30001);
    expect(h.out).toEqual([1, 30000, 30001]);
  });
});

describe('PlayoutQueue', () => {
  it('stops at a mark so its position is exact, and reports marks dropped by clear', () => {
    const q = new PlayoutQueue(1000);
    q.pushAudio(Int16Array.from([1, 2, 3]), 0);
    q.pushMark('a');
    q.pushAudio(Int16Array.from([4, 5]), 0);
    q.pushMark('b');
    const dst = new Int16Array(4);
    expect(q.pull(dst).filled).toBe(3);
    expect([...dst]).toEqual([1, 2, 3, 0]);
    expect(q.shiftMark()).toBe('a');
    expect(q.queued).toBe(2);
    expect(q.clear()).toEqual(['b']);
    expect(q.empty).toBe(true);
  });

  it('refuses audio beyond its bound', () => {
    const q = new PlayoutQueue(5);
    expect(q.pushAudio(new Int16Array(4), 0)).toBe(true);
    expect(q.pushAudio(new Int16Array(2), 0)).toBe(false);
    expect(q.queued).toBe(4);
  });

  it('pulls across chunk boundaries and reports the arrival time of the first new chunk', () => {
    const q = new PlayoutQueue(100);
    q.pushAudio(Int16Array.from([1, 2]), 10);
    q.pushAudio(Int16Array.from([3, 4, 5]), 20);
    const dst = new Int16Array(4);
    const r = q.pull(dst);
    expect([...dst]).toEqual([1, 2, 3, 4]);
    expect(r.firstReceivedAt).toBe(10);
    expect(q.pull(dst).firstReceivedAt).toBe(-1); // continues a chunk already started
  });
});

describe('VoiceActivity', () => {
  it('needs 3 frames to start and 50 quiet frames to stop, reporting onset media times', () => {
    const v = new VoiceActivity();
    const events = [];
    const probs: number[] = [...Array<number>(10).fill(0.1), 0.9, 0.3, ...Array<number>(20).fill(0.95), ...Array<number>(60).fill(0.05)];
    for (const p of probs) {
      const e = v.push(p);
      if (e) events.push(e);
    }
    expect(events).toEqual([
      { type: 'speech_started', atMs: 120 },
      { type: 'speech_stopped', atMs: 320 },
    ]);
  });
});

describe('TokenBucket', () => {
  it('passes a burst, then the sustained rate, and refills with time', () => {
    const b = new TokenBucket(50, 10);
    let passed = 0;
    for (let i = 0; i < 100; i++) if (b.take(0)) passed++;
    expect(passed).toBe(10);
    // 1 s later: 50 more, not 100
    passed = 0;
    for (let i = 0; i < 100; i++) if (b.take(1000)) passed++;
    expect(passed).toBe(10); // capped by the burst
    passed = 0;
    for (let t = 1000; t < 3000; t += 10) if (b.take(t)) passed++; // 100 packets/s offered for 2 s
    expect(passed).toBeGreaterThanOrEqual(99);
    expect(passed).toBeLessThanOrEqual(101);
    const open = new TokenBucket(Infinity, Infinity);
    expect(Array.from({ length: 1000 }, () => open.take(5)).every(Boolean)).toBe(true);
  });
});

describe('auth helpers', () => {
  it('finds the token in Bearer or ?token=, and in Basic (as the password) only where asked', () => {
    expect(Auth.tokenOf('Bearer abc.def.ghi', '')).toBe('abc.def.ghi');
    const basic = `Basic ${Buffer.from('AC123:abc.def.ghi').toString('base64')}`;
    expect(Auth.tokenOf(basic, '')).toBeNull();
    expect(Auth.tokenOf(basic, '', true)).toBe('abc.def.ghi');
    expect(Auth.tokenOf('', 'x=1&token=tok')).toBe('tok');
    expect(Auth.tokenOf('', 'x=1')).toBeNull();
  });

  it('with a maximum lifetime, refuses tokens that never expire or live longer', async () => {
    const key = new TextEncoder().encode('k'.repeat(32));
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, number>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const open = new Auth('k'.repeat(32));
    const capped = new Auth('k'.repeat(32), 3600);
    const forever = await sign({ iat: now });
    await expect(open.verify(forever)).resolves.toBeUndefined();
    await expect(capped.verify(forever)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(capped.verify(await sign({ iat: now, exp: now + 86_400 }))).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(capped.verify(await sign({ iat: now, exp: now + 600 }))).resolves.toBeUndefined();
  });

  it('signs dials so that only the same secret, call, URL and a recent time verify', () => {
    const sig = signDial('s'.repeat(16), 'wss://agent/x', 'call-1', 1_000_000);
    expect(verifyDial('s'.repeat(16), sig, 'wss://agent/x', 'call-1', 300, 1_000_100)).toBe(true);
    expect(verifyDial('s'.repeat(16), sig, 'wss://agent/y', 'call-1', 300, 1_000_100)).toBe(false);
    expect(verifyDial('t'.repeat(16), sig, 'wss://agent/x', 'call-1', 300, 1_000_100)).toBe(false);
    expect(verifyDial('s'.repeat(16), sig, 'wss://agent/x', 'call-1', 300, 1_000_400)).toBe(false); // replayed late
    expect(verifyDial('s'.repeat(16), 'garbage', 'wss://agent/x', 'call-1')).toBe(false);
  });

  it('refuses weak or half-configured security settings at startup, naming the variable', () => {
    expect(() => loadSettings({ GATEWAY_AUTH_SECRET: 'short' })).toThrow(/GATEWAY_AUTH_SECRET/);
    expect(() => loadSettings({ TLS_CERT_FILE: '/x.pem' })).toThrow(/TLS_KEY_FILE/);
    expect(() => loadSettings({ MAX_CALLS: '0' })).toThrow(/MAX_CALLS/);
    expect(loadSettings({ GATEWAY_AUTH_SECRET: 'x'.repeat(16) }).authSecret).toBe('x'.repeat(16));
  });

  it('validates agent retries and the fallback agent, naming the field', () => {
    expect(codeOf(() => parseRoute({ agent: { url: 'ws://a', retries: 9 } }))).toBe('CONFIG_INVALID');
    expect(() => parseRoute({ agent: { url: 'ws://a' }, fallback: { url: 'http://b' } })).toThrow(/route\.fallback\.url/);
    expect(() => parseRoute({ agent: { url: 'ws://a' }, sampleRate: 24000, fallback: { url: 'ws://b', dialect: 'twilio' } })).toThrow(
      /route\.fallback\.dialect/,
    );
    expect(parseRoute({ agent: { url: 'ws://a', retries: 2 }, fallback: { url: 'builtin:echo' } })).toMatchObject({
      agent: { retries: 2 },
      fallback: { url: 'builtin:echo', retries: 0 },
    });
  });
});
