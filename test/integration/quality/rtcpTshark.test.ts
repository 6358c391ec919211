import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRtcpReportBlock,
  msToCompactNtp,
  ntpFractionFromMs,
  ntpMiddle32,
  ntpSecondsFromMs,
  rtcpByeSize,
  rtcpReportSize,
  writeRtcpBye,
  writeRtcpReport,
  type RtcpReportBlock,
  type RtcpSenderInfo,
} from '../../../codecs/src/index.js';
import { ReceiverStats } from '../../../gateway/src/quality/ReceiverStats.js';

/**
 * A real, independent peer decodes what we build: Wireshark's RTCP dissector, via `tshark`, reads
 * our SR and RR/SDES/BYE from a pcap (UDP over 127.0.0.1) and must find the values we put in, the
 * lengths consistent, and (with its round-trip option on) the RTT the exchange implies.
 * Debian: `apt-get install tshark`.
 */

function onPath(cmd: string): boolean {
  const r = spawnSync(cmd, ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}

const HAVE_TSHARK = onPath('tshark');
if (!HAVE_TSHARK) {
  console.warn('SKIPPED: RTCP interop against a real peer needs `tshark` on PATH (Debian package tshark); it is missing.');
}

// --- a minimal pcap writer (libpcap format, Ethernet link, IPv4/UDP on 127.0.0.1) ---------------

interface Frame {
  timeMs: number;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pcap(frames: readonly Frame[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0); // magic, µs timestamps
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16); // snaplen
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const parts: Buffer[] = [global];
  let ipId = 1;
  for (const f of frames) {
    const udpLen = 8 + f.payload.length;
    const ipLen = 20 + udpLen;
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12); // IPv4, zero MACs as on a loopback capture
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(ipLen, 2);
    ip.writeUInt16BE(ipId++, 4);
    ip.writeUInt16BE(0x4000, 6); // DF
    ip[8] = 64;
    ip[9] = 17; // UDP
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    ip.writeUInt16BE(ipv4Checksum(ip), 10);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(f.srcPort, 0);
    udp.writeUInt16BE(f.dstPort, 2);
    udp.writeUInt16BE(udpLen, 4); // checksum 0: none, allowed over IPv4 (RFC 768)
    const rec = Buffer.alloc(16);
    const caplen = 14 + ipLen;
    rec.writeUInt32LE(Math.floor(f.timeMs / 1000), 0);
    rec.writeUInt32LE(Math.round((f.timeMs % 1000) * 1000), 4);
    rec.writeUInt32LE(caplen, 8);
    rec.writeUInt32LE(caplen, 12);
    parts.push(rec, eth, ip, udp, Buffer.from(f.payload));
  }
  return Buffer.concat(parts);
}

// --- the exchange ------------------------------------------------------------------------------

const OUR_PORT = 40_000;
const PEER_PORT = 40_001;
const OUR_SSRC = 0x6a7e0001;
const PEER_SSRC = 0x0badcafe;
const T0 = Date.UTC(2025, 2, 14, 15, 9, 26, 535);
const ONE_WAY_MS = 40;
const HOLD_MS = 250;

const sender: RtcpSenderInfo = {
  ntpSeconds: ntpSecondsFromMs(T0),
  ntpFraction: ntpFractionFromMs(T0),
  rtpTimestamp: 0x89abcdef,
  packetCount: 1500,
  octetCount: 240_000,
};
// What we say about the peer's stream in our SR.
const srBlocks: RtcpReportBlock[] = [
  { ssrc: PEER_SSRC, fractionLost: 13, cumulativeLost: 77, extendedHighestSeq: 0x0001_2345, jitter: 120, lsr: 0, dlsr: 0 },
  { ssrc: 0x22223333, fractionLost: 0, cumulativeLost: -2, extendedHighestSeq: 42, jitter: 0, lsr: 0x11112222, dlsr: 65536 },
];

// The peer's RR about our stream, built by ReceiverStats from our SR and a stream with a gap.
const peerStats = new ReceiverStats({ clockRate: 8000, minSequential: 1 });
for (let seq = 0; seq < 200; seq++) if (seq % 20 !== 7) peerStats.onRtp(OUR_SSRC, seq, seq * 160, seq * 20);
peerStats.onSenderReport(sender.ntpSeconds, sender.ntpFraction, 5000);
const rrBlock = peerStats.fillReportBlock(createRtcpReportBlock(), 5000 + HOLD_MS);

const srBuf = new Uint8Array(rtcpReportSize(true, srBlocks.length, 'gw@127.0.0.1'.length));
writeRtcpReport(srBuf, 0, { ssrc: OUR_SSRC, sender, reports: srBlocks, cname: new TextEncoder().encode('gw@127.0.0.1') });
const peerCname = new TextEncoder().encode('phone-7');
const reason = new TextEncoder().encode('bye now');
const rrBuf = new Uint8Array(rtcpReportSize(false, 1, peerCname.length) + rtcpByeSize(reason.length));
const rrLen = writeRtcpReport(rrBuf, 0, { ssrc: PEER_SSRC, sender: null, reports: [rrBlock], cname: peerCname });
writeRtcpBye(rrBuf, rrLen, PEER_SSRC, reason);

const FIELDS = [
  'frame.number',
  'rtcp.pt',
  'rtcp.rc',
  'rtcp.length_check',
  'rtcp.senderssrc',
  'rtcp.timestamp.ntp.msw',
  'rtcp.timestamp.ntp.lsw',
  'rtcp.timestamp.rtp',
  'rtcp.sender.packetcount',
  'rtcp.sender.octetcount',
  'rtcp.ssrc.identifier',
  'rtcp.ssrc.fraction',
  'rtcp.ssrc.cum_nr',
  'rtcp.ssrc.ext_high',
  'rtcp.ssrc.jitter',
  'rtcp.ssrc.lsr',
  'rtcp.ssrc.dlsr',
  'rtcp.sdes.text',
  'rtcp.roundtrip-delay',
] as const;
type Field = (typeof FIELDS)[number];

