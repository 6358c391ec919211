import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SipResponse } from '../../../gateway/src/sip/message.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import { fixture, xcorrPeak } from '../../helpers/audio.js';
import { ulawRoundTrip } from '../../helpers/gateway.js';
import { RawUac, sdpOffer, sendTcp } from './rawSip.js';
import { RtpPeer } from './rtpPeer.js';
import { agentRoute, drops, NUMBER, sleep, startSipGateway, waitFor } from './sipGateway.js';

/**
 * What an open SIP port gets on the internet: INVITE floods, stray and unknown requests,
 * garbage, oversized messages, callers outside every trunk, wrong passwords. Each is refused
 * with the status RFC 3261 gives it, or dropped and counted, and a live call beside them goes on.
 */

/**
 * An Authorization header answering `challenge` (RFC 7616 §3.4, qop=auth), computed here with
 * node:crypto (not with the gateway's digest code). SIPp cannot be the client: 3.6 answers only
 * the first challenge and only MD5, and RFC 8760 has the gateway offer SHA-256 first.
 */
function digestAuthorization(challenge: string, user: string, password: string, method: string, uri: string): string {
  const p = (k: string): string | undefined => new RegExp(`${k}="?([^",]+)"?`, 'i').exec(challenge)?.[1];
  const algorithm = p('algorithm') ?? 'MD5';
  const h = (s: string): string =>
    createHash(algorithm.toUpperCase() === 'SHA-256' ? 'sha256' : 'md5')
      .update(s)
      .digest('hex');
  const realm = p('realm')!;
  const nonce = p('nonce')!;
  const cnonce = randomBytes(8).toString('hex');
  const nc = '00000001';
  const response = h(`${h(`${user}:${realm}:${password}`)}:${nonce}:${nc}:${cnonce}:auth:${h(`${method}:${uri}`)}`);
  const opaque = p('opaque');
  return `Digest username="${user}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"${opaque !== undefined ? `, opaque="${opaque}"` : ''}`;
}

const rtpPortOf = (res: SipResponse): number => Number(/m=audio (\d+)/.exec(res.body.toString())?.[1]);

