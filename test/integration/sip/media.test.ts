import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { Sipp } from '../../../testkit/Sipp.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import { fixture } from '../../helpers/audio.js';
import { counter } from '../../helpers/gateway.js';
import { RtpPeer } from './rtpPeer.js';
import { agentRoute, drops, NUMBER, sleep, startSipGateway, waitFor } from './sipGateway.js';

/**
 * Media on a SIP call whose signalling SIPp plays (test/fixtures/sip/gateway/hold_uac.xml) and
 * whose RTP the test owns: hold and resume by re-INVITE with a new address, DTMF three ways
 * (INFO, RFC 4733 in, RFC 4733 out at the negotiated payload type 96), and RTCP (sender reports
 * on the RTP port with rtcp-mux; a receiver report on the RTP port counted as RTCP, RFC 5761).
 */
const SIPP = Sipp.available();
if (!SIPP) console.warn('SKIPPING SIP media tests: `sipp` is not installed (apt-get install -y sip-tester)');
const FIXTURES = join(import.meta.dirname, '../../fixtures/sip/gateway');

describe.skipIf(!SIPP)('a SIP call’s media: hold/resume, DTMF, RTCP', () => {
  let gw: Gateway;
  let target: string;
  let agent: TestAgent;

  beforeAll(async () => {
    agent = await TestAgent.listen();
    ({ gw, target } = await startSipGateway({ numbers: { [NUMBER]: agentRoute(agent.url) } }));
  });
  afterAll(async () => {
    await gw.close();
    await agent.close();
  });

  it('hold stops our RTP, resume restarts it at the new address; INFO and RFC 4733 digits reach the agent; agent DTMF goes out at PT 96; SR on the RTP port; RR counted as RTCP', async () => {
    const m1 = await RtpPeer.open();
    const m2 = await RtpPeer.open();
    const sipp = await Sipp.start(
      ['-sf', join(FIXTURES, 'hold_uac.xml'), '-s', NUMBER, '-key', 'media1', String(m1.port), '-key', 'media2', String(m2.port), target],
      { calls: 1, timeoutS: 40 },
    );
    try {
      const before = agent.sessions.length;
      await waitFor(() => agent.sessions.length > before && agent.sessions[before]!.start !== null, 10_000, 'the agent session');
      const s = agent.sessions[before]!;
      const call = gw.calls.get(String(s.start!['callId']))!;
      // --- talking at media1 -----------------------------------------------------------
      await waitFor(() => m1.rtp.length >= 25, 5000, 'our RTP at media1');
      // The gateway's RTP port (what its SDP answer named): the SIP edge's.
      const port = (call.edge as unknown as { port: number }).port;
      m1.sendReceiverReport(port);
      const speech = fixture('caller-en-us-8k.wav').samples.subarray(0, 8000);
      await m1.streamUlaw(speech.subarray(0, 4000), port);
      await waitFor(() => m1.rtcp.some((r) => r.pt === 200), 7000, 'a sender report at media1 (rtcp-mux)');
      // Since our first RTP packet reached media1.
      const firstSrMs = m1.rtcp.find((r) => r.pt === 200)!.arrivalMs - m1.rtp[0]!.arrivalMs;

      // --- held (a=sendonly from media2) ---------------------------------------------------
      await waitFor(() => call.edge.paused === true, 5000, 'the hold re-INVITE');
      const heldAt = performance.now();
      // Packets sent before the hold may still be in this process's queue (2 busy cores): count from 500 ms on.
      await sleep(500);
      await waitFor(() => call.edge.paused === false, 6000, 'the resume re-INVITE');
      const resumedAt = performance.now();
      const heldMs = resumedAt - heldAt;
      // The window ends 100 ms before we saw the resume: the first resumed packet may beat our 20 ms poll.
      const inHold = (p: { arrivalMs: number }): boolean => p.arrivalMs > heldAt + 500 && p.arrivalMs < resumedAt - 100;
      const duringHold = m1.rtp.filter(inHold).length + m2.rtp.filter(inHold).length;
      expect(gw.calls.size).toBe(1);

      // --- resumed at media2 ---------------------------------------------------------------
      const resumedFrom = m2.rtp.length;
      await waitFor(() => m2.rtp.length - resumedFrom >= 25, 3000, 'our RTP at media2 after resume');
      const framesBefore = s.frames.length;
      await m2.streamUlaw(speech.subarray(0, 2400), port);
      m1.sendReceiverReport(port); // the old address: now a foreign source
      await m2.sendDigit('4', 96, port);
      s.send({ type: 'dtmf', digits: '7' });
      await s.until(() => s.eventsOf('dtmf').some((e) => e.msg['digit'] === '4'), 3000, 'RFC 4733 digit 4 at the agent');
      await waitFor(() => m2.events(96).some((e) => e.event === 7 && e.end), 3000, 'telephone-event 7 at PT 96');
      await s.until(() => s.eventsOf('dtmf').some((e) => e.msg['digit'] === '5'), 6000, 'INFO digit 5 at the agent');
      const res = await sipp.result();
      expect(res, res.stderr + res.errors).toMatchObject({ code: 0, successful: 1, failed: 0 });
      await waitFor(() => gw.calls.size === 0, 3000, 'the call to end');

      const d = await drops(gw);
      const rtcpIn = await counter(gw, 'gateway_rtcp_packets_total');
      const srs = [...m1.rtcp, ...m2.rtcp].filter((r) => r.pt === 200).length;
      const out96 = m2.rtp.filter((p) => p.pt === 96);
      console.log(
        `hold ${heldMs.toFixed(0)} ms: ${duringHold} packets sent while held; after resume ${m2.rtp.length - resumedFrom} packets at the new address; ` +
          `agent frames after resume ${s.frames.length - framesBefore}; dtmf at agent ${JSON.stringify(s.eventsOf('dtmf').map((e) => e.msg['digit']))}; ` +
          `agent "7" → ${out96.length} packets at PT 96 (marker on first: ${out96[0]?.marker}); first SR after ${firstSrMs.toFixed(0)} ms, ${srs} SRs; RTCP in ${rtcpIn}; drops ${JSON.stringify(d)}`,
      );
      expect(duringHold).toBe(0);
      expect(heldMs).toBeGreaterThan(2000);
      expect(s.frames.length - framesBefore).toBeGreaterThan(0);
      expect(out96.length).toBeGreaterThanOrEqual(3);
      expect(out96[0]!.marker).toBe(true);
      expect(m2.rtp.some((p) => p.pt === 101)).toBe(false);
      expect(firstSrMs).toBeLessThan(7000);
      expect(srs).toBeGreaterThanOrEqual(2);
      expect(rtcpIn).toBeGreaterThanOrEqual(1);
      expect(d['RTP_UNKNOWN_PAYLOAD_TYPE']).toBeUndefined();
      expect(d['RTP_FOREIGN_SOURCE']).toBeGreaterThanOrEqual(1);
    } finally {
      await sipp.stop();
      m1.close();
      m2.close();
    }
  }, 60_000);
});
