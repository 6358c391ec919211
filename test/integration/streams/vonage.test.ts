import { describe, expect, it } from 'vitest';
import { VonagePeer } from '../../../testkit/platforms/VonagePeer.js';
import { agentHangsUp, callerHangsUp, expectNoCallSince, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

const SECRET = 'vonage-signature-secret-0123456789';
process.env['VONAGE_SIGNATURE_SECRET'] = SECRET;

const env = gatewayWithAgent();

describe('Vonage WebSocket into the gateway', () => {
  it('carries a full call at 16 kHz: audio both ways at real-time pace, notify at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550501';
    const peer = await VonagePeer.call({ gateway: env.url, from: '+14155550123', to, secret: SECRET });
    const s = await sessionTo(env.agent, to);
    const m = await fullCall(peer, s, 'l16');
    report('vonage', m);
    const binary = peer.received.filter((r) => r.msg === null);
    expect(binary.length).toBeGreaterThan(50);
    for (const r of binary) expect(r.bytes).toBe(640);
    expect(peer.received.some((r) => r.msg?.['action'] === 'clear')).toBe(true);
    await callerHangsUp(peer, s, 'edge_closed');
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await VonagePeer.call({ gateway: env.url, from: '+14155550123', to: '+14155550502', secret: SECRET });
    const s = await sessionTo(env.agent, '+14155550502');
    await agentHangsUp(peer, s);
  });

  it('refuses an answer_url request with a bad or missing JWT with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const o = { gateway: env.url, from: '+14155550123', to: '+14155550503', uuid: 'u' };
    const statuses = [
      (await VonagePeer.answer({ ...o, authorization: `Bearer ${await VonagePeer.jwt('some-other-secret-0123456789')}` })).status,
      (await VonagePeer.answer(o)).status,
      (await VonagePeer.answer({ ...o, authorization: 'Bearer a.b.c' })).status,
    ];
    expect(statuses).toEqual([403, 403, 403]);
    expectNoCallSince(env.gw, '+14155550123', t403);
  });
});
