import { describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { mixAtSnr, pinkNoise } from '../../bench/src/latency/load.js';
import { RtpCaller } from '../../testkit/RtpCaller.js';
import { TestAgent } from '../../testkit/TestAgent.js';
import { fixture } from '../helpers/audio.js';
import { counter, withGatewayAndAgent } from '../helpers/gateway.js';

/**
 * `denoise: "auto"` (the route default) through a running gateway: the agent is told what was
 * decided (`{"type":"denoise","enabled","snrDb","atMs"}`) and the call's stats show it.
 */
describe('denoise "auto" through the gateway', () => {
  let gw: Gateway;
  let url: string;
  let agent: TestAgent;
  withGatewayAndAgent({ dspWorkers: 1 }, (g) => ({ gw, url, agent } = g));

  const speech = fixture('caller-en-gb-8k.wav').samples;
  const cases = [
    { name: 'a clean call', pcm: speech, enabled: false },
    { name: 'a call with pink noise at 0 dB SNR', pcm: mixAtSnr(speech, pinkNoise(speech.length, 3), 0), enabled: true },
  ];
  for (const c of cases) {
    it(`${c.name}: the agent hears enabled:${c.enabled}, the stats agree`, async () => {
      const caller = await RtpCaller.place({
        gateway: url,
        transport: 'udp',
        route: { agent: { url: agent.url }, bargeIn: { enabled: false } },
      });
      const s = await agent.session(caller.callId);
      await caller.stream(c.pcm.subarray(0, 8000 * 5));
      await s.until(() => s.eventsOf('denoise').length > 0, 5000, 'the denoise event');
      const ev = s.eventsOf('denoise')[0]!.msg as { enabled: boolean; snrDb: number; atMs: number };
      expect(ev.enabled).toBe(c.enabled);
      expect(ev.atMs % 20).toBe(0);
      expect(ev.atMs).toBeLessThanOrEqual(4000);
      const snap = (await (await fetch(`${url}/v1/calls/${caller.callId}`)).json()) as { denoise: Record<string, unknown> };
      expect(snap.denoise).toMatchObject({ mode: 'auto', enabled: c.enabled, switches: 0, shedFrames: 0 });
      expect(snap.denoise['snrDb']).toBe(Math.round(10 * (snap.denoise['snrDb'] as number)) / 10);
      if (c.enabled) expect(ev.snrDb).toBeLessThan(15);
      else expect(ev.snrDb).toBeGreaterThan(21);
      await caller.end();
    }, 20_000);
  }

  it('counts the decisions that took effect in /metrics', async () => {
    expect(await counter(gw, 'gateway_denoise_switches_total', { enabled: 'true' })).toBe(1);
    expect(await counter(gw, 'gateway_denoise_switches_total', { enabled: 'false' })).toBe(1);
  });
});
