import { CodecError } from './errors.js';

/**
 * RTCP, RFC 3550 §6: parse compound packets into reusable views and build SR/RR + SDES CNAME
 * compounds into caller-provided buffers. Same conventions as rtp.ts: `try*` functions return an
 * error code instead of throwing and allocate nothing (the receive path counts drops); the
 * `parse*` convenience throws a typed CodecError and builds plain objects (tests, tools).
 *
 * Common header of every RTCP packet (§6.4.1):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|    RC   |   PT=SR=200   |             length            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `length` is the packet's size in 32-bit words minus one, header and padding included.
 */

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_APP = 204;
/** RFC 4585 transport-layer feedback */
export const RTCP_RTPFB = 205;
/** RFC 4585 payload-specific feedback */
export const RTCP_PSFB = 206;

/** SDES item type of the canonical name (§6.5.1) */
export const RTCP_SDES_CNAME = 1;

export const RTCP_HEADER_SIZE = 4;
/** NTP timestamp (8), RTP timestamp (4), packet count (4), octet count (4): §6.4.1 */
export const RTCP_SENDER_INFO_SIZE = 20;
export const RTCP_REPORT_BLOCK_SIZE = 24;
/** The 5-bit RC field caps report blocks per SR/RR packet (§6.4.1). */
export const RTCP_MAX_REPORT_BLOCKS = 31;

/**
 * Stable codes of RTCP failures; like the RTP ones they double as drop-counter labels, so never
 * rename one. errors.ts's CodecErrorCode union lists each of them too.
 */
export type RtcpErrorCode =
  /** fewer than 4 bytes left for a header, or a `length` field that runs past the end (§A.2) */
  | 'RTCP_TRUNCATED'
  /** a packet whose version is not 2 (§A.2) */
  | 'RTCP_BAD_VERSION'
  /** the compound does not start with SR or RR (§6.1, §A.2; RFC 5506 relaxes this on request) */
  | 'RTCP_BAD_FIRST_PACKET'
  /** P set on a packet that is not the last, a padding count of 0, or one larger than the body (§6.4.1, §A.2) */
  | 'RTCP_BAD_PADDING'
  /** a `length` too short for what its count field announces (SR/RR blocks, BYE sources or reason) */
  | 'RTCP_BAD_LENGTH'
  /** the destination buffer cannot hold the packet being written */
  | 'RTCP_BUFFER_TOO_SMALL';

const RTCP_ERROR_CODES: ReadonlySet<string> = new Set<RtcpErrorCode>([
  'RTCP_TRUNCATED',
  'RTCP_BAD_VERSION',
  'RTCP_BAD_FIRST_PACKET',
  'RTCP_BAD_PADDING',
  'RTCP_BAD_LENGTH',
  'RTCP_BUFFER_TOO_SMALL',
]);

/** True when a CodecError's code is one of the RTCP ones. */
export function isRtcpErrorCode(code: string): code is RtcpErrorCode {
  return RTCP_ERROR_CODES.has(code);
}

/**
 * The codecs' typed error with an RTCP code: `err.code` is exactly the RTCP code and
 * `err instanceof CodecError` holds.
 */
function rtcpError(code: RtcpErrorCode, message: string): CodecError {
  return new CodecError(code, message);
}

/**
 * RFC 5761 §4: with RTP and RTCP multiplexed on one port, a packet whose second octet (RTP's M bit
 * + PT, RTCP's packet type) is 192–223 is RTCP. RTP payload types 64–95 would collide with that
 * range, which is why §4 forbids them on a muxed session. The version check (V=2) keeps STUN and
 * DTLS (first octet 0–3 and 20–63, RFC 7983) out.
 */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const b1 = buf[1]!;
  return buf[0]! >> 6 === 2 && b1 >= 192 && b1 <= 223;
}

/**
 * One packet of a compound, as a view: numbers only, no allocation. Report blocks, BYE sources
 * and bodies stay in the buffer; read them with `readRtcpReportBlock`, `rtcpByeSource`,
 * `rtcpByeReason` and `rtcpBody`. Valid only as long as the parsed buffer is.
 */
