import { parse, write } from 'sdp-transform';
import type { MediaDescription, SessionDescription } from 'sdp-transform';

export type CodecName = 'PCMU' | 'PCMA' | 'opus';
export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

interface CodecSpec {
  /** Static payload type (RFC 3551 table 4), or the one we offer for a dynamic codec. */
  readonly payloadType: number;
  readonly isStatic: boolean;
  readonly clockRate: number;
  readonly channels: number;
}

const CODECS: Readonly<Record<CodecName, CodecSpec>> = {
  PCMU: { payloadType: 0, isStatic: true, clockRate: 8000, channels: 1 },
  PCMA: { payloadType: 8, isStatic: true, clockRate: 8000, channels: 1 },
  // RFC 7587 §7: always opus/48000/2 in SDP, whatever the real rate and channel count.
  opus: { payloadType: 111, isStatic: false, clockRate: 48000, channels: 2 },
};

/** Our packetisation, in ms (the gateway's media clock is 20 ms). */
export const PTIME_MS = 20;

/** What both sides agreed on for the one audio stream. */
export interface NegotiatedMedia {
  codec: CodecName;
  payloadType: number;
  clockRate: number;
  channels: number;
  /** RFC 4733 telephone-event payload type as negotiated, or null when the peer has none. */
  dtmfPayloadType: number | null;
  /** Where to send RTP (media-level c= over session-level, RFC 4566 §5.7). */
  remoteAddress: string;
  remotePort: number;
  /** RTCP on the RTP port (RFC 5761). */
  rtcpMux: boolean;
  /** The direction the peer declared; `sendonly`/`inactive` means the peer holds the call. */
  remoteDirection: Direction;
  /** Our direction, the mirror of the remote one (RFC 3264 §6.1). */
  localDirection: Direction;
}

export interface LocalMedia {
  /** Address and RTP port we advertise. */
  address: string;
  port: number;
  /** Preference order; the first one the peer also has wins. Default PCMU, PCMA, opus. */
  codecs?: readonly CodecName[];
  /** o= session id and version (RFC 4566 §5.2): bump the version on every changed offer/answer. */
  sessionId?: number;
  sessionVersion?: number;
}

const MIRROR: Readonly<Record<Direction, Direction>> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

function safeParse(sdp: string): SessionDescription | null {
  try {
    const s = parse(sdp);
    return Array.isArray(s.media) ? s : null;
  } catch {
    return null;
  }
}

function payloadsOf(m: MediaDescription): number[] {
  // sdp-transform turns a lone payload type into a number at run time, whatever its types say.
  const raw: unknown = m.payloads;
  return (typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw : '')
    .split(' ')
    .filter((p) => /^\d{1,3}$/.test(p))
    .map(Number);
}

/** The payload type in `m` carrying `codec`, by rtpmap name and rate, or by static number. */
function findPayload(m: MediaDescription, codec: CodecName): number | null {
  const spec = CODECS[codec];
  for (const pt of payloadsOf(m)) {
    const map = m.rtp.find((r) => r.payload === pt);
    if (map === undefined) {
      if (spec.isStatic && pt === spec.payloadType) return pt;
    } else if (map.codec.toLowerCase() === codec.toLowerCase() && (map.rate ?? spec.clockRate) === spec.clockRate) return pt;
  }
  return null;
}

function findTelephoneEvent(m: MediaDescription, clockRate: number): number | null {
  const pts = payloadsOf(m);
  const te = m.rtp.find((r) => pts.includes(r.payload) && r.codec.toLowerCase() === 'telephone-event' && r.rate === clockRate);
  return te?.payload ?? null;
}

function directionOf(m: MediaDescription, s: SessionDescription): Direction {
  return m.direction ?? s.direction ?? 'sendrecv';
}

function isAudio(m: MediaDescription): boolean {
  return m.type === 'audio' && m.port !== 0 && /^RTP\/AVPF?$/.test(m.protocol);
}

