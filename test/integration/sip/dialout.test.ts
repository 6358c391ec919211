import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { Baresip } from '../../../testkit/Baresip.js';
import { Sipp } from '../../../testkit/Sipp.js';
import { TestAgent, type AgentSession } from '../../../testkit/TestAgent.js';
import { fixture, xcorrPeak } from '../../helpers/audio.js';
import { resampleAll } from '../../helpers/gateway.js';
import { cseqOf } from '../../../gateway/src/sip/message.js';
import type { SipRequest, SipResponse } from '../../../gateway/src/sip/message.js';
import { answerThenBye, RawPeer } from './peers.js';
import { RtpPeer, toInt16 } from './rtpPeer.js';
import { agentRoute, segmentXcorr, sleep, startSipGateway, waitFor } from './sipGateway.js';

/**
 * The gateway calls out (`POST /v1/calls` with `"sip"`): to a SIPp callee that challenges with a
 * 401 digest, to baresip answering automatically, and to a SIPp callee that takes a transfer.
 */
const SIPP = Sipp.available();
const BARESIP = Baresip.available();
if (!SIPP) console.warn('SKIPPING SIP dial-out tests with SIPp: `sipp` is not installed (apt-get install -y sip-tester)');
if (!BARESIP) console.warn('SKIPPING SIP dial-out test with baresip: `baresip` is not installed (apt-get install -y baresip-core)');

const FIXTURES = join(import.meta.dirname, '../../fixtures/sip/gateway');