export interface RtcpPacket {
  /** 8-bit packet type (200 SR, 201 RR, 202 SDES, 203 BYE, 204 APP, 205/206 feedback, …) */
  packetType: number;
  /** 5-bit count field: report blocks (SR/RR), sources (SDES/BYE), subtype or FMT (APP/feedback) */
  count: number;
  padding: boolean;
  /** byte offset of this packet's header in the parsed buffer */
  offset: number;
  /** bytes the packet occupies, header and padding included ((length + 1) × 4); the next packet starts at offset + size */
  size: number;
  /** byte offset in the buffer of the content after the 4-byte header */
  bodyOffset: number;
  /** content bytes after the header, padding excluded */
  bodyLength: number;
  /** sender SSRC (SR, RR, APP, feedback), first source (SDES, BYE); 0 when the body is shorter than 4 bytes */
  ssrc: number;
  /** SR: NTP timestamp, whole seconds since 1900 (32 bits, wraps in 2036); 0 otherwise */
  ntpSeconds: number;
  /** SR: NTP timestamp fraction, units of 2^-32 s; 0 otherwise */
  ntpFraction: number;
  /** SR: RTP timestamp for the same instant as the NTP one, clock-rate units; 0 otherwise */
  rtpTimestamp: number;
  /** SR: RTP data packets sent since the stream started (wraps at 2^32); 0 otherwise */
  senderPacketCount: number;
  /** SR: RTP payload octets sent since the stream started (wraps at 2^32); 0 otherwise */
  senderOctetCount: number;
  /** byte offset in the buffer of the first report block (SR/RR), -1 for other types */
  reportsOffset: number;
  /** BYE: byte offset of the reason text (after its length octet), -1 when there is none */
  reasonOffset: number;
  /** BYE: reason length in bytes (UTF-8), 0 when there is none */
  reasonLength: number;
}

/** A blank packet view, to be reused across `tryParseRtcpPacket` calls. */
export function createRtcpPacket(): RtcpPacket {
  return {
    packetType: 0,
    count: 0,
    padding: false,
    offset: 0,
    size: 0,
    bodyOffset: 0,
    bodyLength: 0,
    ssrc: 0,
    ntpSeconds: 0,
    ntpFraction: 0,
    rtpTimestamp: 0,
    senderPacketCount: 0,
    senderOctetCount: 0,
    reportsOffset: -1,
    reasonOffset: -1,
    reasonLength: 0,
  };
}

/** A reception report block (§6.4.1); also the input of `writeRtcpReport`. */
export interface RtcpReportBlock {
  /** SSRC of the source this block reports on */
  ssrc: number;
  /** fraction of packets lost since the previous report, 8-bit fixed point (lost/expected × 256, 0..255) */
  fractionLost: number;
  /** cumulative packets lost, signed 24-bit (negative with duplicates, §6.4.1); saturated on write */
  cumulativeLost: number;
  /** extended highest sequence number received: cycles × 2^16 + highest seq (32 bits) */
  extendedHighestSeq: number;
  /** interarrival jitter estimate (§A.8), RTP timestamp units, unsigned 32-bit */
  jitter: number;
  /** middle 32 bits of the NTP timestamp of the last SR received from that source, 0 when none */
  lsr: number;
  /** delay since that SR was received, units of 1/65536 s, 0 when none */
  dlsr: number;
}

export function createRtcpReportBlock(): RtcpReportBlock {
  return { ssrc: 0, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 0, jitter: 0, lsr: 0, dlsr: 0 };
}

export interface RtcpParseOptions {
  /**
   * RFC 5506 reduced-size RTCP: accept a compound whose first packet is not SR/RR (e.g. a lone
   * feedback message). Off by default: §6.1 and the §A.2 validity check require SR/RR first.
   */
  reducedSize?: boolean;
}

/**
 * Reads the packet that starts at `offset` of the compound `buf` into `out`, checking its own
 * structure: header, length, padding (only on the packet that ends the buffer, §A.2), and that its
 * count fits its length (SR/RR/BYE). Other types are only skipped by length. Allocates nothing.
 * Returns null on success, or the error code.
 */