describe('abuse at the SIP port', () => {
  let agent: TestAgent;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    agent = await TestAgent.listen();
  });
  afterAll(async () => {
    await agent.close();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function gateway(
    overrides: Parameters<typeof startSipGateway>[2] = {},
    trunks?: unknown,
  ): Promise<Awaited<ReturnType<typeof startSipGateway>>> {
    const g = await startSipGateway({ numbers: { [NUMBER]: agentRoute(agent.url) } }, trunks, overrides);
    cleanups.push(() => g.gw.close());
    return g;
  }

  async function uac(port: number): Promise<RawUac> {
    const u = await RawUac.open(port);
    cleanups.push(() => u.close());
    return u;
  }

  it("answers the balancer's OPTIONS probe 503 while at MAX_CALLS, and 200 again once a call ends", async () => {
    const { gw, sipPort } = await gateway({ maxCalls: 1 });
    const u = await uac(sipPort);
    let n = 0;
    const probe = async (): Promise<number> => {
      const o = { callId: `probe-${++n}@raw`, fromTag: `p${n}`, cseq: 1 };
      u.peer.send(u.request('OPTIONS', o), sipPort);
      return (await u.final({ ...o, toTag: '' }, 'OPTIONS')).status;
    };
    const idle = await probe();
    const media = await RtpPeer.open();
    cleanups.push(() => media.close());
    const c = await u.call(sdpOffer(media.port));
    const full = await probe();
    u.inDialog(c, 'BYE');
    await waitFor(() => gw.calls.size === 0, 5000, 'the call to end');
    const again = await probe();
    console.log(`OPTIONS: idle ${idle}, at MAX_CALLS ${full}, after the call ended ${again}`);
    expect([idle, full, again]).toEqual([200, 503, 200]);
  });

  it('a caller who hangs up before its ACK arrives (the BYE first): the call ends at once, not after 64·T1, and gets no BYE back', async () => {
    const { gw, sipPort } = await gateway();
    const u = await uac(sipPort);
    const media = await RtpPeer.open();
    cleanups.push(() => media.close());
    const c = u.invite(sdpOffer(media.port));
    expect((await u.final(c)).status).toBe(200);
    u.inDialog(c, 'BYE');
    expect((await u.final(c, 'BYE')).status).toBe(200);
    // The 200 is sent again until 64·T1 = 32 s without an ACK; the call must not wait for that.
    await waitFor(() => gw.calls.size === 0, 5000, 'the call to end');
    u.ack(c);
    await sleep(1000);
    expect(u.peer.received.filter((x) => x.type === 'request' && x.method === 'BYE')).toEqual([]);
    expect(gw.sip!.ua.dialogCount).toBe(0);
  });

  it('an INVITE whose SDP names an inside address DIAL_ALLOW does not open gets no RTP there until media came from it, unless the INVITE came from that address', async () => {
    // 127.0.0.2 and 127.0.0.3 are inside and not in this gateway's DIAL_ALLOW
    const { gw, sipPort } = await gateway({ dialAllow: ['127.0.0.1', '::1'] });
    /** A phone on `host` that records the RTP (and RTCP) reaching it. */
    const phone = async (host: string) => {
      const p = await RtpPeer.open(host);
      cleanups.push(() => p.close());
      return p;
    };
    const heard = (p: RtpPeer) => p.rtp.length + p.rtcp.length;
    /** An INVITE from `from` whose SDP names `media`; the agent then talks for 1 s. */
    const place = async (from: string, media: { port: number }, address: string) => {
      const u = await RawUac.open(sipPort, from);
      cleanups.push(() => u.close());
      const sessions = agent.sessions.length;
      const c = u.invite(sdpOffer(media.port, { address }));
      const ok = await u.final(c);
      expect(ok.status).toBe(200);
      u.ack(c);
      await waitFor(() => agent.sessions.length > sessions, 5000, 'the agent session');
      agent.sessions[agent.sessions.length - 1]!.sendAudio(fixture('caller-en-f-8k.wav').samples.subarray(0, 8000));
      return { u, c, rtpPort: rtpPortOf(ok) };
    };
    // An INVITE from 127.0.0.1 naming 127.0.0.2; and a PBX at 127.0.0.3 naming itself.
    const inside = await phone('127.0.0.2');
    const pbx = await phone('127.0.0.3');
    const a = await place('127.0.0.1', inside, '127.0.0.2');
    const b = await place('127.0.0.3', pbx, '127.0.0.3');
    await sleep(1000);
    const before = heard(inside); // 50 packets/s would have gone there
    const pbxHeard = heard(pbx);
    // the inside phone speaks (0.5 s of µ-law silence): from then on it is answered every 20 ms
    await inside.streamUlaw(new Int16Array(25 * 160), a.rtpPort);
    await waitFor(() => heard(inside) >= 10, 3000, 'packets to the phone once it spoke');
    console.log(
      `inside SDP address: ${before} packets before it spoke, ${heard(inside)} after; the INVITE's own address: ${pbxHeard} packets in 1 s`,
    );
    expect(before).toBe(0);
    expect(pbxHeard).toBeGreaterThan(10);
    for (const x of [a, b]) x.u.inDialog(x.c, 'BYE');
    await waitFor(() => gw.calls.size === 0, 3000, 'the calls to end');
  });

  it('a flood beyond MAX_CALLS / CALL_RATE_LIMIT gets 503 + Retry-After, stray/unknown/garbage input is refused or counted, the live call keeps its audio', async () => {
    const { gw, sipPort } = await gateway({ maxCalls: 1, callsPerSecond: 5 });
    const media = await RtpPeer.open();
    cleanups.push(() => media.close());
    const live = await uac(sipPort);
    const c = live.invite(sdpOffer(media.port));
    const ok = await live.final(c);
    expect(ok.status).toBe(200);
    live.ack(c);
    const s = agent.sessions[agent.sessions.length - 1]!;
    const speech = fixture('caller-en-f-8k.wav').samples.subarray(0, 8000 * 5);
    const streaming = media.streamUlaw(speech, rtpPortOf(ok));

    // The flood: 40 INVITEs as fast as the socket takes them.
    const flood = await uac(sipPort);
    const calls = Array.from({ length: 40 }, () => flood.invite(sdpOffer(4000)));
    const finals = await Promise.all(calls.map((x) => flood.final(x)));
    const statuses = finals.map((r) => r.status);
    const retryAfter = finals.map((r) => r.headers.get('retry-after'));
    // Unknown dialog, unknown and unsupported methods.
    const stray = await uac(sipPort);
    const bye = { callId: 'nobody@raw', fromTag: 'x1', toTag: 'y1', cseq: 1 };
    stray.peer.send(stray.request('BYE', bye), sipPort);
    const foo = { callId: 'foo@raw', fromTag: 'x2', cseq: 1 };
    stray.peer.send(stray.request('FOO', foo), sipPort);
    const sub = { callId: 'sub@raw', fromTag: 'x3', cseq: 1 };
    stray.peer.send(stray.request('SUBSCRIBE', sub), sipPort);
    const byeRes = await stray.final({ ...bye, toTag: '' }, 'BYE');
    const fooRes = await stray.final({ ...foo, toTag: '' }, 'FOO');
    const subRes = await stray.final({ ...sub, toTag: '' }, 'SUBSCRIBE');
    // Garbage and oversized messages: over UDP (not SIP at all, a truncated start line, 150
    // headers) and over TCP (a 100 kB body).
    const before = await drops(gw);
    stray.peer.send('\x00\x01\x02 not sip at all', sipPort);
    stray.peer.send('INVITE sip:x SIP/2.0\r\nVia: broken\r\n\r\n', sipPort);
    stray.peer.send('OPTIONS sip:x@127.0.0.1 SIP/9.9\r\n\r\n', sipPort);
    stray.peer.send(
      stray.request(
        'OPTIONS',
        { callId: 'big@raw', fromTag: 'x4', cseq: 1 },
        '',
        '',
        Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}`),
      ),
      sipPort,
    );
    const big = 'x'.repeat(100_000);
    await sendTcp(sipPort, Buffer.from(stray.request('OPTIONS', { callId: 'tcp@raw', fromTag: 'x5', cseq: 1 }, big, 'text/plain')));
    await streaming;
    await sleep(300);
    const after = await drops(gw);

    console.log(
      `flood: ${statuses.filter((x) => x === 503).length}/40 answered 503 (Retry-After ${retryAfter[0]}); stray BYE ${byeRes.status}, FOO ${fooRes.status}, SUBSCRIBE ${subRes.status}; drops before ${JSON.stringify(before)} after ${JSON.stringify(after)}; live call: ${s.frames.length} frames at the agent`,
    );
    expect(statuses).toEqual(Array(40).fill(503));
    expect(retryAfter.every((v) => v !== undefined && Number(v) > 0)).toBe(true);
    expect(byeRes.status).toBe(481);
    expect(fooRes.status).toBe(501);
    expect(subRes.status).toBe(405);
    const sipDrops = Object.entries(after)
      .filter(([k]) => k.startsWith('SIP_'))
      .reduce((a, [k, v]) => a + v - (before[k] ?? 0), 0);
    expect(sipDrops).toBeGreaterThanOrEqual(4);
    expect((after['SIP_TOO_LARGE'] ?? 0) - (before['SIP_TOO_LARGE'] ?? 0)).toBeGreaterThanOrEqual(2);

    // The live call heard every packet, and what it heard is what was sent.
    expect(gw.calls.size).toBe(1);
    expect(s.frames.length).toBeGreaterThanOrEqual(245);
    // 3 s from t = 1 s of what was sent, searched over ±250 ms around the same place in what was heard.
    const m = xcorrPeak(ulawRoundTrip(speech).subarray(8000, 8000 * 4), s.audio().subarray(6000), 4000);
    console.log(`live call through the flood: xcorr ${m.peak.toFixed(4)}, ${s.frames.length} frames`);
    expect(m.peak).toBeGreaterThanOrEqual(0.9);
    expect(after['RTP_FOREIGN_SOURCE']).toBeUndefined();

    // Our BYE ends it; the gateway answers 200 and sends no BYE back.
    live.inDialog(c, 'BYE');
    expect((await live.final(c, 'BYE')).status).toBe(200);
    await waitFor(() => gw.calls.size === 0, 3000, 'the call to end');
    await sleep(1000);
    expect(live.peer.received.filter((x) => x.type === 'request' && x.method === 'BYE')).toEqual([]);
    expect(gw.sip!.ua.dialogCount).toBe(0);
  }, 40_000);

  it('an INVITE from outside every trunk’s allow-list gets 403', async () => {
    const { gw, sipPort } = await gateway({}, { trunks: [{ name: 'carrier', allow: ['203.0.113.0/24', '10.0.0.0/8'] }] });
    const u = await uac(sipPort);
    const c = u.invite(sdpOffer(4000));
    const res = await u.final(c);
    console.log(`INVITE from 127.0.0.1 to a gateway allowing 203.0.113.0/24, 10.0.0.0/8: ${res.status}`);
    expect(res.status).toBe(403);
    expect(gw.calls.size).toBe(0);
  });

  it('an unknown number gets 404, an offer with no common codec 488', async () => {
    const { gw, sipPort } = await startSipGateway({ numbers: { [NUMBER]: agentRoute(agent.url) } });
    cleanups.push(() => gw.close());
    const u = await uac(sipPort);
    const c = u.invite(
      sdpOffer(4000)
        .replace(/m=audio 4000 RTP\/AVP 0 101/, 'm=audio 4000 RTP/AVP 18')
        .replace('a=rtpmap:0 PCMU/8000', 'a=rtpmap:18 G729/8000'),
    );
    expect((await u.final(c)).status).toBe(488);
    const other = u
      .request('INVITE', { callId: 'x404@raw', fromTag: 'f', cseq: 1 }, sdpOffer(4000))
      .replace(/\+14155550100/g, '+14155550999');
    u.peer.send(other, sipPort);
    expect((await u.final({ callId: 'x404@raw', fromTag: 'f', toTag: '', cseq: 1 })).status).toBe(404);
    expect(gw.calls.size).toBe(0);
  });

  it('a trunk with digest (RFC 8760): 401 with SHA-256 and MD5 challenges, the call with the right password under each, 401 with a wrong one', async () => {
    const { gw, sipPort } = await gateway({}, { trunks: [{ name: 'pbx', auth: { username: 'pbx', password: 'pbx-secret-1' } }] });
    const u = await uac(sipPort);
    const results: string[] = [];
    for (const [algorithm, password] of [
      ['SHA-256', 'pbx-secret-1'],
      ['MD5', 'pbx-secret-1'],
      ['MD5', 'not-the-password'],
    ] as const) {
      const media = await RtpPeer.open();
      cleanups.push(() => media.close());
      const sdp = sdpOffer(media.port);
      const c = u.invite(sdp);
      const challenged = await u.final(c);
      expect(challenged.status).toBe(401);
      const challenges = challenged.headers.getAll('www-authenticate');
      const ch = challenges.find((h) => new RegExp(`algorithm=${algorithm}(,|$)`, 'i').test(h));
      expect(ch, challenges.join(' | ')).toBeDefined();
      u.ack(c);
      const uri = `sip:+14155550100@127.0.0.1:${sipPort}`;
      const auth = digestAuthorization(ch!, 'pbx', password, 'INVITE', uri);
      const retry = { callId: c.callId, fromTag: c.fromTag, cseq: 2 };
      u.peer.send(u.request('INVITE', retry, sdp, 'application/sdp', [`Authorization: ${auth}`]), sipPort);
      const res = await u.final({ ...retry, toTag: '' });
      results.push(`${algorithm}/${password === 'pbx-secret-1' ? 'right' : 'wrong'} → ${res.status}`);
      if (password === 'pbx-secret-1') {
        expect(res.status).toBe(200);
        const call = { ...retry, toTag: /;tag=([^;\s]+)/.exec(res.headers.get('to') ?? '')?.[1] ?? '' };
        u.peer.send(u.request('ACK', call), sipPort);
        await waitFor(() => gw.calls.size === 1, 2000, 'the authenticated call');
        expect([...agent.sessions].pop()?.start).toMatchObject({ params: { sipTrunk: 'pbx' } });
        u.inDialog(call, 'BYE');
        expect((await u.final(call, 'BYE')).status).toBe(200);
        await waitFor(() => gw.calls.size === 0, 3000, 'the call to end');
      } else {
        expect([401, 403]).toContain(res.status);
        u.ack({ ...retry, toTag: '' });
      }
    }
    console.log(`digest trunk: ${results.join('; ')}`);
    expect(gw.calls.size).toBe(0);
  }, 30_000);
});
