import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { TwilioPeer } from '../../../testkit/platforms/TwilioPeer.js';
import { sleep } from '../../../testkit/platforms/Player.js';
import { counter, until } from '../../helpers/gateway.js';
import { agentHangsUp, callerHangsUp, expectNoCallSince, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

const TOKEN = 'twilio-test-auth-token';
process.env['TWILIO_AUTH_TOKEN'] = TOKEN;

const env = gatewayWithAgent();

describe('Twilio Media Streams into the gateway', () => {
  it('carries a full call: audio both ways at real-time pace, marks at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550101';
    const peer = await TwilioPeer.call({ gateway: env.url, from: '+14155550123', to, authToken: TOKEN });
    const s = await sessionTo(env.agent, to);
    expect(s.start).toMatchObject({ from: '+14155550123', to, audio: { sampleRate: 24000 } });
    const m = await fullCall(peer, s, 'ulaw');
    report('twilio', m);
    // every media message the gateway sent is 20 ms of µ-law for this stream
    const media = peer.received.filter((r) => r.msg['event'] === 'media');
    expect(media.length).toBeGreaterThan(50);
    for (const r of media) {
      expect(r.msg['streamSid']).toBe(peer.streamSid);
      expect(Buffer.from(String((r.msg['media'] as Record<string, unknown>)['payload']), 'base64').length).toBe(160);
    }
    expect(peer.received.some((r) => r.msg['event'] === 'clear')).toBe(true);
    await callerHangsUp(peer, s, 'edge_stop');
    await until(() => env.gw.calls.size === 0, 2000, 'call gone');
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const to = '+14155550102';
    const peer = await TwilioPeer.call({ gateway: env.url, from: '+14155550123', to, authToken: TOKEN });
    const s = await sessionTo(env.agent, to);
    await agentHangsUp(peer, s);
    expect(peer.closeCode).toBe(1000);
  });

  it("bounds barge-in's playedMs by the platform's confirmations when it stalls", async () => {
    const to = '+14155550104';
    const peer = await TwilioPeer.call({ gateway: env.url, from: '+14155550123', to, authToken: TOKEN });
    const s = await sessionTo(env.agent, to);
    const call = env.gw.calls.get(String(s.start!['callId']))!;
    void peer.stream(new Int16Array(8000 * 4));
    await sleep(200);
    s.sendAudio(new Int16Array(24000 * 3).map((_, i) => Math.round(6000 * Math.sin(i / 7))));
    await until(() => peer.player.played.length >= 30, 3000, '600 ms played');
    peer.player.stall(1000);
    await sleep(500);
    const heard = call.playout.heardMs(performance.now());
    const played = peer.player.played.reduce((a, f) => a + (1000 * f.pcm.length) / 8000, 0);
    console.log(
      `stalled platform: heardMs ${heard} vs ${played.toFixed(0)} ms really played (the lead-only estimate would say ~${(played + 500).toFixed(0)})`,
    );
    expect(heard).toBeGreaterThanOrEqual(played - 100);
    expect(heard).toBeLessThanOrEqual(played + 220);
    peer.hangup();
  });

  it('refuses a webhook with a bad or missing signature with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const before = await counter(env.gw, 'gateway_requests_rejected_total', { reason: 'UNAUTHORIZED' });
    const bad = await TwilioPeer.answer(
      { gateway: env.url, from: '+14155550123', to: '+14155550103', signature: 'bm9wZQ==' },
      'CA1',
      'AC1',
    );
    const missing = await TwilioPeer.answer({ gateway: env.url, from: '+14155550123', to: '+14155550103' }, 'CA1', 'AC1');
    const wrongKey = await TwilioPeer.answer(
      { gateway: env.url, from: '+14155550123', to: '+14155550103', authToken: 'other' },
      'CA1',
      'AC1',
    );
    expect([bad.status, missing.status, wrongKey.status]).toEqual([403, 403, 403]);
    expect(await counter(env.gw, 'gateway_requests_rejected_total', { reason: 'UNAUTHORIZED' })).toBe(before + 3);
    expectNoCallSince(env.gw, '+14155550123', t403);
  });
});
