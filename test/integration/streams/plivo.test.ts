import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlivoPeer } from '../../../testkit/platforms/PlivoPeer.js';
import { sleep } from '../../../testkit/platforms/Player.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { fullCall, report, sessionTo } from './scenario.js';

const PLIVO_TOKEN = 'plivo-test-auth-token';
const VOBIZ_TOKEN = 'vobiz-test-auth-token';
process.env['PLIVO_AUTH_TOKEN'] = PLIVO_TOKEN;
process.env['VOBIZ_AUTH_TOKEN'] = VOBIZ_TOKEN;

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

describe.each([
  ['plivo', false, PLIVO_TOKEN, '+14155550201'],
  ['vobiz', true, VOBIZ_TOKEN, '+14155550202'],
] as const)('%s Audio Stream into the gateway', (name, vobiz, authToken, to) => {
  it('carries a full call: audio both ways at real-time pace, checkpoints at playout, clearAudio, DTMF, caller hang-up', async () => {
    const peer = await PlivoPeer.call({ gateway: url, vobiz, from: '+14155550123', to, authToken });
    const s = await sessionTo(agent, to);
    const m = await fullCall(peer, s, 'ulaw');
    report(name, m);
    const plays = peer.received.filter((r) => r.msg['event'] === 'playAudio');
    expect(plays.length).toBeGreaterThan(50);
    for (const r of plays) expect(r.msg['streamId']).toBe(peer.streamId);
    expect(peer.received.filter((r) => r.msg['event'] === 'checkpoint').map((r) => r.msg['streamId'])).toContain(peer.streamId);
    expect(peer.received.some((r) => r.msg['event'] === 'clearAudio')).toBe(true);
    peer.hangup();
    await s.until(() => s.closed, 3000, 'agent closed');
    expect(s.eventsOf('stop').map((e) => e.msg['reason'])).toEqual(['edge_closed']);
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await PlivoPeer.call({ gateway: url, vobiz, from: '+14155550123', to: `${to}9`, authToken });
    const s = await sessionTo(agent, `${to}9`);
    void peer.stream(new Int16Array(8000 * 2));
    await sleep(300);
    s.send({ type: 'hangup' });
    await until(() => peer.closed, 3000, 'stream closed');
    // Vobiz is told with its `stop`; Plivo by the socket closing
    expect(peer.received.some((r) => r.msg['event'] === 'stop')).toBe(vobiz);
  });

  it('refuses a webhook with a bad or missing signature with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const bad = await PlivoPeer.answer({ gateway: url, vobiz, from: '+14155550123', to, signature: 'bm9wZQ==' }, 'x');
    const missing = await PlivoPeer.answer({ gateway: url, vobiz, from: '+14155550123', to }, 'x');
    const wrong = await PlivoPeer.answer({ gateway: url, vobiz, from: '+14155550123', to, authToken: 'another-token' }, 'x');
    expect([bad.status, missing.status, wrong.status]).toEqual([403, 403, 403]);
    expect([...gw.calls.all()].filter((c) => c.from === '+14155550123' && c.state === 'active' && c.createdAt > t403)).toEqual([]);
  });
});
