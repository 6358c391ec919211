import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FreeswitchPeer } from '../../../testkit/platforms/FreeswitchPeer.js';
import { sleep } from '../../../testkit/platforms/Player.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { fullCall, report, sessionTo } from './scenario.js';

let gw: Gateway;
let url: string;
let agent: TestAgent;

beforeAll(async () => {
  agent = await TestAgent.listen();
  const routing = new RoutingTable({ numbers: { '+1415555*': { agent: { url: agent.url }, bargeIn: { enabled: false } } } });
  ({ gw, url } = await startGateway({ routing }));
});
afterAll(async () => {
  await gw.close();
  await agent.close();
});

describe('FreeSWITCH mod_audio_stream into the gateway', () => {
  it.each([8000, 16000] as const)(
    'carries a full call at %i Hz: L16 in, streamAudio out at real-time pace, marks by the clock, hang-up',
    async (rate) => {
      const to = rate === 8000 ? '+14155550701' : '+14155550702';
      const peer = await FreeswitchPeer.call({ gateway: url, from: '+14155550123', to, rate });
      const s = await sessionTo(agent, to);
      const m = await fullCall(peer, s, 'l16', { confirms: 'clock', dtmf: false });
      report(`freeswitch ${rate}`, m);
      const audio = peer.received.filter((r) => r.msg['type'] === 'streamAudio');
      expect(audio.length).toBeGreaterThan(50);
      peer.hangup();
      await s.until(() => s.closed, 3000, 'agent closed');
    },
    30_000,
  );

  it('closes the socket when the agent hangs up', async () => {
    const peer = await FreeswitchPeer.call({ gateway: url, from: '+14155550123', to: '+14155550703' });
    const s = await sessionTo(agent, '+14155550703');
    void peer.stream(new Int16Array(8000 * 2));
    await sleep(300);
    s.send({ type: 'hangup' });
    await until(() => peer.closed, 3000, 'socket closed');
  });
});
