import { describe, expect, it } from 'vitest';
import { AsteriskWsPeer } from '../../../testkit/platforms/AsteriskWsPeer.js';
import { AudioSocketPeer } from '../../../testkit/platforms/AudioSocketPeer.js';
import { counter, until } from '../../helpers/gateway.js';
import { agentHangsUp, callerHangsUp, fullCall, gatewayWithAgent, report, sessionTo } from './scenario.js';

process.env['AUDIOSOCKET_PORT'] = '0';
process.env['AUDIOSOCKET_HOST'] = '127.0.0.1';

// AudioSocket calls carry no number: they take the default route
const env = gatewayWithAgent({ defaultRoute: true });

describe('Asterisk chan_websocket into the gateway', () => {
  it.each([true, false])(
    'carries a full call (JSON control: %s): MARK_MEDIA at playout, FLUSH_MEDIA, DTMF_END, hang-up',
    async (json) => {
      const to = json ? '+14155550601' : '+14155550602';
      const peer = await AsteriskWsPeer.call({ gateway: env.url, from: '+14155550123', to, json });
      const s = await sessionTo(env.agent, to);
      const m = await fullCall(peer, s, 'ulaw');
      report(`asterisk-ws ${json ? 'json' : 'plain'}`, m);
      const binary = peer.received.filter((r) => r.text === null);
      expect(binary.length).toBeGreaterThan(50);
      for (const r of binary) expect(r.bytes).toBe(160);
      const texts = peer.received.flatMap((r) => (r.text === null ? [] : [r.text]));
      expect(texts.some((t) => (json ? t.includes('"FLUSH_MEDIA"') : t === 'FLUSH_MEDIA'))).toBe(true);
      await callerHangsUp(peer, s, 'edge_closed');
    },
    30_000,
  );

  it('sends HANGUP when the agent hangs up', async () => {
    const peer = await AsteriskWsPeer.call({ gateway: env.url, from: '+14155550123', to: '+14155550603' });
    const s = await sessionTo(env.agent, '+14155550603');
    await agentHangsUp(peer, s, 'socket closed');
    expect(peer.hungUp).toBe(true);
  });
});

describe('Asterisk AudioSocket into the gateway', () => {
  it('carries a full call over TCP: slin both ways, paced by the 20 ms clock, marks when played, clear, DTMF, hang-up', async () => {
    const peer = await AudioSocketPeer.call({ port: env.gw.audioSocket!.port });
    const streaming = peer.stream(new Int16Array(160)); // the call starts with the first audio frame
    // AudioSocket carries no number: the call is found by its transport, its agent by its call id
    await until(() => [...env.gw.calls.all()].some((c) => c.edge.kind === 'audiosocket'), 5000, 'call');
    const callId = [...env.gw.calls.all()].find((c) => c.edge.kind === 'audiosocket')!.id;
    await until(() => env.agent.sessions.some((x) => x.start?.['callId'] === callId), 5000, 'session');
    const s = env.agent.sessions.find((x) => x.start?.['callId'] === callId)!;
    await streaming;
    const m = await fullCall(peer, s, 'l16', { confirms: 'clock' });
    report('audiosocket', m);
    // clocked: one 320-byte slin frame per 20 ms, silence included
    const audio = peer.frames.filter((f) => f.type === 0x10);
    expect(audio.every((f) => f.length === 320)).toBe(true);
    const span = audio.at(-1)!.atMs - audio[0]!.atMs;
    expect(audio.length / (span / 20)).toBeGreaterThan(0.95);
    await callerHangsUp(peer, s, 'edge_stop');
  }, 30_000);

  it('sends a hang-up frame when the agent hangs up', async () => {
    const peer = await AudioSocketPeer.call({ port: env.gw.audioSocket!.port });
    void peer.stream(new Int16Array(8000 * 2));
    const isOurs = (id: unknown) => [...env.gw.calls.all()].some((c) => c.id === id && c.edge.kind === 'audiosocket');
    await until(() => env.agent.sessions.some((x) => !x.closed && isOurs(x.start?.['callId'])), 5000, 'session');
    env.agent.sessions.find((x) => !x.closed && isOurs(x.start?.['callId']))!.send({ type: 'hangup' });
    await until(() => peer.closed, 3000, 'socket closed');
    expect(peer.hungUp).toBe(true);
  });

  it('ends only the offending call on a malformed TLV stream', async () => {
    const before = await counter(env.gw, 'gateway_drops_total', { reason: 'CONTROL_INVALID' });
    const peer = await AudioSocketPeer.call({ port: env.gw.audioSocket!.port });
    peer.write(Uint8Array.of(0x42, 0, 1, 7)); // unknown type
    await until(() => peer.closed, 3000, 'refused');
    expect(await counter(env.gw, 'gateway_drops_total', { reason: 'CONTROL_INVALID' })).toBe(before + 1);
  });
});
