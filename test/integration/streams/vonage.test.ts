import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VonagePeer } from '../../../testkit/platforms/VonagePeer.js';
import { sleep } from '../../../testkit/platforms/Player.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { fullCall, report, sessionTo } from './scenario.js';

const SECRET = 'vonage-signature-secret-0123456789';
process.env['VONAGE_SIGNATURE_SECRET'] = SECRET;

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

describe('Vonage WebSocket into the gateway', () => {
  it('carries a full call at 16 kHz: audio both ways at real-time pace, notify at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550501';
    const peer = await VonagePeer.call({ gateway: url, from: '+14155550123', to, secret: SECRET });
    const s = await sessionTo(agent, to);
    const m = await fullCall(peer, s, 'l16');
    report('vonage', m);
    const binary = peer.received.filter((r) => r.msg === null);
    expect(binary.length).toBeGreaterThan(50);
    for (const r of binary) expect(r.bytes).toBe(640);
    expect(peer.received.some((r) => r.msg?.['action'] === 'clear')).toBe(true);
    peer.hangup();
    await s.until(() => s.closed, 3000, 'agent closed');
    expect(s.eventsOf('stop').map((e) => e.msg['reason'])).toEqual(['edge_closed']);
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await VonagePeer.call({ gateway: url, from: '+14155550123', to: '+14155550502', secret: SECRET });
    const s = await sessionTo(agent, '+14155550502');
    void peer.stream(new Int16Array(16000 * 2));
    await sleep(300);
    s.send({ type: 'hangup' });
    await until(() => peer.closed, 3000, 'stream closed');
  });

  it('refuses an answer_url request with a bad or missing JWT with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const o = { gateway: url, from: '+14155550123', to: '+14155550503', uuid: 'u' };
    const statuses = [
      (await VonagePeer.answer({ ...o, authorization: `Bearer ${await VonagePeer.jwt('some-other-secret-0123456789')}` })).status,
      (await VonagePeer.answer(o)).status,
      (await VonagePeer.answer({ ...o, authorization: 'Bearer a.b.c' })).status,
    ];
    expect(statuses).toEqual([403, 403, 403]);
    expect([...gw.calls.all()].filter((c) => c.from === '+14155550123' && c.state === 'active' && c.createdAt > t403)).toEqual([]);
  });
});
