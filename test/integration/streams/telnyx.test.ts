import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelnyxPeer } from '../../../testkit/platforms/TelnyxPeer.js';
import { sleep } from '../../../testkit/platforms/Player.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { fullCall, report, sessionTo } from './scenario.js';

process.env['TELNYX_PUBLIC_KEY'] = TelnyxPeer.publicKey;

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

describe('Telnyx media streaming into the gateway', () => {
  it('carries a full call: audio both ways at real-time pace, marks at playout, clear, DTMF, caller hang-up', async () => {
    const to = '+14155550301';
    const peer = await TelnyxPeer.call({ gateway: url, from: '+14155550123', to });
    const s = await sessionTo(agent, to);
    const m = await fullCall(peer, s, 'ulaw');
    report('telnyx', m);
    const media = peer.received.filter((r) => r.msg['event'] === 'media');
    expect(media.length).toBeGreaterThan(50);
    for (const r of media) expect(Buffer.from(String((r.msg['media'] as Record<string, unknown>)['payload']), 'base64').length).toBe(160);
    peer.hangup();
    await s.until(() => s.closed, 3000, 'agent closed');
    expect(s.eventsOf('stop').map((e) => e.msg['reason'])).toEqual(['edge_stop']);
  }, 30_000);

  it('ends the stream when the agent hangs up', async () => {
    const peer = await TelnyxPeer.call({ gateway: url, from: '+14155550123', to: '+14155550302' });
    const s = await sessionTo(agent, '+14155550302');
    void peer.stream(new Int16Array(8000 * 2));
    await sleep(300);
    s.send({ type: 'hangup' });
    await until(() => peer.closed, 3000, 'stream closed');
  });

  it('refuses a webhook with a bad, stale or missing Ed25519 signature with 403 and creates nothing', async () => {
    const t403 = Date.now();
    const other = generateKeyPairSync('ed25519').privateKey;
    const o = { gateway: url, from: '+14155550123', to: '+14155550303' };
    const statuses = [
      (await TelnyxPeer.answer({ ...o, key: other })).status,
      (await TelnyxPeer.answer({ ...o, key: null })).status,
      (await TelnyxPeer.answer({ ...o, timestamp: Math.floor(Date.now() / 1000) - 3600 })).status,
    ];
    expect(statuses).toEqual([403, 403, 403]);
    expect([...gw.calls.all()].filter((c) => c.from === '+14155550123' && c.state === 'active' && c.createdAt > t403)).toEqual([]);
  });
});
