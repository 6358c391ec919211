import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import type { EdgeTransport } from './EdgeTransport.js';

export interface UdpRemote {
  address: string;
  port: number;
}

/**
 * RTP over UDP for one call: its own socket on an ephemeral port. Sends to `remote` when given,
 * otherwise to the source of the first packet (symmetric RTP, RFC 4961); once latched, packets
 * from any other source are refused (they would let a stranger inject audio into the call).
 */
export class UdpEdge implements EdgeTransport {
  readonly kind = 'udp';
  readonly #sock: dgram.Socket;
  #remote: UdpRemote | null;
  #latched: UdpRemote | null = null;
  #closed = false;
  onPacket: (buf: Buffer, arrivalMs: number) => void = () => {};
  onForeign: () => void = () => {};

  private constructor(sock: dgram.Socket, remote: UdpRemote | null) {
    this.#sock = sock;
    this.#remote = remote;
    sock.on('message', (buf, rinfo) => {
      const arrival = performance.now();
      const l = this.#latched;
      if (l === null) this.#latched = { address: rinfo.address, port: rinfo.port };
      else if (l.port !== rinfo.port || l.address !== rinfo.address) {
        this.onForeign();
        return;
      }
      this.onPacket(buf, arrival);
    });
    // A send error (ICMP port unreachable from a vanished edge) must not crash the process.
    sock.on('error', () => {});
  }

  static open(bindHost: string, remote: UdpRemote | null): Promise<UdpEdge> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: bindHost.includes(':') ? 'udp6' : 'udp4' });
      sock.once('error', reject);
      sock.bind(0, bindHost, () => {
        sock.off('error', reject);
        resolve(new UdpEdge(sock, remote));
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

  send(pkt: Uint8Array): boolean {
    const to = this.peer;
    if (to === null || this.#closed) return false;
    this.#sock.send(pkt, to.port, to.address);
    return true;
  }

  close(_reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }
}