describe.skipIf(!SIPP && !BARESIP)('dial-out over SIP', () => {
  let gw: Gateway;
  let url: string;
  let agent: TestAgent;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    agent = await TestAgent.listen();
    ({ gw, url } = await startSipGateway({}));
  });
  afterAll(async () => {
    await gw.close();
    await agent.close();
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const reply = (async () => toInt16((await resampleAll(fixture('agent-reply-24k.wav').samples, 24000, 8000)).pcm))();

  async function dial(sip: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${url}/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sip, route: agentRoute(agent.url) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function sessionOf(callId: string): Promise<AgentSession> {
    return agent.session(callId, 10_000);
  }

  it('to a callee whose BYE comes in the same TCP read as its 200: the BYE answered 200, POST answers 502, no call left', async () => {
    const callee = await RawPeer.listenTcp();
    cleanups.push(() => callee.close());
    const pending = dial({ uri: `sip:+14155550199@127.0.0.1:${callee.port};transport=tcp`, from: 'sip:+14155550100@127.0.0.1' });
    const invite = (await callee.next((m) => m.type === 'request' && m.method === 'INVITE')) as SipRequest;
    callee.send(answerThenBye(invite, callee.port), 0);
    const r = await pending;
    const byeAnswer = (await callee.next((m) => m.type === 'response' && cseqOf(m).method === 'BYE')) as SipResponse;
    expect(byeAnswer.status).toBe(200);
    expect(r.status, JSON.stringify(r.body)).toBe(502);
    expect((r.body['error'] as Record<string, unknown>)['code']).toBe('SIP_CALL_FAILED');
    expect(gw.calls.size).toBe(0);
    expect(gw.sip!.ua.dialogCount).toBe(0);
  });

  it.skipIf(!SIPP)(
    'to a SIPp callee that challenges with 401: digest retry, connected, agent audio reaches it',
    async () => {
      const media = await RtpPeer.open();
      cleanups.push(() => media.close());
      const uas = await Sipp.start(['-sf', join(FIXTURES, 'uas_digest.xml'), '-key', 'media1', String(media.port)], {
        calls: 1,
        timeoutS: 40,
      });
      cleanups.push(() => uas.stop());
      await sleep(300); // SIPp binds its port
      const r = await dial({
        uri: `sip:+14155550199@127.0.0.1:${uas.port}`,
        from: 'sip:+14155550100@127.0.0.1',
        auth: { username: 'gw', password: 's3cret-pass' },
        headers: { 'X-Campaign': 'evidence' },
      });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const callId = String(r.body['callId']);
      const s = await sessionOf(callId);
      expect(s.start).toMatchObject({ to: '+14155550199', from: '+14155550100' });
      const pcm = (await reply).subarray(0, 8000 * 2);
      s.sendAudio(pcm); // one burst: the gateway's playout paces it
      await sleep(2000 + 500);
      const del = await fetch(`${url}/v1/calls/${callId}`, { method: 'DELETE' });
      expect(del.status).toBeLessThan(300);
      const res = await uas.result();
      expect(res, res.stderr + res.errors).toMatchObject({ code: 0, successful: 1, failed: 0 });
      const heard = media.audio(0);
      const m = segmentXcorr(pcm.subarray(0, 8000 * 2), heard);
      console.log(
        `dial-out to SIPp (401 digest): ${media.rtp.length} RTP packets, agent→callee xcorr median ${m.median.toFixed(4)} over 0.5 s segments ${JSON.stringify(m.peaks.map((x) => +x.toFixed(4)))}`,
      );
      expect(m.median).toBeGreaterThanOrEqual(0.9);
      expect(gw.calls.size).toBe(0);
    },
    60_000,
  );

  it.skipIf(!SIPP)(
    'with the wrong password: the callee refuses (403), POST answers an error, nothing is left',
    async () => {
      const media = await RtpPeer.open();
      cleanups.push(() => media.close());
      const uas = await Sipp.start(['-sf', join(FIXTURES, 'uas_digest.xml'), '-key', 'media1', String(media.port)], {
        calls: 1,
        timeoutS: 20,
      });
      cleanups.push(() => uas.stop());
      await sleep(300);
      const r = await dial({ uri: `sip:+14155550199@127.0.0.1:${uas.port}`, auth: { username: 'gw', password: 'wrong-password' } });
      console.log(`dial-out with a wrong password: ${r.status} ${JSON.stringify(r.body)}`);
      expect(r.status).toBe(502);
      expect(JSON.stringify(r.body)).toMatch(/403/);
      expect(gw.calls.size).toBe(0);
      expect(gw.sip!.ua.dialogCount).toBe(0);
    },
    30_000,
  );

  it.skipIf(!BARESIP)(
    'to baresip (answermode=auto): audio both ways (xcorr ≥ 0.9), agent hangup ends baresip’s call',
    async () => {
      const speech = fixture('caller-en-gb-8k.wav').samples.subarray(0, 8000 * 4);
      const b = await Baresip.start({ source: speech, seconds: 30, user: 'callee' });
      cleanups.push(() => b.stop());
      const r = await dial({ uri: b.uri('callee') });
      expect(r.status, JSON.stringify(r.body) + b.log).toBe(201);
      const s = await sessionOf(String(r.body['callId']));
      await waitFor(() => s.frames.length >= 250, 15_000, '5 s of callee audio at the agent');
      const pcm = (await reply).subarray(0, 8000 * 2.5);
      s.sendAudio(pcm);
      await sleep(2500 + 800);
      s.send({ type: 'hangup' });
      await waitFor(() => b.saw(/terminated/), 5000, 'baresip: call terminated');
      await waitFor(() => gw.calls.size === 0, 5000, 'the call to end');
      const { sent, received } = b.recordings();
      const up = xcorrPeak(sent.subarray(4000, 4000 + 8000 * 3), s.audio(), 8000);
      const down = segmentXcorr(pcm.subarray(0, 8000 * 2), received);
      console.log(
        `dial-out to baresip: callee→agent xcorr ${up.peak.toFixed(4)}, agent→callee xcorr median ${down.median.toFixed(4)} (0.5 s segments, min ${down.min.toFixed(4)})`,
      );
      expect(up.peak).toBeGreaterThanOrEqual(0.9);
      expect(down.median).toBeGreaterThanOrEqual(0.9);
    },
    60_000,
  );

  it.skipIf(!SIPP)(
    'transfer: the agent asks for it, REFER reaches the callee (202, NOTIFY 200), the call ends "transferred"',
    async () => {
      const media = await RtpPeer.open();
      cleanups.push(() => media.close());
      const uas = await Sipp.start(['-sf', join(FIXTURES, 'uas_refer.xml'), '-key', 'media1', String(media.port)], {
        calls: 1,
        timeoutS: 30,
        traceMessages: true,
      });
      cleanups.push(() => uas.stop());
      await sleep(300);
      const r = await dial({ uri: `sip:+14155550199@127.0.0.1:${uas.port}` });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      const s = await sessionOf(String(r.body['callId']));
      await sleep(500);
      s.send({ type: 'transfer', to: 'sip:+14155550142@127.0.0.1:5090' });
      await s
        .until(() => s.closed || s.eventsOf('stop').length > 0, 10_000, 'the agent to be stopped')
        .catch(async (e: unknown) => {
          const r = await uas.stop();
          throw new Error(`${String(e)}\n${r.errors}\n${r.messages}`);
        });
      const res = await uas.result();
      expect(res, res.stderr + res.errors).toMatchObject({ code: 0, successful: 1, failed: 0 });
      expect(res.messages).toMatch(/REFER sip:callee@127\.0\.0\.1:\d+ SIP\/2\.0/);
      expect(res.messages).toMatch(/Refer-To: <sip:\+14155550142@127\.0\.0\.1:5090>/i);
      const stop = s.eventsOf('stop')[0]?.msg;
      console.log(`transfer: agent told ${JSON.stringify(stop)}; SIPp saw REFER, answered 202 + NOTIFY 200, got BYE`);
      expect(stop).toMatchObject({ type: 'stop', reason: 'transferred' });
      await waitFor(() => gw.calls.size === 0, 3000, 'the call to be gone');
    },
    45_000,
  );
});
