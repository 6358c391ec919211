import { l16 } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * FreeSWITCH with mod_audio_stream, as its README describes it (https://github.com/amigniter/mod_audio_stream):
 * `uuid_audio_stream <uuid> start <url> mono 8k <metadata>` connects, sends the metadata as a
 * text frame, then BINARY L16 frames (20 ms); the server's `{"type":"streamAudio","data":{…}}`
 * hands it audio to play (here: played from a buffer in real time). It has no marks, no flush
 * and no DTMF on the socket; hanging up closes the socket.
 */
export class FreeswitchPeer extends StreamPeer {
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  readonly #rate: 8000 | 16000;

  constructor(rate: 8000 | 16000) {
    super(rate);
    this.#rate = rate;
  }

  static override async call(o: { gateway: string; from: string; to: string; rate?: 8000 | 16000 }): Promise<FreeswitchPeer> {
    const peer = new FreeswitchPeer(o.rate ?? 8000);
    await peer.open(`${o.gateway.replace(/^http/, 'ws')}/v1/edges/freeswitch`);
    peer.send({ to: o.to, from: o.from, sampleRate: peer.#rate });
    return peer;
  }

  /** 20 ms of PCM as a binary L16 frame. */
  protected frame(pcm: Int16Array): void {
    this.send(l16.encode(pcm));
  }

  dtmf(): void {
    // mod_audio_stream carries no DTMF
  }

  protected confirm(): void {
    // mod_audio_stream has no marks: the gateway's clock confirms them
  }

  protected onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    this.received.push({ msg: m, atMs: performance.now() });
    const data = m['data'] as Record<string, unknown> | undefined;
    if (m['type'] === 'streamAudio' && data?.['audioDataType'] === 'raw' && data['sampleRate'] === this.#rate)
      this.player.push(l16.decode(Buffer.from(String(data['audioData']), 'base64')));
  }
}
