import { describe, expect, it } from 'vitest';
import { FreeswitchPeer } from '../../../testkit/platforms/FreeswitchPeer.js';
import { agentHangsUp, callerHangsUp, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

const env = gatewayWithAgent();

describe('FreeSWITCH mod_audio_stream into the gateway', () => {
  it.each([8000, 16000] as const)(
    'carries a full call at %i Hz: L16 in, streamAudio out at real-time pace, marks by the clock, hang-up',
    async (rate) => {
      const to = rate === 8000 ? '+14155550701' : '+14155550702';
      const peer = await FreeswitchPeer.call({ gateway: env.url, from: '+14155550123', to, rate });
      const s = await sessionTo(env.agent, to);
      const m = await fullCall(peer, s, 'l16', { confirms: 'clock', dtmf: false });
      report(`freeswitch ${rate}`, m);
      const audio = peer.received.filter((r) => r.msg['type'] === 'streamAudio');
      expect(audio.length).toBeGreaterThan(50);
      await callerHangsUp(peer, s);
    },
    30_000,
  );

  it('closes the socket when the agent hangs up', async () => {
    const peer = await FreeswitchPeer.call({ gateway: env.url, from: '+14155550123', to: '+14155550703' });
    const s = await sessionTo(env.agent, '+14155550703');
    await agentHangsUp(peer, s, 'socket closed');
  });
});
