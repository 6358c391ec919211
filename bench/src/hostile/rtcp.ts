import { fileURLToPath } from 'node:url';
import {
  createRtcpReportBlock,
  readWav,
  RTCP_PSFB,
  rtcpByeSize,
  rtcpReportSize,
  writeRtcpBye,
  writeRtcpReport,
} from '../../../codecs/src/index.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import { Rows, type ProbeResult } from './report.js';
import { dropDelta, Target, type Checkout } from './target.js';

const speech = readWav(fileURLToPath(new URL('../../../test/fixtures/audio/caller-en-us-8k.wav', import.meta.url))).samples;
const CNAME = new TextEncoder().encode('phone@probe.invalid');
const SSRC = 0x5eed;

/** The RTCP an RFC 5761 (rtcp-mux) phone sends on its RTP port, one compound of each kind (RFC 3550 §6). */
function packets(remoteSsrc: number): [string, Uint8Array][] {
  const block = { ...createRtcpReportBlock(), ssrc: remoteSsrc, extendedHighestSeq: 100 };
  const sender = { ntpSeconds: 3_900_000_000, ntpFraction: 0, rtpTimestamp: 16000, packetCount: 100, octetCount: 16000 };
  const sr = new Uint8Array(rtcpReportSize(true, 1, CNAME.length));
  writeRtcpReport(sr, 0, { ssrc: SSRC, sender, reports: [block], cname: CNAME });
  const rr = new Uint8Array(rtcpReportSize(false, 1, CNAME.length));
  writeRtcpReport(rr, 0, { ssrc: SSRC, sender: null, reports: [block], cname: CNAME });
  // RFC 4585 §6.3.1 PLI, sent alone as RFC 5506 reduced-size RTCP allows
  const pli = new Uint8Array(12);
  pli.set([0x81, RTCP_PSFB, 0, 2]);
  new DataView(pli.buffer).setUint32(4, SSRC);
  new DataView(pli.buffer).setUint32(8, remoteSsrc);
  // an RR whose length field claims more than the datagram holds (§6.4.2: length in 32-bit words − 1)
  const bad = rr.slice(0, 16);
  bad[3] = 40;
  const bye = new Uint8Array(rr.length + rtcpByeSize(0));
  bye.set(rr);
  writeRtcpBye(bye, rr.length, SSRC);
  return [
    ['SR + SDES (sender report)', sr],
    ['RR + SDES (receiver report)', rr],
    ['PLI alone (reduced-size, RFC 5506)', pli],
    ['RR with a length field past the datagram (malformed)', bad],
    ['RR + BYE', bye],
  ];
}

/**
 * Finding 6: RTCP sent on the RTP port of a UDP call (as rtcp-mux peers do), each kind three
 * times while the phone streams speech; read how /metrics counted each kind.
 */
export async function rtcpProbe(co: Checkout): Promise<ProbeResult> {
  const agent = await TestAgent.listen();
  const t = await Target.start(co);
  const r = new Rows();
  try {
    const counted = await t.hasMetric('gateway_rtcp_packets_total');
    const c = await RtpCaller.place({ gateway: t.url, transport: 'udp', headers: t.auth, route: { agent: { url: agent.url } } });
    const s = await agent.session(c.callId);
    const streaming = c.stream(speech.subarray(0, 8000 * 4));
    await sleep(300);
    const theirSsrc = c.received[0]?.ssrc ?? 0;
    for (const [name, pkt] of packets(theirSsrc)) {
      const rtcp0 = await t.metric('gateway_rtcp_packets_total');
      const drops0 = await t.drops();
      for (let i = 0; i < 3; i++) {
        c.sendBytes(pkt);
        await sleep(60);
      }
      await sleep(100);
      const rtcp = (await t.metric('gateway_rtcp_packets_total')) - rtcp0;
      const drops = dropDelta(drops0, await t.drops());
      const as = [counted ? `RTCP ${rtcp}` : 'no RTCP counter', drops === 'none' ? '' : `dropped: ${drops}`].filter(Boolean).join('; ');
      r.add(`${name} ×3: counted as`, as);
    }
    await streaming;
    await sleep(200);
    r.add('frames reaching the agent (of 200 sent)', s.frames.length);
    const snap = await t.api('GET', `/v1/calls/${c.callId}`);
    r.add('call still active after the RTCP', snap.status === 200 ? String(snap.json['state']) : `no (${snap.status})`);
    await c.end();
  } finally {
    await t.stop();
    await agent.close();
  }
  return r.result('6', 'RTCP on the RTP port (RFC 5761 mux): how /metrics counts it');
}