export function tryParseRtcpPacket(buf: Uint8Array, offset: number, out: RtcpPacket): RtcpErrorCode | null {
  const len = buf.length;
  if (offset < 0 || offset + RTCP_HEADER_SIZE > len) return 'RTCP_TRUNCATED';
  const b0 = buf[offset]!;
  if (b0 >> 6 !== 2) return 'RTCP_BAD_VERSION';
  const padding = (b0 & 0x20) !== 0;
  const count = b0 & 0x1f;
  const pt = buf[offset + 1]!;
  const size = (((buf[offset + 2]! << 8) | buf[offset + 3]!) + 1) * 4;
  const end = offset + size;
  if (end > len) return 'RTCP_TRUNCATED';
  const bodyOffset = offset + RTCP_HEADER_SIZE;
  let contentEnd = end;
  if (padding) {
    // §6.4.1: padding is only allowed on the last packet of a compound (§A.2 checks it); the last
    // octet counts the padding octets, itself included.
    if (end !== len) return 'RTCP_BAD_PADDING';
    const pad = buf[end - 1]!;
    if (pad === 0 || pad > size - RTCP_HEADER_SIZE) return 'RTCP_BAD_PADDING';
    contentEnd = end - pad;
  }
  const bodyLength = contentEnd - bodyOffset;
  let ntpSeconds = 0;
  let ntpFraction = 0;
  let rtpTimestamp = 0;
  let senderPacketCount = 0;
  let senderOctetCount = 0;
  let reportsOffset = -1;
  let reasonOffset = -1;
  let reasonLength = 0;
  if (pt === RTCP_SR) {
    // Bytes past the report blocks are a profile-specific extension (§6.4.1): allowed, skipped.
    if (bodyLength < 4 + RTCP_SENDER_INFO_SIZE + RTCP_REPORT_BLOCK_SIZE * count) return 'RTCP_BAD_LENGTH';
    ntpSeconds = readU32(buf, bodyOffset + 4);
    ntpFraction = readU32(buf, bodyOffset + 8);
    rtpTimestamp = readU32(buf, bodyOffset + 12);
    senderPacketCount = readU32(buf, bodyOffset + 16);
    senderOctetCount = readU32(buf, bodyOffset + 20);
    reportsOffset = bodyOffset + 4 + RTCP_SENDER_INFO_SIZE;
  } else if (pt === RTCP_RR) {
    if (bodyLength < 4 + RTCP_REPORT_BLOCK_SIZE * count) return 'RTCP_BAD_LENGTH';
    reportsOffset = bodyOffset + 4;
  } else if (pt === RTCP_BYE) {
    // §6.6: SC sources, then optionally a length-prefixed reason (padded to 32 bits with zeros).
    const sourcesEnd = bodyOffset + 4 * count;
    if (sourcesEnd > contentEnd) return 'RTCP_BAD_LENGTH';
    if (sourcesEnd < contentEnd) {
      const rlen = buf[sourcesEnd]!;
      if (sourcesEnd + 1 + rlen > contentEnd) return 'RTCP_BAD_LENGTH';
      reasonOffset = sourcesEnd + 1;
      reasonLength = rlen;
    }
  }
  out.packetType = pt;
  out.count = count;
  out.padding = padding;
  out.offset = offset;
  out.size = size;
  out.bodyOffset = bodyOffset;
  out.bodyLength = bodyLength;
  out.ssrc = bodyLength >= 4 ? readU32(buf, bodyOffset) : 0;
  out.ntpSeconds = ntpSeconds;
  out.ntpFraction = ntpFraction;
  out.rtpTimestamp = rtpTimestamp;
  out.senderPacketCount = senderPacketCount;
  out.senderOctetCount = senderOctetCount;
  out.reportsOffset = reportsOffset;
  out.reasonOffset = reasonOffset;
  out.reasonLength = reasonLength;
  return null;
}

