import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { l16, Player } from './Player.js';

/**
 * Exotel's Voicebot applet, as its docs describe it (https://developer.exotel.com/docs/agentstream/stream-voicebot-applet,
 * …/websocket-protocol), calling the gateway: the applet's dynamic URL is fetched (GET with the
 * call's parameters) and answers `{"url": "wss://…"}`; then the stream: `connected`, `start`
 * (custom_parameters = the URL's query), 16-bit LE PCM `media` at 8 kHz in ~100 ms chunks,
 * `dtmf`, `stop`. The app's `media` is played from a buffer in real time, `mark` echoed once
 * played, `clear` empties the buffer (and, like Twilio, echoes the marks it dropped).
 */
export class ExotelPeer {
  readonly player = new Player(8000);
  readonly callSid = randomBytes(16).toString('hex');
  readonly streamSid = randomBytes(16).toString('hex');
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  readonly echoes: { name: string; atMs: number }[] = [];
  closed = false;
  closeCode = 0;
  /** ms of audio per media message (Exotel sends ~100 ms) */
  chunkMs = 100;
  #ws: WebSocket | null = null;
  #seq = 0;
  #chunk = 0;

  static async call(o: { gateway: string; from: string; to: string }): Promise<ExotelPeer> {
    const peer = new ExotelPeer();
    const q = new URLSearchParams({ CallSid: peer.callSid, CallFrom: o.from, CallTo: o.to, Direction: 'incoming' });
    const res = await fetch(`${o.gateway}/v1/edges/exotel/answer?${q.toString()}`);
    const body = (await res.json()) as { url?: string };
    if (res.status !== 200 || typeof body.url !== 'string') throw new Error(`answer: ${res.status} ${JSON.stringify(body)}`);
    await peer.connect(body.url, o);
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
    this.send({ event: 'connected' });
    this.send({
      event: 'start',
      sequence_number: String(++this.#seq),
      stream_sid: this.streamSid,
      start: {
        stream_sid: this.streamSid,
        call_sid: this.callSid,
        account_sid: 'exotel-account',
        from: o.from,
        to: o.to,
        custom_parameters: Object.fromEntries(new URL(url).searchParams),
        media_format: { encoding: 'audio/x-raw', sample_rate: '8000', bit_rate: '16' },
      },
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
      stream_sid: this.streamSid,
      media: { chunk: String(chunk), timestamp: String((chunk - 1) * this.chunkMs), payload: Buffer.from(bytes).toString('base64') },
    });
  }

  /** Streams 8 kHz PCM in `chunkMs` chunks, in real time. */
  async stream(pcm: Int16Array): Promise<void> {
    const per = (8000 * this.chunkMs) / 1000;
    const whole = pcm.subarray(0, pcm.length - (pcm.length % 160));
    let k = 0;
    const chunks: Int16Array[] = [];
    for (; k < whole.length; k += per) chunks.push(whole.subarray(k, k + per));
    const t0 = performance.now();
    for (let i = 0; i < chunks.length && !this.closed; i++) {
      const wait = t0 + i * this.chunkMs - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      this.media(l16.encode(chunks[i]!));
    }
  }

  dtmf(digit: string): void {
    this.send({ event: 'dtmf', sequence_number: String(++this.#seq), stream_sid: this.streamSid, dtmf: { digit, duration: '100' } });
  }

  hangup(): void {
    this.send({
      event: 'stop',
      sequence_number: String(++this.#seq),
      stream_sid: this.streamSid,
      stop: { call_sid: this.callSid, account_sid: 'exotel-account', reason: 'callended' },
    });
    this.#ws?.close();
  }

  #echo(name: string): void {
    this.echoes.push({ name, atMs: performance.now() });
    this.send({ event: 'mark', sequence_number: String(++this.#seq), stream_sid: this.streamSid, mark: { name } });
  }

  #onMessage(m: Record<string, unknown>): void {
    this.received.push({ msg: m, atMs: performance.now() });
    switch (m['event']) {
      case 'media':
        return this.player.push(l16.decode(Buffer.from(String((m['media'] as Record<string, unknown>)['payload']), 'base64')));
      case 'mark':
        return this.player.mark(String((m['mark'] as Record<string, unknown>)['name']));
      case 'clear':
        for (const name of this.player.clear()) this.#echo(name);
        return;
    }
  }
}
