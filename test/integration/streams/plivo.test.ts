import { describe, expect, it } from 'vitest';
import { PlivoPeer } from '../../../testkit/platforms/PlivoPeer.js';
import { agentHangsUp, callerHangsUp, expectNoCallSince, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

const PLIVO_TOKEN = 'plivo-test-auth-token';
const VOBIZ_TOKEN = 'vobiz-test-auth-token';
process.env['PLIVO_AUTH_TOKEN'] = PLIVO_TOKEN;
process.env['VOBIZ_AUTH_TOKEN'] = VOBIZ_TOKEN;

const env = gatewayWithAgent();

describe.each([
  ['plivo', false, PLIVO_TOKEN, '+14155550201'],
  ['vobiz', true, VOBIZ_TOKEN, '+14155550202'],
] as const)('%s Audio Stream into the gateway', (name, vobiz, authToken, to) => {
  it('carries a full call: audio both ways at real-time pace, checkpoints at playout, clearAudio, DTMF, caller hang-up', async () => {
    const peer = await PlivoPeer.call({ gateway: env.url, vobiz, from: '+14155550123', to, authToken });
    const s = await sessionTo(env.agent, to);
    const m = await fullCall(peer, s, 'ulaw');
    report(name, m);
    const plays = peer.received.filter((r) => r.msg['event'] === 'playAudio');
    expect(plays.length).toBeGreaterThan(50);
    for (const r of plays) expect(r.msg['streamId']).toBe(peer.streamId);
    expect(peer.received.filter((r) => r.msg['event'] === 'checkpoint').map((r) => r.msg['streamId'])).toContain(peer.streamId);
    expect(peer.received.some((r) => r.msg['event'] === 'clearAudio')).toBe(true);
    await callerHangsUp(peer, s, 'edge_closed');
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await PlivoPeer.call({ gateway: env.url, vobiz, from: '+14155550123', to: `${to}9`, authToken });
    const s = await sessionTo(env.agent, `${to}9`);
    await agentHangsUp(peer, s);
    // Vobiz is told with its `stop`; Plivo by the socket closing
    expect(peer.received.some((r) => r.msg['event'] === 'stop')).toBe(vobiz);
  });

  it('refuses a webhook with a bad or missing signature with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const bad = await PlivoPeer.answer({ gateway: env.url, vobiz, from: '+14155550123', to, signature: 'bm9wZQ==' }, 'x');
    const missing = await PlivoPeer.answer({ gateway: env.url, vobiz, from: '+14155550123', to }, 'x');
    const wrong = await PlivoPeer.answer({ gateway: env.url, vobiz, from: '+14155550123', to, authToken: 'another-token' }, 'x');
    expect([bad.status, missing.status, wrong.status]).toEqual([403, 403, 403]);
    expectNoCallSince(env.gw, '+14155550123', t403);
  });
});
