import { createSocket } from 'node:dgram';
import type { Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer as netServer, isIP, isIPv6 } from 'node:net';
import type { Server, Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsServer } from 'node:tls';
import { SipError } from './errors.js';
import type { SipErrorCode } from './errors.js';
import { MAX_MESSAGE_BYTES, formatVia, parseMessage, serialize, SipStreamFramer, topVia } from './message.js';
import type { SipMessage, SipResponse } from './message.js';
import { socketHost } from './uri.js';

export type SipProtocol = 'udp' | 'tcp' | 'tls';

export interface ListenOptions {
  protocol: SipProtocol;
  /** Bind address, e.g. '0.0.0.0' or '127.0.0.1'. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** PEM files, required for 'tls'. */
  tls?: { certPath: string; keyPath: string };
}

/** Where a message came from or goes to. `connectionId` names the TCP/TLS connection it used. */
export interface Remote {
  protocol: SipProtocol;
  address: string;
  port: number;
  connectionId?: number;
}

export interface TransportOptions {
  listen: readonly ListenOptions[];
  onMessage: (msg: SipMessage, remote: Remote) => void;
  /** Counted, never thrown: one call per dropped datagram, message, or refused connection. */
  onDrop?: (reason: SipErrorCode, remote: Remote | undefined) => void;
  /** Open TCP/TLS connections at most (default 1000); more are refused. */
  maxConnections?: number;
  /** A connection silent this long is closed, in ms (default 300 000; RFC 5626 keep-alives reset it). */
  idleTimeoutMs?: number;
  /** Verify the peer's certificate on outbound TLS (default true). */
  tlsVerify?: boolean;
}

interface Bound {
  protocol: SipProtocol;
  host: string;
  port: number;
}

/**
 * UDP, TCP and TLS listeners (RFC 3261 §18). Bad input is reported through `onDrop` and never
 * throws; a bad stream closes only its own connection.
 */
export class SipTransport {
  readonly #opts: TransportOptions;
  readonly #udp: { socket: UdpSocket; bound: Bound }[] = [];
  readonly #servers: { server: Server; bound: Bound }[] = [];
  readonly #conns = new Map<number, { socket: Socket; key: string }>();
  /** `protocol address port` → connection id, for reuse in both directions (RFC 3261 §18.2.2). */
  readonly #byPeer = new Map<string, number>();
  #nextId = 1;
  #closed = false;

  constructor(opts: TransportOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    for (const l of this.#opts.listen) {
      if (l.protocol === 'udp') await this.#listenUdp(l);
      else await this.#listenStream(l);
    }
  }

  /** What each listener is bound to (the real port when 0 was asked). */
  get addresses(): Bound[] {
    return [...this.#udp.map((u) => u.bound), ...this.#servers.map((s) => s.bound)];
  }

  #drop(reason: SipErrorCode, remote: Remote | undefined): void {
    this.#opts.onDrop?.(reason, remote);
  }

