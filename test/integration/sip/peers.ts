import { createSocket } from 'node:dgram';
import net from 'node:net';
import {
  createRequest,
  createResponse,
  parseMessage,
  parseNameAddr,
  serialize,
  SipHeaders,
  SipStreamFramer,
} from '../../../gateway/src/sip/message.js';
import type { SipMessage, SipRequest } from '../../../gateway/src/sip/message.js';
import { answerOffer } from '../../../gateway/src/sip/sdp.js';

/**
 * A bare SIP peer for probing the user agent with hand-written messages: a UDP socket, or a TCP
 * connection either way (where one `send` is one write, so several messages can share a segment).
 */
export class RawPeer {
  readonly port: number;
  readonly host: string;
  readonly #write: (data: Buffer, port: number) => void;
  readonly #close: () => void;
  readonly #inbox: SipMessage[] = [];
  #waiters: (() => void)[] = [];

  private constructor(local: { port: number; address: string }, write: (data: Buffer, port: number) => void, close: () => void) {
    this.port = local.port;
    this.host = local.address;
    this.#write = write;
    this.#close = close;
  }

  /** A UDP socket on `host` (any loopback address) that sends to the gateway on 127.0.0.1. */
  static async open(host = '127.0.0.1'): Promise<RawPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, host, resolve));
    const p = new RawPeer(
      s.address(),
      (data, port) => s.send(data, port, '127.0.0.1'),
      () => s.close(),
    );
    s.on('message', (buf) => p.#arrived(buf));
    return p;
  }

  /** A TCP connection to `port` on 127.0.0.1; `send` writes on it (the port it names is ignored). */
  static async connect(port: number): Promise<RawPeer> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
    const p = new RawPeer(
      { port: s.localPort!, address: s.localAddress! },
      (data) => s.write(data),
      () => s.destroy(),
    );
    p.#read(s);
    return p;
  }

  /** A TCP listener on 127.0.0.1; `send` writes on the last connection it took (the port it names is ignored). */
  static async listenTcp(): Promise<RawPeer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    let conn: net.Socket | undefined;
    const p = new RawPeer(
      server.address() as net.AddressInfo,
      (data) => conn?.write(data),
      () => {
        conn?.destroy();
        server.close();
      },
    );
    server.on('connection', (s) => {
      conn = s;
      p.#read(s);
    });
    return p;
  }

  /** Messages from a TCP stream, framed by Content-Length. */
  #read(s: net.Socket): void {
    const framer = new SipStreamFramer();
    s.on('data', (chunk: Buffer) => {
      let messages: Buffer[];
      try {
        messages = framer.push(chunk).messages;
      } catch {
        return void s.destroy(); // a stream that cannot be framed: what next() waits for never comes
      }
      for (const m of messages) this.#arrived(m);
    });
    s.on('error', () => undefined);
  }

  #arrived(buf: Buffer): void {
    try {
      this.#inbox.push(parseMessage(buf));
    } catch {
      return;
    }
    for (const w of this.#waiters) w();
  }

  /** Everything received so far. */
  get received(): readonly SipMessage[] {
    return this.#inbox;
  }

  send(text: string, port: number): void {
    this.#write(Buffer.from(text.replace(/\r?\n/g, '\r\n')), port);
  }

  /** The first received message matching `pred` (already received or arriving within `ms`). */
  async next(pred: (m: SipMessage) => boolean, ms = 5000): Promise<SipMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.#inbox.find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('RawPeer: nothing matching arrived');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.#waiters = [];
    }
  }

  close(): void {
    this.#close();
  }
}

/**
 * A callee's 200 for `invite` (its TCP listener on `port`) and its BYE right after, as one text:
 * sent as one write, a callee that hangs up the moment it answers.
 */
export function answerThenBye(invite: SipRequest, port: number): string {
  const ok = createResponse(invite, 200, undefined, 'callee1');
  ok.headers.set('contact', `<sip:callee@127.0.0.1:${port};transport=tcp>`).set('content-type', 'application/sdp');
  ok.body = Buffer.from(answerOffer(invite.body.toString(), { address: '127.0.0.1', port: 40000 })!.sdp);
  const h = new SipHeaders();
  h.set('via', `SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bKbye${Date.now()}`).set('max-forwards', '70');
  h.set('from', ok.headers.get('to')!).set('to', invite.headers.get('from')!).set('call-id', invite.headers.get('call-id')!);
  h.set('cseq', '1 BYE');
  const bye = createRequest('BYE', parseNameAddr(invite.headers.get('contact')!).uri, h);
  return Buffer.concat([serialize(ok), serialize(bye)]).toString('latin1');
}