/** tshark's fields for each frame, every occurrence, split into numbers or strings */
function decode(file: string): Record<Field, string[]>[] {
  const args = ['-r', file, '-d', `udp.port==${OUR_PORT},rtcp`, '-o', 'rtcp.show_roundtrip_calculation:TRUE', '-T', 'fields'];
  args.push('-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=;');
  for (const f of FIELDS) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tshark exited ${r.status}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const cols = line.split('\t');
      const row = {} as Record<Field, string[]>;
      FIELDS.forEach((f, i) => (row[f] = (cols[i] ?? '') === '' ? [] : cols[i]!.split(';')));
      return row;
    });
}

const num = (v: readonly string[]): number[] => v.map((s) => Number(s));

describe.skipIf(!HAVE_TSHARK)('RTCP we build, decoded by Wireshark (tshark)', () => {
  let dir = '';
  let rows: Record<Field, string[]>[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rtcp-tshark-'));
    const file = join(dir, 'rtcp.pcap');
    writeFileSync(
      file,
      pcap([
        { timeMs: T0, srcPort: OUR_PORT, dstPort: PEER_PORT, payload: srBuf },
        { timeMs: T0 + ONE_WAY_MS + HOLD_MS + ONE_WAY_MS, srcPort: PEER_PORT, dstPort: OUR_PORT, payload: rrBuf },
      ]),
    );
    rows = decode(file);
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('decodes two frames whose RTCP lengths add up', () => {
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r['rtcp.length_check'].every((v) => v === '1' || v === 'True')).toBe(true);
  });

  it('reads our SR: sender info, both report blocks and the SDES CNAME', () => {
    const sr = rows[0]!;
    expect(num(sr['rtcp.pt'])).toEqual([200, 202]);
    expect(num(sr['rtcp.rc'])).toEqual([2]);
    expect(num(sr['rtcp.senderssrc'])).toEqual([OUR_SSRC]);
    expect(num(sr['rtcp.timestamp.ntp.msw'])).toEqual([sender.ntpSeconds]);
    expect(num(sr['rtcp.timestamp.ntp.lsw'])).toEqual([sender.ntpFraction]);
    expect(num(sr['rtcp.timestamp.rtp'])).toEqual([sender.rtpTimestamp]);
    expect(num(sr['rtcp.sender.packetcount'])).toEqual([sender.packetCount]);
    expect(num(sr['rtcp.sender.octetcount'])).toEqual([sender.octetCount]);
    // Wireshark shows report-block and SDES-chunk sources under the same field.
    expect(num(sr['rtcp.ssrc.identifier'])).toEqual([...srBlocks.map((b) => b.ssrc), OUR_SSRC]);
    expect(num(sr['rtcp.ssrc.fraction'])).toEqual(srBlocks.map((b) => b.fractionLost));
    expect(num(sr['rtcp.ssrc.cum_nr'])).toEqual(srBlocks.map((b) => b.cumulativeLost));
    expect(num(sr['rtcp.ssrc.ext_high'])).toEqual(srBlocks.map((b) => b.extendedHighestSeq));
    expect(num(sr['rtcp.ssrc.jitter'])).toEqual(srBlocks.map((b) => b.jitter));
    expect(num(sr['rtcp.ssrc.lsr'])).toEqual(srBlocks.map((b) => b.lsr));
    expect(num(sr['rtcp.ssrc.dlsr'])).toEqual(srBlocks.map((b) => b.dlsr));
    expect(sr['rtcp.sdes.text']).toEqual(['gw@127.0.0.1']);
  });

  it("reads the peer's RR (from ReceiverStats), SDES and BYE, and the round trip they imply", () => {
    const rr = rows[1]!;
    expect(num(rr['rtcp.pt'])).toEqual([201, 202, 203]);
    expect(num(rr['rtcp.senderssrc'])).toEqual([PEER_SSRC]);
    // 10 of 200 lost: fraction floor(10·256/200) = 12, cumulative 10, highest 199
    expect(rrBlock).toMatchObject({ fractionLost: 12, cumulativeLost: 10, extendedHighestSeq: 199 });
    // report block about us, then the SDES chunk's and the BYE's source
    expect(num(rr['rtcp.ssrc.identifier'])).toEqual([OUR_SSRC, PEER_SSRC, PEER_SSRC]);
    expect(num(rr['rtcp.ssrc.fraction'])).toEqual([12]);
    expect(num(rr['rtcp.ssrc.cum_nr'])).toEqual([10]);
    expect(num(rr['rtcp.ssrc.ext_high'])).toEqual([199]);
    expect(num(rr['rtcp.ssrc.jitter'])).toEqual([rrBlock.jitter]);
    expect(num(rr['rtcp.ssrc.lsr'])).toEqual([ntpMiddle32(sender.ntpSeconds, sender.ntpFraction)]);
    expect(num(rr['rtcp.ssrc.dlsr'])).toEqual([msToCompactNtp(HOLD_MS)]);
    // the CNAME, then the BYE reason (Wireshark shows both as text)
    expect(rr['rtcp.sdes.text']).toEqual(['phone-7', 'bye now']);
    // Wireshark matches LSR to frame 1 and computes A − LSR − DLSR from capture times: 2 × 40 ms.
    expect(num(rr['rtcp.roundtrip-delay'])).toEqual([2 * ONE_WAY_MS]);
  });
});
