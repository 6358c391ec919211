import { describe, expect, it } from 'vitest';
import { ExotelPeer } from '../../../testkit/platforms/ExotelPeer.js';
import { agentHangsUp, callerHangsUp, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

const env = gatewayWithAgent();

describe('Exotel Voicebot stream into the gateway', () => {
  it('carries a full call from 100 ms chunks: audio both ways at real-time pace, marks at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550401';
    const peer = await ExotelPeer.call({ gateway: env.url, from: '+14155550123', to });
    const s = await sessionTo(env.agent, to);
    const m = await fullCall(peer, s, 'l16');
    report('exotel', m);
    const media = peer.received.filter((r) => r.msg['event'] === 'media');
    expect(media.length).toBeGreaterThan(50);
    for (const r of media) {
      expect(r.msg['stream_sid']).toBe(peer.streamSid);
      expect(Buffer.from(String((r.msg['media'] as Record<string, unknown>)['payload']), 'base64').length % 320).toBe(0);
    }
    await callerHangsUp(peer, s, 'edge_stop');
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await ExotelPeer.call({ gateway: env.url, from: '+14155550123', to: '+14155550402' });
    const s = await sessionTo(env.agent, '+14155550402');
    await agentHangsUp(peer, s);
  });
});
