import WebSocket from 'ws';
import { l16, paced, Player } from './Player.js';

/**
 * FreeSWITCH with mod_audio_stream, as its README describes it (https://github.com/amigniter/mod_audio_stream):
 * `uuid_audio_stream <uuid> start <url> mono 8k <metadata>` connects, sends the metadata as a
 * text frame, then BINARY L16 frames (20 ms); the server's `{"type":"streamAudio","data":{…}}`
 * hands it audio to play (here: played from a buffer in real time). It has no marks, no flush
 * and no DTMF on the socket; hanging up closes the socket.
 */
export class FreeswitchPeer {
  readonly player: Player;
  readonly echoes: { name: string; atMs: number }[] = [];
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  closed = false;
  closeCode = 0;
  readonly #rate: 8000 | 16000;
  #ws: WebSocket | null = null;

  constructor(rate: 8000 | 16000) {
    this.#rate = rate;
    this.player = new Player(rate);
  }

  static async call(o: { gateway: string; from: string; to: string; rate?: 8000 | 16000 }): Promise<FreeswitchPeer> {
    const peer = new FreeswitchPeer(o.rate ?? 8000);
    const ws = new WebSocket(`${o.gateway.replace(/^http/, 'ws')}/v1/edges/freeswitch`);
    peer.#ws = ws;
    ws.on('message', (d: Buffer) => {
      const m = JSON.parse(d.toString()) as Record<string, unknown>;
      peer.received.push({ msg: m, atMs: performance.now() });
      const data = m['data'] as Record<string, unknown> | undefined;
      if (m['type'] === 'streamAudio' && data?.['audioDataType'] === 'raw' && data['sampleRate'] === peer.#rate)
        peer.player.push(l16.decode(Buffer.from(String(data['audioData']), 'base64')));
    });
    ws.on('close', (code) => {
      peer.closed = true;
      peer.closeCode = code;
      peer.player.stop();
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(JSON.stringify({ to: o.to, from: o.from, sampleRate: peer.#rate }));
    return peer;
  }

  stream(pcm: Int16Array): Promise<void> {
    return paced(
      pcm,
      this.#rate,
      (c) => this.#ws?.readyState === WebSocket.OPEN && this.#ws.send(l16.encode(c), { binary: true }),
      () => !this.closed,
    );
  }

  dtmf(): void {
    // mod_audio_stream carries no DTMF
  }

  hangup(): void {
    this.#ws?.close();
  }
}
