import { CodecError, type CodecErrorCode } from './errors.js';

/**
 * RTP fixed header, RFC 3550 §5.1:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Header extension (§5.3.1): 16-bit profile-defined id, 16-bit length in 32-bit words
 * (excluding the 4-byte extension header itself), then the data.
 */
export const RTP_HEADER_SIZE = 12;

/**
 * A parsed RTP packet. `payload`, `csrcs`' source and `extension` are views into the buffer
 * that was parsed: borrowed, valid only as long as that buffer is.
 */
export interface RtpPacket {
  padding: boolean;
  marker: boolean;
  /** 7-bit payload type */
  payloadType: number;
  /** 16-bit, wraps */
  sequenceNumber: number;
  /** 32-bit, in clock-rate units, wraps */
  timestamp: number;
  /** 32-bit */
  ssrc: number;
  /** number of CSRC identifiers (0..15) */
  csrcCount: number;
  /** 16-bit profile id of the header extension, or -1 when there is none */
  extensionProfile: number;
  /** extension data (without its 4-byte header), empty when there is none */
  extension: Uint8Array;
  payload: Uint8Array;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** A blank packet object, to be reused across `tryParseRtp` calls on the hot path. */
export function createRtpPacket(): RtpPacket {
  return {
    padding: false,
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    csrcCount: 0,
    extensionProfile: -1,
    extension: EMPTY,
    payload: EMPTY,
  };
}

/** CSRC i of a packet parsed from `buf` (they are not copied out on parse). */
export function rtpCsrc(buf: Uint8Array, i: number): number {
  const off = RTP_HEADER_SIZE + 4 * i;
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/**
 * Parses `buf` into `out` without copying or allocating (the payload is a `subarray` view).
 * Returns null on success, or the error code: the hot path counts drops without throwing.
 */
export function tryParseRtp(buf: Uint8Array, out: RtpPacket): CodecErrorCode | null {
  const len = buf.length;
  if (len < RTP_HEADER_SIZE) return 'RTP_TRUNCATED';
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return 'RTP_BAD_VERSION';
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const cc = b0 & 0x0f;
  const b1 = buf[1]!;
  let off = RTP_HEADER_SIZE + 4 * cc;
  if (off > len) return 'RTP_CSRC_OVERRUN';
  let extensionProfile = -1;
  let extension = EMPTY;
  if (hasExtension) {
    if (off + 4 > len) return 'RTP_EXTENSION_OVERRUN';
    extensionProfile = (buf[off]! << 8) | buf[off + 1]!;
    const words = (buf[off + 2]! << 8) | buf[off + 3]!;
    const extEnd = off + 4 + 4 * words;
    if (extEnd > len) return 'RTP_EXTENSION_OVERRUN';
    extension = buf.subarray(off + 4, extEnd);
    off = extEnd;
  }
  let end = len;
  if (padding) {
    // §5.1: the last octet counts the padding octets, itself included, so it is at least 1.
    const pad = buf[len - 1]!;
    if (pad === 0 || off + pad > len) return 'RTP_BAD_PADDING';
    end = len - pad;
  }
  out.padding = padding;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = (buf[2]! << 8) | buf[3]!;
  out.timestamp = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  out.ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
  out.csrcCount = cc;
  out.extensionProfile = extensionProfile;
  out.extension = extension;
  out.payload = buf.subarray(off, end);
  return null;
}

const MESSAGES: Partial<Record<CodecErrorCode, string>> = {
  RTP_TRUNCATED: 'RTP packet shorter than the 12-byte fixed header',
  RTP_BAD_VERSION: 'RTP version is not 2',
  RTP_CSRC_OVERRUN: 'RTP CSRC count runs past the end of the packet',
  RTP_EXTENSION_OVERRUN: 'RTP header extension length runs past the end of the packet',
  RTP_BAD_PADDING: 'RTP padding count is zero or larger than the payload',
};

/**
 * Parses an RTP packet (RFC 3550 §5.1) into a new object; payload is a view, not a copy.
 * @throws {CodecError} with an `RTP_*` code when the packet is malformed.
 */
export function parseRtp(buf: Uint8Array): RtpPacket {
  const out = createRtpPacket();
  const code = tryParseRtp(buf, out);
  if (code !== null) throw new CodecError(code, `${MESSAGES[code] ?? code} [length:${buf.length}]`);
  return out;
}

/** Fields to write; CSRCs and extension optional. */
export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  extensionProfile?: number;
  /** extension data; its length must be a multiple of 4 (§5.3.1 counts 32-bit words) */
  extension?: Uint8Array;
  /** total padding octets to append (1..255), 0 for none */
  padding?: number;
}

/** Size in bytes of the packet `writeRtp` would produce. */
export function rtpSize(h: RtpHeaderFields, payloadLength: number): number {
  const cc = h.csrcs?.length ?? 0;
  const ext = h.extension !== undefined ? 4 + h.extension.length : 0;
  return RTP_HEADER_SIZE + 4 * cc + ext + payloadLength + (h.padding ?? 0);
}

/**
 * Serializes a packet into `dst` at `offset` (caller-provided, nothing allocated).
 * Returns the number of bytes written.
 * @throws {CodecError} RTP_BUFFER_TOO_SMALL when `dst` cannot hold the packet.
 * @throws {RangeError} for field values out of range (CSRC count > 15, unaligned extension).
 */
export function writeRtp(dst: Uint8Array, offset: number, h: RtpHeaderFields, payload: Uint8Array): number {
  const cc = h.csrcs?.length ?? 0;
  if (cc > 15) throw new RangeError(`at most 15 CSRCs [count:${cc}]`);
  if (h.extension !== undefined && h.extension.length % 4 !== 0) {
    throw new RangeError(`extension length must be a multiple of 4 [length:${h.extension.length}]`);
  }
  const pad = h.padding ?? 0;
  if (pad < 0 || pad > 255) throw new RangeError(`padding must be 0..255 [padding:${pad}]`);
  const size = rtpSize(h, payload.length);
  if (offset + size > dst.length) {
    throw new CodecError('RTP_BUFFER_TOO_SMALL', `need ${size} bytes at offset ${offset}, have ${dst.length - offset}`);
  }
  const hasExt = h.extension !== undefined;
  dst[offset] = 0x80 | (pad > 0 ? 0x20 : 0) | (hasExt ? 0x10 : 0) | cc;
  dst[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  writeU16(dst, offset + 2, h.sequenceNumber);
  writeU32(dst, offset + 4, h.timestamp);
  writeU32(dst, offset + 8, h.ssrc);
  let off = offset + RTP_HEADER_SIZE;
  for (let i = 0; i < cc; i++, off += 4) writeU32(dst, off, h.csrcs![i]!);
  if (hasExt) {
    writeU16(dst, off, h.extensionProfile ?? 0);
    writeU16(dst, off + 2, h.extension!.length / 4);
    dst.set(h.extension!, off + 4);
    off += 4 + h.extension!.length;
  }
  dst.set(payload, off);
  off += payload.length;
  if (pad > 0) {
    dst.fill(0, off, off + pad - 1);
    dst[off + pad - 1] = pad;
    off += pad;
  }
  return off - offset;
}

/**
 * Writes only the 12-byte fixed header (no CSRC, extension or padding) — the egress hot path,
 * where the payload is encoded straight into `dst` after it.
 */
export function writeRtpFixedHeader(
  dst: Uint8Array,
  offset: number,
  marker: boolean,
  payloadType: number,
  sequenceNumber: number,
  timestamp: number,
  ssrc: number,
): void {
  dst[offset] = 0x80;
  dst[offset + 1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  writeU16(dst, offset + 2, sequenceNumber);
  writeU32(dst, offset + 4, timestamp);
  writeU32(dst, offset + 8, ssrc);
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
