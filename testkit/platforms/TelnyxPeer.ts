import { generateKeyPairSync, randomUUID, sign as edSign, type KeyObject } from 'node:crypto';
import WebSocket from 'ws';
import { paced, Player, ulaw } from './Player.js';

/**
 * Telnyx, as its docs describe it, calling the gateway: the TeXML voice webhook (form POST, signed
 * with Ed25519 over "timestamp|body", https://developers.telnyx.com/docs/development/api-fundamentals/webhooks),
 * the answer's `<Connect><Stream url bidirectionalMode="rtp" bidirectionalCodec="PCMU">`, then
 * the media stream (https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming):
 * `connected`, `start` (stream_id at the top level), 20 ms PCMU `media`, `dtmf`, `stop`. What the
 * app sends is played from a buffer in real time; `mark` is echoed once played; `clear` empties
 * the buffer and echoes the marks it dropped.
 */
export class TelnyxPeer {
  /** the account's signing key; its public half is what the gateway is configured with */
  static readonly keys = generateKeyPairSync('ed25519');
  /** base64 of the raw 32-byte public key, as the Telnyx portal shows it */
  static readonly publicKey = TelnyxPeer.keys.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  readonly player = new Player(8000);
  readonly callControlId = `v3:${randomUUID()}`;
  readonly streamId = randomUUID();
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  readonly echoes: { name: string; atMs: number }[] = [];
  closed = false;
  closeCode = 0;
  #ws: WebSocket | null = null;
  #seq = 0;
  #chunk = 0;

  static async answer(o: { gateway: string; from: string; to: string; key?: KeyObject | null; timestamp?: number }) {
    const body = new URLSearchParams({
      AccountSid: randomUUID(),
      CallSid: `v3:${randomUUID()}`,
      CallStatus: 'ringing',
      Direction: 'inbound',
      From: o.from,
      To: o.to,
    }).toString();
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const key = o.key === undefined ? TelnyxPeer.keys.privateKey : o.key;
    if (key !== null) {
      const ts = String(o.timestamp ?? Math.floor(Date.now() / 1000));
      headers['telnyx-timestamp'] = ts;
      headers['telnyx-signature-ed25519'] = edSign(null, Buffer.from(`${ts}|${body}`), key).toString('base64');
    }
    const res = await fetch(`${o.gateway}/v1/edges/telnyx/answer`, { method: 'POST', headers, body });
    return { status: res.status, body: await res.text() };
  }

  static async call(o: { gateway: string; from: string; to: string }): Promise<TelnyxPeer> {
    const a = await TelnyxPeer.answer(o);
    if (a.status !== 200) throw new Error(`answer: ${a.status} ${a.body}`);
    const m = /<Stream url="([^"]+)" bidirectionalMode="rtp" bidirectionalCodec="PCMU"\/>/.exec(a.body);
    if (!m) throw new Error(`no bidirectional <Stream> in ${a.body}`);
    const peer = new TelnyxPeer();
    await peer.connect(m[1]!.replace(/&amp;/g, '&'), o);
    return peer;
  }

  async connect(url: string, o: { from: string; to: string }): Promise<void> {
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.on('message', (d: Buffer) => {
      this.#onMessage(JSON.parse(d.toString()) as Record<string, unknown>);
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
      this.player.stop();
    });
    this.player.onMark = (name) => this.#echo(name);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    this.send({ event: 'connected', version: '1.0.0' });
    this.send({
      event: 'start',
      sequence_number: String(++this.#seq),
      start: {
        user_id: randomUUID(),
        call_control_id: this.callControlId,
        call_session_id: randomUUID(),
        from: o.from,
        to: o.to,
        tags: [],
        client_state: '',
        media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
      },
      stream_id: this.streamId,
    });
  }

  send(msg: Record<string, unknown> | string): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  media(bytes: Uint8Array): void {
    const chunk = ++this.#chunk;
    this.send({
      event: 'media',
      sequence_number: String(++this.#seq),
      media: {
        track: 'inbound',
        chunk: String(chunk),
        timestamp: String((chunk - 1) * 20),
        payload: Buffer.from(bytes).toString('base64'),
      },
      stream_id: this.streamId,
    });
  }

  stream(pcm: Int16Array): Promise<void> {
    return paced(
      pcm,
      8000,
      (c) => this.media(ulaw.encode(c)),
      () => !this.closed,
    );
  }

  dtmf(digit: string): void {
    this.send({
      event: 'dtmf',
      stream_id: this.streamId,
      occurred_at: new Date().toISOString(),
      sequence_number: String(++this.#seq),
      dtmf: { digit },
    });
  }

  hangup(): void {
    this.send({
      event: 'stop',
      sequence_number: String(++this.#seq),
      stop: { call_control_id: this.callControlId },
      stream_id: this.streamId,
    });
    this.#ws?.close();
  }

  #echo(name: string): void {
    this.echoes.push({ name, atMs: performance.now() });
    this.send({ event: 'mark', stream_id: this.streamId, sequence_number: String(++this.#seq), mark: { name } });
  }

  #onMessage(m: Record<string, unknown>): void {
    this.received.push({ msg: m, atMs: performance.now() });
    switch (m['event']) {
      case 'media':
        return this.player.push(ulaw.decode(Buffer.from(String((m['media'] as Record<string, unknown>)['payload']), 'base64')));
      case 'mark':
        return this.player.mark(String((m['mark'] as Record<string, unknown>)['name']));
      case 'clear':
        for (const name of this.player.clear()) this.#echo(name);
        return;
    }
  }
}
