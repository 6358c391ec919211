import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { Baresip } from '../../../testkit/Baresip.js';
import { TestAgent, type AgentSession } from '../../../testkit/TestAgent.js';
import { fixture, xcorrPeak } from '../../helpers/audio.js';
import { resampleAll } from '../../helpers/gateway.js';
import { agentRoute, drops, NUMBER, segmentXcorr, sleep, startSipGateway, waitFor } from './sipGateway.js';

/**
 * A softphone calls the gateway over a SIP trunk: baresip (Debian `baresip-core`) dials the
 * routed number, the native test agent answers; audio both ways is compared with what each side
 * sent, and each side hangs up once.
 */
const HAVE = Baresip.available();
if (!HAVE) console.warn('SKIPPING baresip trunk tests: `baresip` is not installed (apt-get install -y baresip-core)');

describe.skipIf(!HAVE)('baresip calls the gateway', () => {
  let gw: Gateway;
  let target: string;
  let agent: TestAgent;
  const peers: Baresip[] = [];

  beforeAll(async () => {
    agent = await TestAgent.listen();
    ({ gw, target } = await startSipGateway({ numbers: { [NUMBER]: agentRoute(agent.url) } }));
  });
  afterAll(async () => {
    await gw.close();
    await agent.close();
  });
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
  });

  // 4 s of speech, then silence (the agent replies into the silence, so no echo path is involved).
  const speech = fixture('caller-en-us-8k.wav').samples.subarray(0, 8000 * 4);

  async function dial(seconds: number): Promise<{ b: Baresip; s: AgentSession }> {
    const before = agent.sessions.length;
    const b = await Baresip.start({ source: speech, seconds, dial: `sip:${NUMBER}@${target}` });
    peers.push(b);
    await waitFor(() => agent.sessions.length > before && agent.sessions[before]!.start !== null, 10_000, 'the agent session');
    return { b, s: agent.sessions[before]! };
  }

  it('carries audio both ways (xcorr ≥ 0.9 each way); BYE from baresip ends the call', async () => {
    const { b, s } = await dial(30);
    expect(s.start).toMatchObject({ to: NUMBER, params: { sipTrunk: 'local' } });
    const callId = String(s.start!['callId']);
    await waitFor(() => b.saw(/established/i), 10_000, 'baresip: call established');
    // The agent replies once the caller's speech is over: 2.5 s of the reply fixture at 8 kHz.
    await waitFor(() => s.frames.length >= 250, 15_000, '5 s of caller audio at the agent');
    const reply = (await resampleAll(fixture('agent-reply-24k.wav').samples, 24000, 8000)).pcm.subarray(0, 8000 * 2.5);
    const reply16 = Int16Array.from(reply, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
    // One burst: the gateway's playout paces it (a test process stalled by the load beside it
    // must not put gaps into the reply).
    s.sendAudio(reply16);
    await sleep(2500 + 800);
    await b.command('hangup');
    await waitFor(() => s.closed && gw.calls.size === 0, 5000, 'the call to end after baresip BYE');
    expect(gw.calls.get(callId)).toBeUndefined();
    await b.exited(5000).catch(() => undefined);

    if (process.env['BARESIP_LOG'] !== undefined) (await import('node:fs')).writeFileSync(process.env['BARESIP_LOG'], b.log);
    const { sent, received } = b.recordings();
    // What the agent heard against what baresip sent (G.711 both ways, same 8 kHz clock).
    const heard = s.audio();
    const n = 8000 * 3;
    const up = xcorrPeak(sent.subarray(4000, 4000 + n), heard, 8000);
    // What baresip received against what the agent sent.
    const down = segmentXcorr(reply16.subarray(0, 8000 * 2), received);
    console.log(
      `baresip→agent xcorr ${up.peak.toFixed(4)} (lag ${up.lag} samples); agent→baresip xcorr median ${down.median.toFixed(4)} over 0.5 s segments ${JSON.stringify(down.peaks.map((x) => +x.toFixed(4)))}; drops ${JSON.stringify(await drops(gw))}`,
    );
    expect(up.peak).toBeGreaterThanOrEqual(0.9);
    expect(down.median).toBeGreaterThanOrEqual(0.9);
    expect((await drops(gw))['RTP_FOREIGN_SOURCE']).toBeUndefined();
  }, 60_000);

  it('BYE from the gateway (agent hangup) ends baresip’s call', async () => {
    const { b, s } = await dial(30);
    await waitFor(() => b.saw(/Call established/), 10_000, 'baresip: call established');
    await waitFor(() => s.frames.length >= 50, 10_000, '1 s of caller audio');
    s.send({ type: 'hangup' });
    // A BYE lost on a loaded machine is sent again after 0.5, 1.5, 3.5 and 7.5 s (RFC 3261 §17.1.2,
    // Timer E): 15 s covers four tries. Should it still fail, the failure says how far each side got.
    await waitFor(() => b.saw(/terminated/), 15_000, 'baresip: call terminated').catch((e: unknown) => {
      const state = `gateway calls ${gw.calls.size}, SIP dialogs ${gw.sip!.ua.dialogCount}`;
      throw new Error(`${String(e)} (${state}); baresip's log ends:\n${b.log.slice(-1500)}`);
    });
    expect(b.log).toMatch(/terminated/);
    await waitFor(() => gw.calls.size === 0 && gw.sip!.ua.dialogCount === 0, 5000, 'the call and its dialog to be gone');
  }, 60_000);

  it('RFC 4733 from baresip (sndcode) reaches the agent as dtmf events', async () => {
    const { b, s } = await dial(30);
    await waitFor(() => b.saw(/Call established/), 10_000, 'baresip: call established');
    await waitFor(() => s.frames.length >= 25, 10_000, 'caller audio');
    await b.command('sndcode', '5');
    await s.until(() => s.eventsOf('dtmf').length > 0, 5000, 'a dtmf event');
    await b.command('sndcode', '#');
    await s.until(() => s.eventsOf('dtmf').length > 1, 5000, 'a second dtmf event');
    const digits = s.eventsOf('dtmf').map((e) => e.msg['digit']);
    console.log(`baresip sndcode 5, # → agent dtmf ${JSON.stringify(digits)}`);
    expect(digits).toEqual(['5', '#']);
    await b.command('hangup');
    await waitFor(() => gw.calls.size === 0, 5000, 'the call to end');
  }, 30_000);

  it('CANCEL before answer: 487, the ringing call is gone, nothing leaks', async () => {
    // A dial-in agent never attaches: the call rings (180) until the caller gives up.
    const ringing = await startSipGateway({ numbers: { [NUMBER]: { agent: { url: 'dial-in' } } } }, undefined, {
      agentAttachTimeoutMs: 20_000,
    });
    try {
      const b = await Baresip.start({ source: speech, seconds: 20, dial: `sip:${NUMBER}@${ringing.target}`, trace: true });
      peers.push(b);
      await waitFor(() => b.saw(/180 Ringing/), 10_000, 'baresip: 180 Ringing');
      await waitFor(() => ringing.gw.calls.size === 1, 2000, 'the ringing call');
      await b.command('hangup');
      await waitFor(() => ringing.gw.calls.size === 0, 5000, 'the cancelled call to be gone');
      await waitFor(() => b.saw(/SIP\/2\.0 487/), 5000, 'baresip: 487 Request Terminated');
      expect(b.log).toMatch(/CANCEL sip:/);
      expect(b.log).toMatch(/SIP\/2\.0 200 OK[^]*CSeq: \d+ CANCEL/);
      expect(ringing.gw.sip!.ua.dialogCount).toBe(0);
      expect(await drops(ringing.gw)).toEqual({});
    } finally {
      await ringing.gw.close();
    }
  }, 30_000);
});
