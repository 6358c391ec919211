import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { Edge, EdgeSink, OutboundFrame } from './Edge.js';
import type { RtpFraming } from './RtpFraming.js';

export interface UdpRemote {
  address: string;
  port: number;
}

/**
 * RTP over UDP for one call: its own socket on an ephemeral port. Sends to `remote` when given,
 * otherwise to the source of the first packet (symmetric RTP, RFC 4961); once latched, packets
 * from any other source are refused (they would let a stranger inject audio into the call).
 */
export class UdpEdge implements Edge {
  readonly kind = 'udp';
  readonly playback = 'clocked';
  readonly leadMs = 0;
  readonly #sock: dgram.Socket;
  readonly #rtp: RtpFraming;
  readonly #remote: UdpRemote | null;
  #latched: UdpRemote | null = null;
  #sink: EdgeSink | null = null;
  #closed = false;

  private constructor(sock: dgram.Socket, rtp: RtpFraming, remote: UdpRemote | null) {
    this.#sock = sock;
    this.#rtp = rtp;
    this.#remote = remote;
    sock.on('message', (buf, rinfo) => {
      const arrival = performance.now();
      const sink = this.#sink;
      if (sink === null) return;
      const l = this.#latched;
      if (l === null) this.#latched = { address: rinfo.address, port: rinfo.port };
      else if (l.port !== rinfo.port || l.address !== rinfo.address) return sink.drop('RTP_FOREIGN_SOURCE');
      this.#rtp.receive(buf, arrival, sink);
    });
    // A send error (ICMP port unreachable from a vanished edge) must not crash the process.
    sock.on('error', () => {});
  }

  /** Binds a socket on an ephemeral port of `bindHost`. */
  static open(bindHost: string, rtp: RtpFraming, remote: UdpRemote | null): Promise<UdpEdge> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: bindHost.includes(':') ? 'udp6' : 'udp4' });
      sock.once('error', reject);
      sock.bind(0, bindHost, () => {
        sock.off('error', reject);
        resolve(new UdpEdge(sock, rtp, remote));
      });
    });
  }

  get port(): number {
    return this.#sock.address().port;
  }

  /** Where packets go: the configured remote, else the latched source. */
  get peer(): UdpRemote | null {
    return this.#remote ?? this.#latched;
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
  }

  send(frame: OutboundFrame): boolean {
    const to = this.peer;
    if (to === null || this.#closed) return false;
    this.#sock.send(this.#rtp.packetize(frame), to.port, to.address);
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