  #deliver(buf: Buffer, remote: Remote): void {
    let msg: SipMessage;
    try {
      msg = parseMessage(buf, { stream: remote.protocol !== 'udp' });
    } catch (err) {
      this.#drop(err instanceof SipError ? err.code : 'SIP_MALFORMED', remote);
      return;
    }
    if (msg.type === 'request') stampVia(msg, remote);
    try {
      this.#opts.onMessage(msg, remote);
    } catch {
      // The core must not throw, but one bad handler must not take the socket down with it.
      this.#drop('SIP_MALFORMED', remote);
    }
  }

  async #listenUdp(l: ListenOptions): Promise<void> {
    const socket = createSocket({ type: isIPv6(l.host) ? 'udp6' : 'udp4' });
    socket.on('message', (buf, rinfo) => {
      this.#deliver(buf, { protocol: 'udp', address: rinfo.address, port: rinfo.port });
    });
    socket.on('error', () => this.#drop('SIP_TRANSPORT', undefined));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(l.port, l.host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    this.#udp.push({ socket, bound: { protocol: 'udp', host: l.host, port: socket.address().port } });
  }

  async #listenStream(l: ListenOptions): Promise<void> {
    const onConn = (socket: Socket): void => {
      this.#adopt(socket, l.protocol);
    };
    let server: Server;
    if (l.protocol === 'tls') {
      if (l.tls === undefined) throw new SipError('SIP_TRANSPORT', 'TLS listener without cert/key');
      server = tlsServer({ cert: readFileSync(l.tls.certPath), key: readFileSync(l.tls.keyPath) }, onConn);
      server.on('tlsClientError', () => this.#drop('SIP_TRANSPORT', undefined));
    } else server = netServer(onConn);
    server.on('error', () => this.#drop('SIP_TRANSPORT', undefined));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(l.port, l.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.#servers.push({
      server,
      bound: { protocol: l.protocol, host: l.host, port: typeof addr === 'object' && addr !== null ? addr.port : l.port },
    });
  }

  /** Takes ownership of a connected socket: framing, limits, idle timeout, registry. */
  #adopt(socket: Socket, protocol: SipProtocol, peer?: { address: string; port: number }): number {
    const id = this.#nextId++;
    // An outbound socket has no remoteAddress until connected: it is registered by destination.
    const address = peer?.address ?? socket.remoteAddress ?? '';
    const port = peer?.port ?? socket.remotePort ?? 0;
    if (this.#closed || this.#conns.size >= (this.#opts.maxConnections ?? 1000)) {
      this.#drop('SIP_TRANSPORT', { protocol, address, port });
      socket.destroy();
      return id;
    }
    const key = `${protocol} ${address} ${port}`;
    this.#conns.set(id, { socket, key });
    this.#byPeer.set(key, id);
    const framer = new SipStreamFramer(MAX_MESSAGE_BYTES);
    const remote: Remote = { protocol, address, port, connectionId: id };
    socket.setTimeout(this.#opts.idleTimeoutMs ?? 300_000, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      let framed: { messages: Buffer[]; pings: number };
      try {
        framed = framer.push(chunk);
      } catch (err) {
        this.#drop(err instanceof SipError ? err.code : 'SIP_MALFORMED', remote);
        socket.destroy();
        return;
      }
      // RFC 5626 §3.5.1: answer a CRLFCRLF ping with a CRLF pong.
      if (framed.pings > 0) socket.write('\r\n');
      for (const m of framed.messages) this.#deliver(m, remote);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.#conns.delete(id);
      if (this.#byPeer.get(key) === id) this.#byPeer.delete(key);
    });
    return id;
  }

  /** Sent-by port of our listener for `protocol` (for Via and Contact). */
  portFor(protocol: SipProtocol): number | undefined {
    return this.addresses.find((a) => a.protocol === protocol)?.port;
  }

  /** Sends a request (or an ACK/2xx retransmission) to `dest`, reusing an open connection. */
  send(msg: SipMessage, dest: Remote): void {
    if (this.#closed) return;
    const buf = serialize(msg);
    if (dest.protocol === 'udp') {
      const want = isIPv6(socketHost(dest.address)) ? ':' : '.';
      const u = this.#udp.find((x) => x.bound.host.includes(want) || x.bound.host === '') ?? this.#udp[0];
      if (u === undefined) return this.#drop('SIP_TRANSPORT', dest);
      u.socket.send(buf, dest.port, socketHost(dest.address), (err) => {
        if (err !== null) this.#drop('SIP_TRANSPORT', dest);
      });
      return;
    }
    const id =
      (dest.connectionId !== undefined && this.#conns.has(dest.connectionId) ? dest.connectionId : undefined) ??
      this.#byPeer.get(`${dest.protocol} ${socketHost(dest.address)} ${dest.port}`);
    const open = id === undefined ? undefined : this.#conns.get(id);
    if (open !== undefined) {
      open.socket.write(buf);
      return;
    }
    const opts = { host: socketHost(dest.address), port: dest.port };
    const socket =
      dest.protocol === 'tls'
        ? // SNI carries host names only (RFC 6066 §3), never an address literal.
          tlsConnect({
            ...opts,
            ...(isIP(opts.host) === 0 ? { servername: opts.host } : {}),
            rejectUnauthorized: this.#opts.tlsVerify ?? true,
          })
        : netConnect(opts);
    socket.on('error', () => this.#drop('SIP_TRANSPORT', dest));
    // Registered at once under the destination's key so a burst of sends shares one connection.
    this.#adopt(socket, dest.protocol, { address: opts.host, port: opts.port });
    socket.write(buf);
  }

  /**
   * Sends a response along RFC 3261 §18.2.2 / RFC 3581 §4: over the request's connection when
   * still open; else to `received` (or the sent-by host) at `rport` (or the sent-by port, default
   * 5060 / 5061 for TLS).
   */
  respond(res: SipResponse, requestRemote: Remote): void {
    if (requestRemote.protocol !== 'udp' && requestRemote.connectionId !== undefined && this.#conns.has(requestRemote.connectionId)) {
      return this.send(res, requestRemote);
    }
    let via;
    try {
      via = topVia(res);
    } catch {
      return this.#drop('SIP_MALFORMED', requestRemote);
    }
    const rport = via.params.get('rport');
    const address = via.params.get('received') ?? via.host;
    const port =
      rport !== undefined && rport !== null && rport !== ''
        ? Number(rport)
        : (via.port ?? (requestRemote.protocol === 'tls' ? 5061 : 5060));
    this.send(res, { protocol: requestRemote.protocol, address, port });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const { socket } of this.#conns.values()) socket.destroy();
    this.#conns.clear();
    this.#byPeer.clear();
    await Promise.all([
      ...this.#udp.map((u) => new Promise<void>((resolve) => u.socket.close(() => resolve()))),
      ...this.#servers.map((s) => new Promise<void>((resolve) => s.server.close(() => resolve()))),
    ]);
  }
}

/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: note on the top Via where the request really came from, so
 * the response finds its way back through NAT.
 */
function stampVia(msg: SipMessage, remote: Remote): void {
  const vias = msg.headers.getAll('via');
  const first = vias[0];
  if (first === undefined) return;
  const via = topVia(msg);
  if (socketHost(via.host) !== remote.address) via.params.set('received', remote.address);
  if (via.params.has('rport')) {
    via.params.set('rport', String(remote.port));
    via.params.set('received', remote.address);
  }
  msg.headers.set('via', [formatVia(via), ...vias.slice(1)]);
}
