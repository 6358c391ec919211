import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TelnyxPeer } from '../../../testkit/platforms/TelnyxPeer.js';
import { agentHangsUp, callerHangsUp, expectNoCallSince, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

process.env['TELNYX_PUBLIC_KEY'] = TelnyxPeer.publicKey;

const env = gatewayWithAgent();

describe('Telnyx media streaming into the gateway', () => {
  it('carries a full call: audio both ways at real-time pace, marks at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550301';
    const peer = await TelnyxPeer.call({ gateway: env.url, from: '+14155550123', to });
    const s = await sessionTo(env.agent, to);
    const m = await fullCall(peer, s, 'ulaw');
    report('telnyx', m);
    const media = peer.received.filter((r) => r.msg['event'] === 'media');
    expect(media.length).toBeGreaterThan(50);
    for (const r of media) expect(Buffer.from(String((r.msg['media'] as Record<string, unknown>)['payload']), 'base64').length).toBe(160);
    await callerHangsUp(peer, s, 'edge_stop');
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await TelnyxPeer.call({ gateway: env.url, from: '+14155550123', to: '+14155550302' });
    const s = await sessionTo(env.agent, '+14155550302');
    await agentHangsUp(peer, s);
  });

  it('refuses a webhook with a bad, stale or missing Ed25519 signature with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const other = generateKeyPairSync('ed25519').privateKey;
    const o = { gateway: env.url, from: '+14155550123', to: '+14155550303' };
    const statuses = [
      (await TelnyxPeer.answer({ ...o, key: other })).status,
      (await TelnyxPeer.answer({ ...o, key: null })).status,
      (await TelnyxPeer.answer({ ...o, timestamp: Math.floor(Date.now() / 1000) - 3600 })).status,
    ];
    expect(statuses).toEqual([403, 403, 403]);
    expectNoCallSince(env.gw, '+14155550123', t403);
  });
});
