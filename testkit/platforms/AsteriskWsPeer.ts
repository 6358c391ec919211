import { randomUUID } from 'node:crypto';
import { ulaw } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * Asterisk chan_websocket, as its docs describe it (https://docs.asterisk.org/Configuration/Channel-Drivers/WebSocket/),
 * connecting out to the gateway (websocket_client.conf `uri`, subprotocol "media"): a text
 * MEDIA_START (JSON with `f(json)`, else plain text), BINARY µ-law 160-byte frames every 20 ms,
 * DTMF_END. Media it is sent is queued and played in real time; MARK_MEDIA is answered
 * MEDIA_MARK_PROCESSED when it reaches the head of the queue (its audio has played);
 * FLUSH_MEDIA drops the queue; HANGUP hangs the channel up (the socket closes).
 */
export class AsteriskWsPeer extends StreamPeer {
  readonly channelId = randomUUID();
  readonly received: { text: string | null; bytes: number; atMs: number }[] = [];
  hungUp = false;
  readonly #json: boolean;

  constructor(json: boolean) {
    super(8000);
    this.#json = json;
  }

  static override async call(o: { gateway: string; from: string; to: string; json?: boolean; token?: string }): Promise<AsteriskWsPeer> {
    const peer = new AsteriskWsPeer(o.json ?? true);
    const q = new URLSearchParams({ to: o.to, from: o.from, ...(o.token !== undefined && { token: o.token }) });
    await peer.connect(`${o.gateway.replace(/^http/, 'ws')}/v1/edges/asterisk?${q.toString()}`);
    return peer;
  }

  async connect(url: string): Promise<void> {
    await this.open(url, 'media');
    const start = {
      connection_id: randomUUID(),
      channel: `WebSocket/gateway/0x${Date.now().toString(16)}`,
      channel_id: this.channelId,
      format: 'ulaw',
      optimal_frame_size: 160,
      ptime: 20,
    };
    this.send(
      this.#json
        ? JSON.stringify({ event: 'MEDIA_START', ...start, channel_variables: {} })
        : `MEDIA_START ${Object.entries(start)
            .map(([k, v]) => `${k}:${String(v)}`)
            .join(' ')}`,
    );
  }

  /** 20 ms of 8 kHz PCM as a 160-byte µ-law binary frame. */
  protected frame(pcm: Int16Array): void {
    this.send(ulaw.encode(pcm));
  }

  dtmf(digit: string): void {
    this.send(this.#json ? JSON.stringify({ event: 'DTMF_END', channel_id: this.channelId, digit }) : `DTMF_END digit:${digit}`);
  }

  /** A mark has reached the head of the queue: MEDIA_MARK_PROCESSED. */
  protected confirm(name: string): void {
    this.send(
      this.#json
        ? JSON.stringify({ event: 'MEDIA_MARK_PROCESSED', channel_id: this.channelId, correlation_id: name })
        : `MEDIA_MARK_PROCESSED ${name}`,
    );
  }

  protected onMessage(d: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.received.push({ text: null, bytes: d.length, atMs: performance.now() });
      return this.player.push(ulaw.decode(d));
    }
    const text = d.toString();
    this.received.push({ text, bytes: d.length, atMs: performance.now() });
    const cmd = text.startsWith('{')
      ? (JSON.parse(text) as Record<string, unknown>)
      : { command: text.split(' ')[0], correlation_id: text.split(' ')[1] };
    switch (cmd['command']) {
      case 'MARK_MEDIA':
        return this.player.mark(String(cmd['correlation_id']));
      case 'FLUSH_MEDIA':
        this.player.clear();
        return;
      case 'HANGUP':
        this.hungUp = true;
        this.ws?.close();
        return;
    }
  }
}