// Scratch view for validation: single-threaded JS, and it never escapes.
const SCRATCH = createRtcpPacket();

/**
 * §A.2 validity checks over a whole compound packet: every packet is version 2 and well formed
 * (`tryParseRtcpPacket`), the first is SR or RR (unless `reducedSize`), only the last is padded,
 * and the lengths add up to exactly the buffer's length. After null, walking the packets with
 * `tryParseRtcpPacket(buf, off, pkt); off += pkt.size` until `buf.length` cannot fail.
 * Allocates nothing.
 */
export function tryValidateRtcp(buf: Uint8Array, options?: RtcpParseOptions): RtcpErrorCode | null {
  if (buf.length < RTCP_HEADER_SIZE) return 'RTCP_TRUNCATED';
  let off = 0;
  while (off < buf.length) {
    const code = tryParseRtcpPacket(buf, off, SCRATCH);
    if (code !== null) return code;
    if (off === 0 && options?.reducedSize !== true && SCRATCH.packetType !== RTCP_SR && SCRATCH.packetType !== RTCP_RR) {
      return 'RTCP_BAD_FIRST_PACKET';
    }
    off += SCRATCH.size;
  }
  return null;
}

/**
 * Report block `i` (0 ≤ i < pkt.count) of an SR or RR packet parsed from `buf`, into `out`.
 * @throws {RangeError} when `pkt` is not an SR/RR or `i` is out of range (a caller bug, not bad input).
 */
export function readRtcpReportBlock(buf: Uint8Array, pkt: RtcpPacket, i: number, out: RtcpReportBlock): RtcpReportBlock {
  if (pkt.reportsOffset < 0 || i < 0 || i >= pkt.count)
    throw new RangeError(`no report block ${i} [type:${pkt.packetType} count:${pkt.count}]`);
  const o = pkt.reportsOffset + RTCP_REPORT_BLOCK_SIZE * i;
  out.ssrc = readU32(buf, o);
  out.fractionLost = buf[o + 4]!;
  // Signed 24-bit: shift the three octets to the top of an int32, then arithmetic-shift back.
  out.cumulativeLost = ((buf[o + 5]! << 24) | (buf[o + 6]! << 16) | (buf[o + 7]! << 8)) >> 8;
  out.extendedHighestSeq = readU32(buf, o + 8);
  out.jitter = readU32(buf, o + 12);
  out.lsr = readU32(buf, o + 16);
  out.dlsr = readU32(buf, o + 20);
  return out;
}

/**
 * Source `i` (0 ≤ i < pkt.count) of a BYE packet parsed from `buf`.
 * @throws {RangeError} when `pkt` is not a BYE or `i` is out of range.
 */
export function rtcpByeSource(buf: Uint8Array, pkt: RtcpPacket, i: number): number {
  if (pkt.packetType !== RTCP_BYE || i < 0 || i >= pkt.count)
    throw new RangeError(`no BYE source ${i} [type:${pkt.packetType} count:${pkt.count}]`);
  return readU32(buf, pkt.bodyOffset + 4 * i);
}

/** The BYE reason as a view into `buf` (UTF-8 bytes), empty when there is none. */
export function rtcpByeReason(buf: Uint8Array, pkt: RtcpPacket): Uint8Array {
  return pkt.reasonOffset < 0 ? EMPTY : buf.subarray(pkt.reasonOffset, pkt.reasonOffset + pkt.reasonLength);
}

