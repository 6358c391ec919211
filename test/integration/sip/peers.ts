import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { parseMessage } from '../../../gateway/src/sip/message.js';
import type { SipMessage } from '../../../gateway/src/sip/message.js';

/** A bare UDP SIP peer for probing the user agent with hand-written messages. */
export class RawPeer {
  readonly #socket: Socket;
  readonly #inbox: SipMessage[] = [];
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (buf) => {
      try {
        this.#inbox.push(parseMessage(buf));
      } catch {
        return;
      }
      for (const w of this.#waiters) w();
    });
  }

  /** A socket on `host` (any loopback address) that sends to the gateway on 127.0.0.1. */
  static async open(host = '127.0.0.1'): Promise<RawPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, host, resolve));
    return new RawPeer(s);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  get host(): string {
    return this.#socket.address().address;
  }

  /** Everything received so far. */
  get received(): readonly SipMessage[] {
    return this.#inbox;
  }

  send(text: string, port: number): void {
    this.#socket.send(Buffer.from(text.replace(/\r?\n/g, '\r\n')), port, '127.0.0.1');
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
    this.#socket.close();
  }
}