function ipVer(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function session(local: LocalMedia, media: MediaDescription[]): string {
  const id = local.sessionId ?? Math.floor(Date.now() / 1000);
  const desc: SessionDescription = {
    version: 0,
    origin: {
      username: '-',
      sessionId: id,
      sessionVersion: local.sessionVersion ?? id,
      netType: 'IN',
      ipVer: ipVer(local.address),
      address: local.address,
    },
    name: '-',
    connection: { version: ipVer(local.address), ip: local.address },
    timing: { start: 0, stop: 0 },
    media,
  };
  return write(desc);
}

function audioMedia(
  local: LocalMedia,
  codec: CodecName,
  pt: number,
  dtmf: number | null,
  direction: Direction,
  rtcpMux: boolean,
): MediaDescription {
  const spec = CODECS[codec];
  const rtp: MediaDescription['rtp'] = [
    { payload: pt, codec, rate: spec.clockRate, ...(spec.channels > 1 ? { encoding: spec.channels } : {}) },
  ];
  const fmtp: MediaDescription['fmtp'] = [];
  if (dtmf !== null) {
    rtp.push({ payload: dtmf, codec: 'telephone-event', rate: spec.clockRate });
    fmtp.push({ payload: dtmf, config: '0-16' });
  }
  return {
    type: 'audio',
    port: local.port,
    protocol: 'RTP/AVP',
    payloads: [pt, ...(dtmf === null ? [] : [dtmf])].join(' '),
    rtp,
    fmtp,
    ptime: PTIME_MS,
    direction,
    ...(rtcpMux ? { rtcpMux: 'rtcp-mux' } : {}),
  };
}

function negotiate(
  s: SessionDescription,
  m: MediaDescription,
  codec: CodecName,
  pt: number,
  dtmf: number | null,
  ourMux: boolean,
): NegotiatedMedia | null {
  const address = m.connection?.ip ?? s.connection?.ip;
  if (address === undefined) return null;
  const remoteDirection = directionOf(m, s);
  const spec = CODECS[codec];
  return {
    codec,
    payloadType: pt,
    clockRate: spec.clockRate,
    channels: spec.channels,
    dtmfPayloadType: dtmf,
    remoteAddress: address,
    remotePort: m.port,
    rtcpMux: ourMux && m.rtcpMux !== undefined,
    remoteDirection,
    // RFC 3264 §8.4 (and RFC 2543 practice): c=0.0.0.0 also means hold.
    localDirection: address === '0.0.0.0' ? 'inactive' : MIRROR[remoteDirection],
  };
}

/** The first audio stream with one of `codecs` (preference order) and a connection address. */
function findStream(offer: SessionDescription, codecs: readonly CodecName[]): { index: number; media: NegotiatedMedia } | null {
  for (const [index, m] of offer.media.entries()) {
    if (!isAudio(m)) continue;
    for (const codec of codecs) {
      const pt = findPayload(m, codec);
      if (pt === null) continue;
      const media = negotiate(offer, m, codec, pt, findTelephoneEvent(m, CODECS[codec].clockRate), true);
      if (media !== null) return { index, media };
      break;
    }
  }
  return null;
}

/**
 * Answers an RFC 3264 offer (§6): the first audio stream gets our preferred codec among those
 * offered, telephone-event at the offerer's payload type (when it has one), ptime 20, the mirrored
 * direction and rtcp-mux if offered (RFC 5761 §5.1.1); every other stream is refused with port 0.
 * Null when nothing is acceptable: the caller answers 488 (RFC 3261 §13.3.1.3).
 */
export function answerOffer(offerSdp: string, local: LocalMedia): { sdp: string; media: NegotiatedMedia } | null {
  const offer = safeParse(offerSdp);
  if (offer === null) return null;
  const chosen = findStream(offer, local.codecs ?? ['PCMU', 'PCMA', 'opus']);
  if (chosen === null) return null;
  const { index, media } = chosen;
  const answers = offer.media.map((m, i): MediaDescription => {
    if (i === index) return audioMedia(local, media.codec, media.payloadType, media.dtmfPayloadType, media.localDirection, media.rtcpMux);
    // RFC 3264 §6: a refused stream keeps its place with port 0 and one of the offered formats.
    return { type: m.type, port: 0, protocol: m.protocol, payloads: String(payloadsOf(m)[0] ?? 0), rtp: [], fmtp: [] };
  });
  return { sdp: session(local, answers), media };
}

/** Our offer (UAC, or a re-INVITE): every preferred codec, telephone-event 101, ptime 20, rtcp-mux. */
export function createOffer(local: LocalMedia & { direction?: Direction; dtmfPayloadType?: number }): string {
  const codecs = local.codecs ?? ['PCMU', 'PCMA', 'opus'];
  const dtmf = local.dtmfPayloadType ?? 101;
  const rates = new Set(codecs.map((c) => CODECS[c].clockRate));
  const media = audioMedia(local, codecs[0] ?? 'PCMU', CODECS[codecs[0] ?? 'PCMU'].payloadType, null, local.direction ?? 'sendrecv', true);
  media.rtp = [];
  const pts: number[] = [];
  for (const c of codecs) {
    const spec = CODECS[c];
    pts.push(spec.payloadType);
    media.rtp.push({
      payload: spec.payloadType,
      codec: c,
      rate: spec.clockRate,
      ...(spec.channels > 1 ? { encoding: spec.channels } : {}),
    });
  }
  // One telephone-event per clock rate (RFC 4733 §2.5.1.1: its rate matches the audio's).
  let pt = dtmf;
  for (const rate of rates) {
    pts.push(pt);
    media.rtp.push({ payload: pt, codec: 'telephone-event', rate });
    media.fmtp.push({ payload: pt, config: '0-16' });
    pt = pt === 127 ? 96 : pt + 1;
  }
  media.payloads = pts.join(' ');
  return session(local, [media]);
}

/**
 * Reads the answer to our offer: the first active audio stream, its first payload type that
 * carries a codec we offered. Null when the answer accepts nothing (the caller ends the call).
 */
export function parseAnswer(answerSdp: string, offered: readonly CodecName[] = ['PCMU', 'PCMA', 'opus']): NegotiatedMedia | null {
  const answer = safeParse(answerSdp);
  if (answer === null) return null;
  const m = answer.media.find(isAudio);
  if (m === undefined) return null;
  for (const pt of payloadsOf(m)) {
    for (const codec of offered) {
      if (findPayload({ ...m, payloads: String(pt) }, codec) !== null) {
        return negotiate(answer, m, codec, pt, findTelephoneEvent(m, CODECS[codec].clockRate), true);
      }
    }
  }
  return null;
}