/** The packet's content after its header, padding excluded, as a view into `buf`. */
export function rtcpBody(buf: Uint8Array, pkt: RtcpPacket): Uint8Array {
  return buf.subarray(pkt.bodyOffset, pkt.bodyOffset + pkt.bodyLength);
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** A packet of a compound as a plain object (from `parseRtcp`): the view plus its blocks and sources copied out. */
export interface ParsedRtcpPacket extends RtcpPacket {
  /** SR/RR report blocks, empty for other types */
  reports: RtcpReportBlock[];
  /** BYE sources, empty for other types */
  sources: number[];
  /** BYE reason decoded as UTF-8, '' when none */
  reason: string;
}

const MESSAGES: Record<RtcpErrorCode, string> = {
  RTCP_TRUNCATED: 'RTCP packet shorter than its header or its length field',
  RTCP_BAD_VERSION: 'RTCP version is not 2',
  RTCP_BAD_FIRST_PACKET: 'RTCP compound packet does not start with SR or RR',
  RTCP_BAD_PADDING: 'RTCP padding on a packet that is not the last, or a padding count of zero or past the body',
  RTCP_BAD_LENGTH: 'RTCP packet length too short for its count',
  RTCP_BUFFER_TOO_SMALL: 'RTCP destination buffer too small',
};

const UTF8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Parses and validates (§A.2) a compound RTCP packet into plain objects. Allocates: for tests,
 * tools and logs; the receive path uses `tryValidateRtcp` + `tryParseRtcpPacket`.
 * @throws {CodecError} with an `RTCP_*` code when the compound is malformed.
 */
export function parseRtcp(buf: Uint8Array, options?: RtcpParseOptions): ParsedRtcpPacket[] {
  const code = tryValidateRtcp(buf, options);
  if (code !== null) throw rtcpError(code, `${MESSAGES[code]} [length:${buf.length}]`);
  const packets: ParsedRtcpPacket[] = [];
  for (let off = 0; off < buf.length;) {
    const view = createRtcpPacket();
    tryParseRtcpPacket(buf, off, view);
    const reports: RtcpReportBlock[] = [];
    const sources: number[] = [];
    if (view.reportsOffset >= 0)
      for (let i = 0; i < view.count; i++) reports.push(readRtcpReportBlock(buf, view, i, createRtcpReportBlock()));
    if (view.packetType === RTCP_BYE) for (let i = 0; i < view.count; i++) sources.push(rtcpByeSource(buf, view, i));
    packets.push({ ...view, reports, sources, reason: UTF8.decode(rtcpByeReason(buf, view)) });
    off += view.size;
  }
  return packets;
}

/** SR sender info (§6.4.1) to write. */
export interface RtcpSenderInfo {
  /** NTP seconds since 1900, 32 bits (see `ntpSecondsFromMs`) */
  ntpSeconds: number;
  /** NTP fraction, units of 2^-32 s (see `ntpFractionFromMs`) */
  ntpFraction: number;
  /** RTP timestamp of the same instant, clock-rate units */
  rtpTimestamp: number;
  /** RTP data packets sent so far */
  packetCount: number;
  /** RTP payload octets sent so far (headers and padding excluded) */
  octetCount: number;
}

/**
 * What `writeRtcpReport` writes. Meant to be built once per stream and mutated before each
 * report, so writing allocates nothing.
 */
export interface RtcpReportFields {
  /** our SSRC: the SR/RR sender and the SDES chunk's source */
  ssrc: number;
  /** present: an SR (we sent RTP since the last report, §6.4); null: an RR */
  sender: RtcpSenderInfo | null;
  /** report blocks; only the first `reportCount` are written */
  reports: readonly RtcpReportBlock[];
  /** how many of `reports` to write (0..31); defaults to reports.length */
  reportCount?: number;
  /** CNAME as UTF-8 bytes (1..255), encoded once per stream (§6.5.1: stable for the session) */
  cname: Uint8Array;
}

/** Bytes of the SDES packet holding one chunk with only a CNAME item (§6.5). */
function sdesCnameSize(cnameLength: number): number {
  // header 4 + SSRC 4 + item (type, length, text) + at least one null octet ending the item
  // list, padded to a 32-bit boundary (§6.5).
  return 8 + (((2 + cnameLength + 1 + 3) >> 2) << 2);
}

/** Size in bytes of the compound `writeRtcpReport` produces. */
export function rtcpReportSize(senderReport: boolean, reportCount: number, cnameLength: number): number {
  const first = RTCP_HEADER_SIZE + 4 + (senderReport ? RTCP_SENDER_INFO_SIZE : 0) + RTCP_REPORT_BLOCK_SIZE * reportCount;
  return first + sdesCnameSize(cnameLength);
}

/**
 * Writes a compound SR or RR + SDES(CNAME) (the minimal compound §6.1 requires) into `dst` at
 * `offset`. Nothing is allocated. Returns the number of bytes written. Cumulative loss is
 * saturated to the signed 24-bit field (§A.3 clamps it the same way); other fields are taken
 * modulo their width.
 * @throws {CodecError} RTCP_BUFFER_TOO_SMALL when `dst` cannot hold the compound.
 * @throws {RangeError} for more than 31 report blocks or a CNAME outside 1..255 bytes.
 */
export function writeRtcpReport(dst: Uint8Array, offset: number, f: RtcpReportFields): number {
  const rc = f.reportCount ?? f.reports.length;
  if (rc < 0 || rc > RTCP_MAX_REPORT_BLOCKS || rc > f.reports.length) {
    throw new RangeError(`report count must be 0..31 and within reports [count:${rc} reports:${f.reports.length}]`);
  }
  const cnameLength = f.cname.length;
  if (cnameLength < 1 || cnameLength > 255) throw new RangeError(`CNAME must be 1..255 bytes [length:${cnameLength}]`);
  const sender = f.sender;
  const size = rtcpReportSize(sender !== null, rc, cnameLength);
  if (offset < 0 || offset + size > dst.length) {
    throw rtcpError('RTCP_BUFFER_TOO_SMALL', `need ${size} bytes at offset ${offset}, have ${dst.length - offset}`);
  }
  const firstSize = size - sdesCnameSize(cnameLength);
  dst[offset] = 0x80 | rc;
  dst[offset + 1] = sender !== null ? RTCP_SR : RTCP_RR;
  writeU16(dst, offset + 2, firstSize / 4 - 1);
  writeU32(dst, offset + 4, f.ssrc);
  let o = offset + 8;
  if (sender !== null) {
    writeU32(dst, o, sender.ntpSeconds);
    writeU32(dst, o + 4, sender.ntpFraction);
    writeU32(dst, o + 8, sender.rtpTimestamp);
    writeU32(dst, o + 12, sender.packetCount);
    writeU32(dst, o + 16, sender.octetCount);
    o += RTCP_SENDER_INFO_SIZE;
  }
  for (let i = 0; i < rc; i++, o += RTCP_REPORT_BLOCK_SIZE) {
    const r = f.reports[i]!;
    const lost = Math.max(-0x800000, Math.min(0x7fffff, Math.trunc(r.cumulativeLost)));
    writeU32(dst, o, r.ssrc);
    dst[o + 4] = r.fractionLost & 0xff;
    dst[o + 5] = (lost >> 16) & 0xff;
    dst[o + 6] = (lost >> 8) & 0xff;
    dst[o + 7] = lost & 0xff;
    writeU32(dst, o + 8, r.extendedHighestSeq);
    writeU32(dst, o + 12, r.jitter);
    writeU32(dst, o + 16, r.lsr);
    writeU32(dst, o + 20, r.dlsr);
  }
  // SDES, one chunk (SC=1): our SSRC, CNAME item, then nulls to the next 32-bit boundary (§6.5).
  const sdesSize = sdesCnameSize(cnameLength);
  dst[o] = 0x81;
  dst[o + 1] = RTCP_SDES;
  writeU16(dst, o + 2, sdesSize / 4 - 1);
  writeU32(dst, o + 4, f.ssrc);
  dst[o + 8] = RTCP_SDES_CNAME;
  dst[o + 9] = cnameLength;
  dst.set(f.cname, o + 10);
  dst.fill(0, o + 10 + cnameLength, o + sdesSize);
  return size;
}

/** Size in bytes of the BYE `writeRtcpBye` produces. */
export function rtcpByeSize(reasonLength: number): number {
  return 8 + (reasonLength > 0 ? ((1 + reasonLength + 3) >> 2) << 2 : 0);
}

/**
 * Writes a BYE for `ssrc` (§6.6) at `offset`, with an optional UTF-8 reason (≤ 255 bytes). A BYE
 * must follow an SR/RR in a compound (§6.1): write it right after `writeRtcpReport`'s output.
 * Returns the number of bytes written.
 * @throws {CodecError} RTCP_BUFFER_TOO_SMALL when `dst` cannot hold it.
 * @throws {RangeError} for a reason longer than 255 bytes.
 */
export function writeRtcpBye(dst: Uint8Array, offset: number, ssrc: number, reason: Uint8Array = EMPTY): number {
  if (reason.length > 255) throw new RangeError(`BYE reason must be at most 255 bytes [length:${reason.length}]`);
  const size = rtcpByeSize(reason.length);
  if (offset < 0 || offset + size > dst.length) {
    throw rtcpError('RTCP_BUFFER_TOO_SMALL', `need ${size} bytes at offset ${offset}, have ${dst.length - offset}`);
  }
  dst[offset] = 0x81;
  dst[offset + 1] = RTCP_BYE;
  writeU16(dst, offset + 2, size / 4 - 1);
  writeU32(dst, offset + 4, ssrc);
  if (reason.length > 0) {
    dst[offset + 8] = reason.length;
    dst.set(reason, offset + 9);
    dst.fill(0, offset + 9 + reason.length, offset + size);
  }
  return size;
}

// --- NTP time (RFC 3550 §4, RFC 5905 §6) -------------------------------------------------------

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;
const TWO_32 = 4_294_967_296;

/** Whole NTP seconds (32 bits, modulo 2^32: era 1 starts in 2036) of a Unix time in ms. */
export function ntpSecondsFromMs(unixMs: number): number {
  return (Math.floor(unixMs / 1000) + NTP_UNIX_OFFSET_S) >>> 0;
}

/** NTP fraction of a Unix time in ms, in units of 2^-32 s (sub-ms precision is kept when given). */
export function ntpFractionFromMs(unixMs: number): number {
  const ms = unixMs - Math.floor(unixMs / 1000) * 1000; // 0 ≤ ms < 1000
  return Math.min(Math.floor((ms * TWO_32) / 1000), 0xffffffff);
}

/** The middle 32 bits of a 64-bit NTP timestamp: what LSR echoes (§6.4.1), units of 1/65536 s. */
export function ntpMiddle32(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}

/** Middle 32 bits of the NTP timestamp of a Unix time in ms (e.g. an arrival time A, §6.4.1). */
export function ntpMiddle32FromMs(unixMs: number): number {
  return ntpMiddle32(ntpSecondsFromMs(unixMs), ntpFractionFromMs(unixMs));
}

/**
 * Unix time in ms of a 64-bit NTP timestamp. The 32-bit seconds are ambiguous across eras; as
 * RFC 4330 §3 suggests, a clear top bit is read as era 1 (2036–2104), a set one as era 0.
 */
export function ntpToUnixMs(ntpSeconds: number, ntpFraction: number): number {
  const s = ntpSeconds >>> 0;
  const unixS = (s >= 0x80000000 ? s : s + TWO_32) - NTP_UNIX_OFFSET_S;
  return unixS * 1000 + ((ntpFraction >>> 0) * 1000) / TWO_32;
}

/** A 32-bit compact NTP duration (LSR/DLSR units, 1/65536 s) in ms. */
export function compactNtpToMs(v: number): number {
  return ((v >>> 0) * 1000) / 65536;
}

/** A duration in ms as 32-bit compact NTP (1/65536 s, as DLSR carries it), rounded, saturated. */
export function msToCompactNtp(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(Math.round((ms * 65536) / 1000), 0xffffffff);
}

function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

function writeU16(dst: Uint8Array, off: number, v: number): void {
  dst[off] = (v >>> 8) & 0xff;
  dst[off + 1] = v & 0xff;
}

function writeU32(dst: Uint8Array, off: number, v: number): void {
  dst[off] = (v >>> 24) & 0xff;
  dst[off + 1] = (v >>> 16) & 0xff;
  dst[off + 2] = (v >>> 8) & 0xff;
  dst[off + 3] = v & 0xff;
}
