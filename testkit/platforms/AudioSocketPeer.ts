import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { l16, paced, Player } from './Player.js';

/**
 * Asterisk's AudioSocket, as its docs describe it (https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/):
 * a TCP connection carrying `type (1 B) | length (2 B, big-endian) | payload` frames: the call's
 * UUID first (0x01, 16 bytes), then slin 8 kHz audio (0x10, 320 B per 20 ms) in real time, DTMF
 * (0x03, one ASCII digit), hang-up (0x00). Audio it receives is played as it arrives (Asterisk
 * keeps no queue to flush); a hang-up frame from the far end ends the call.
 */
export class AudioSocketPeer {
  readonly player = new Player(8000);
  readonly uuid = randomUUID();
  readonly echoes: { name: string; atMs: number }[] = [];
  readonly frames: { type: number; length: number; atMs: number }[] = [];
  closed = false;
  hungUp = false;
  readonly #sock: net.Socket;
  #buf: Buffer = Buffer.alloc(0);

  private constructor(sock: net.Socket) {
    this.#sock = sock;
    sock.on('data', (d: Buffer) => {
      this.#onData(d);
    });
    sock.on('close', () => {
      this.closed = true;
      this.player.stop();
    });
    sock.on('error', () => {});
  }

  static async call(o: { port: number; host?: string }): Promise<AudioSocketPeer> {
    const sock = net.connect(o.port, o.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', () => resolve());
      sock.once('error', reject);
    });
    const peer = new AudioSocketPeer(sock);
    peer.frame(0x01, Buffer.from(peer.uuid.replace(/-/g, ''), 'hex'));
    return peer;
  }

  frame(type: number, payload: Uint8Array = new Uint8Array(0)): void {
    if (this.closed) return;
    const head = Buffer.from([type, payload.length >> 8, payload.length & 0xff]);
    this.#sock.write(Buffer.concat([head, payload]));
  }

  write(bytes: Uint8Array): void {
    if (!this.closed) this.#sock.write(bytes);
  }

  stream(pcm: Int16Array): Promise<void> {
    return paced(
      pcm,
      8000,
      (c) => this.frame(0x10, l16.encode(c)),
      () => !this.closed,
    );
  }

  dtmf(digit: string): void {
    this.frame(0x03, Buffer.from(digit, 'ascii'));
  }

  hangup(): void {
    this.frame(0x00);
    this.#sock.end();
  }

  #onData(d: Buffer): void {
    this.#buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 3) {
      const type = this.#buf[0]!;
      const len = this.#buf.readUInt16BE(1);
      if (this.#buf.length < 3 + len) break;
      const payload = this.#buf.subarray(3, 3 + len);
      this.#buf = this.#buf.subarray(3 + len);
      this.frames.push({ type, length: len, atMs: performance.now() });
      if (type === 0x10) this.player.push(l16.decode(payload));
      else if (type === 0x00) {
        this.hungUp = true;
        this.#sock.end();
      }
    }
  }
}
