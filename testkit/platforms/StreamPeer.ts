import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { paced, Player } from './Player.js';

/**
 * What the WebSocket media-stream platforms' far ends have in common, whatever their messages
 * look like: one socket to the gateway, a Player that plays what the app sends, the marks it
 * confirmed (and when), and the socket's close. Each platform's peer names its own messages:
 * how it confirms a mark (`confirm`), what it makes of what arrives (`onMessage`) and how it
 * carries its 20 ms of caller audio (`frame`).
 */
export abstract class StreamPeer {
  readonly player: Player;
  /** the marks this peer confirmed as played, with when */
  readonly echoes: { name: string; atMs: number }[] = [];
  closed = false;
  closeCode = 0;
  protected ws: WebSocket | null = null;

  constructor(rate: number) {
    this.player = new Player(rate);
  }

  /** Opens the socket (with `protocol`, if the platform names one); resolves once it is open. */
  protected async open(url: string, protocol?: string): Promise<void> {
    const ws = new WebSocket(url, protocol);
    this.ws = ws;
    ws.on('message', (d: Buffer, isBinary) => {
      this.onMessage(d, isBinary);
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.player.stop();
    });
    this.player.onMark = (name) => {
      this.echo(name);
    };
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  /** Sends bytes as a binary message, a string as it is, anything else as JSON text (once open). */
  send(msg: Record<string, unknown> | Uint8Array | string): void {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    if (msg instanceof Uint8Array) this.ws.send(msg, { binary: true });
    else this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** Streams PCM at the player's rate as the platform's 20 ms media, in real time. */
  stream(pcm: Int16Array): Promise<void> {
    return paced(
      pcm,
      this.player.rate,
      (c) => this.frame(c),
      () => !this.closed,
    );
  }

  /** The call ends from this side: the socket closes. */
  hangup(): void {
    this.ws?.close();
  }

  /** Records that mark `name` has played, and tells the gateway the platform's way. */
  protected echo(name: string): void {
    this.echoes.push({ name, atMs: performance.now() });
    this.confirm(name);
  }

  /** The platform's confirmation that mark `name` has played. */
  protected abstract confirm(name: string): void;

  /** One message from the gateway. */
  protected abstract onMessage(d: Buffer, isBinary: boolean): void;

  /** One 20 ms chunk of caller audio, as the platform carries it. */
  protected abstract frame(pcm: Int16Array): void;

  /**
   * The app's messages as Twilio defined them and Telnyx and Exotel took them up: `media` with a
   * base64 `payload` to play, `mark` to confirm once played, `clear` to empty the buffer (the
   * marks it drops are confirmed at once).
   */
  protected playTwilioStyle(m: Record<string, unknown>, decode: (bytes: Uint8Array) => Int16Array): void {
    switch (m['event']) {
      case 'media':
        return this.player.push(decode(Buffer.from(String((m['media'] as Record<string, unknown>)['payload']), 'base64')));
      case 'mark':
        return this.player.mark(String((m['mark'] as Record<string, unknown>)['name']));
      case 'clear':
        for (const name of this.player.clear()) this.echo(name);
        return;
    }
  }
}
