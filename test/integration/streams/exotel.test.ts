import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExotelPeer } from '../../../testkit/platforms/ExotelPeer.js';
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

describe('Exotel Voicebot stream into the gateway', () => {
  it('carries a full call from 100 ms chunks: audio both ways at real-time pace, marks at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550401';
    const peer = await ExotelPeer.call({ gateway: url, from: '+14155550123', to });
    const s = await sessionTo(agent, to);
    const m = await fullCall(peer, s, 'l16');
    report('exotel', m);
    const media = peer.received.filter((r) => r.msg['event'] === 'media');
    expect(media.length).toBeGreaterThan(50);
    for (const r of media) {
      expect(r.msg['stream_sid']).toBe(peer.streamSid);
      expect(Buffer.from(String((r.msg['media'] as Record<string, unknown>)['payload']), 'base64').length % 320).toBe(0);
    }
    peer.hangup();
    await s.until(() => s.closed, 3000, 'agent closed');
    expect(s.eventsOf('stop').map((e) => e.msg['reason'])).toEqual(['edge_stop']);
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await ExotelPeer.call({ gateway: url, from: '+14155550123', to: '+14155550402' });
    const s = await sessionTo(agent, '+14155550402');
    void peer.stream(new Int16Array(8000 * 2));
    await sleep(300);
    s.send({ type: 'hangup' });
    await until(() => peer.closed, 3000, 'stream closed');
  });
});
