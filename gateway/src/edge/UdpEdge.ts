import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Edge, EdgeSink, OutboundFrame } from './Edge.js';
import type { RtcpSession } from './RtcpSession.js';
import type { RtpFraming } from './RtpFraming.js';

export interface UdpRemote {
  address: string;
  port: number;
}

export interface UdpEdgeOptions {
  /** where RTP goes (from `remote` or the SDP); null: to the first packet's source (symmetric RTP) */
  remote: UdpRemote | null;
  /** with a remote: the far end is behind NAT, so its media may come from another address (re-latch, see below) */
  behindNat?: boolean;
  /** whether a remote at this address, named by someone else (the API's `remote`, a dial-out callee's SDP), gets nothing until media has come from it (an inside address the dial guard refuses) */
  confirm?: (address: string) => boolean;
  /** where our RTCP sender reports go (the RTP port with rtcp-mux, else the RTP port + 1); null: none */
  rtcp?: UdpRemote | null;
  /** what the edge reports as its kind ('udp', 'sip') */
  kind?: string;
}

/**
 * RTP over UDP for one call: its own socket on an ephemeral port.
 *
 * Who may send (a stranger's packet must never inject audio into a call):
 * - With a remote (the API's `remote`, an SDP's c=/m=), only packets from that address and port
 *   are accepted; others are dropped as RTP_FOREIGN_SOURCE.
 * - Without one, the first packet's source is latched (symmetric RTP, RFC 4961), then only it.
 * - Behind NAT (a trunk so configured), the SDP's address is not where media comes from: the first
 *   source is latched and answered (comedia), and re-latched only when the stream's own SSRC
 *   arrives from a new source (a NAT rebinding keeps the SSRC; a stranger does not know it).
 *
 * Whom we send to (our media must not be aimed at an inside host that never asked for it): a named
 * remote that `confirm` picks (an address DIAL_ALLOW does not open) gets nothing until a packet
 * has come from it, as SBCs latch symmetric RTP; an inside host that is not a live RTP peer of ours
 * stays silent. Public remotes are sent to from the start (a receive-only callee hears the agent).
 */
export class UdpEdge implements Edge {
  readonly kind: string;
  readonly playback = 'clocked';
  readonly leadMs = 0;
  readonly #sock: dgram.Socket;
  readonly #rtp: RtpFraming;
  readonly #behindNat: boolean;
  #remote: UdpRemote | null;
  #rtcpTo: UdpRemote | null;
  #latched: UdpRemote | null = null;
  readonly #confirm: (address: string) => boolean;
  /** the remote must send before it is sent to, and has not yet (decided when the remote is set) */
  #unconfirmed: boolean;
  #sink: EdgeSink | null = null;
  #held = false;
  #closed = false;

  /** Takes over a bound socket (see `bindRtpSocket`) for a call whose media is now known. */
  constructor(sock: dgram.Socket, rtp: RtpFraming, o: UdpEdgeOptions) {
    this.#sock = sock;
    this.#rtp = rtp;
    this.#remote = o.remote;
    this.#behindNat = o.behindNat === true;
    this.#confirm = o.confirm ?? (() => false);
    this.#unconfirmed = o.remote !== null && this.#confirm(o.remote.address);
    this.#rtcpTo = o.rtcp ?? null;
    this.kind = o.kind ?? 'udp';
    sock.on('message', (buf, rinfo) => {
      const arrival = performance.now();
      const sink = this.#sink;
      if (sink === null) return;
      if (!this.#accepts(rinfo.address, rinfo.port, buf)) return sink.drop('RTP_FOREIGN_SOURCE');
      this.#unconfirmed = false;
      this.#rtp.receive(buf, arrival, sink);
    });
    // A send error (ICMP port unreachable from a vanished edge) must not crash the process.
    sock.on('error', () => {});
  }

  /** Binds a socket on an ephemeral port of `bindHost` and serves the call's RTP on it. */
  static async open(bindHost: string, rtp: RtpFraming, opts: UdpEdgeOptions): Promise<UdpEdge> {
    return new UdpEdge(await bindRtpSocket(bindHost), rtp, opts);
  }

  #accepts(address: string, port: number, buf: Buffer): boolean {
    // Strict: the address the far end named, and nothing else.
    if (this.#remote !== null && !this.#behindNat) return this.#remote.address === address && this.#remote.port === port;
    const l = this.#latched;
    if (l === null) {
      this.#latched = { address, port };
      return true;
    }
    if (l.address === address && l.port === port) return true;
    if (!this.#behindNat || buf.length < 12) return false;
    // RFC 3550 §5.1: bytes 8–11 are the SSRC (RTP and RTCP alike); the stream's own SSRC from a
    // new source is a NAT rebinding, which a stranger cannot fake without knowing it.
    if (this.#rtp.rtcp.remoteSsrc !== buf.readUInt32BE(8) >>> 0) return false;
    this.#latched = { address, port };
    return true;
  }

  get port(): number {
    return this.#sock.address().port;
  }

  /** Where packets go: behind NAT the latched source (comedia), else the remote, else the latched source. */
  get peer(): UdpRemote | null {
    if (this.#unconfirmed) return null;
    return this.#behindNat ? (this.#latched ?? this.#remote) : (this.#remote ?? this.#latched);
  }

  /** A new remote (a re-INVITE moved the media): packets go there, and only its packets are taken. */
  setRemote(remote: UdpRemote, rtcp: UdpRemote | null): void {
    if (this.#remote?.address !== remote.address || this.#remote.port !== remote.port) this.#unconfirmed = this.#confirm(remote.address);
    this.#remote = remote;
    this.#rtcpTo = rtcp;
  }

  /** On hold (RFC 3264 §8.4, sendonly/inactive from the far end): nothing is sent; the call goes on. */
  hold(held: boolean): void {
    this.#held = held;
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
    this.#rtp.attach(sink);
  }

  get rtcp(): RtcpSession {
    return this.#rtp.rtcp;
  }

  send(frame: OutboundFrame): boolean {
    const to = this.peer;
    if (to === null || this.#closed || this.#held) return false;
    this.#sock.send(this.#rtp.packetize(frame), to.port, to.address);
    const rtcp = this.#rtcpTo;
    if (rtcp !== null) {
      const sr = this.#rtp.senderReport(performance.now());
      if (sr !== null) this.#sock.send(sr, rtcp.port, rtcp.address);
    }
    return true;
  }

  // RTP plays what arrives when it arrives: nothing to confirm or flush at the far end.
  mark(): void {}
  clear(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink = null;
    this.#sock.close();
  }
}

/**
 * A UDP socket on an ephemeral port of `bindHost`, for a call's RTP: bound before the media is
 * negotiated, since the SDP must name its port.
 */
export function bindRtpSocket(bindHost: string): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: bindHost.includes(':') ? 'udp6' : 'udp4' });
    sock.once('error', reject);
    sock.bind(0, bindHost, () => {
      sock.off('error', reject);
      resolve(sock);
    });
  });
}
