import { randomBytes } from 'node:crypto';
import { SendClock } from '../SendClock.js';
import { l16 } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * Exotel's Voicebot applet, as its docs describe it (https://developer.exotel.com/docs/agentstream/stream-voicebot-applet,
 * …/websocket-protocol), calling the gateway: the applet's dynamic URL is fetched (GET with the
 * call's parameters) and answers `{"url": "wss://…"}`; then the stream: `connected`, `start`
 * (custom_parameters = the URL's query), 16-bit LE PCM `media` at 8 kHz in ~100 ms chunks,
 * `dtmf`, `stop`. The app's `media` is played from a buffer in real time, `mark` echoed once
 * played, `clear` empties the buffer (and, like Twilio, echoes the marks it dropped).
 */
export class ExotelPeer extends StreamPeer {
  readonly callSid = randomBytes(16).toString('hex');
  readonly streamSid = randomBytes(16).toString('hex');
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  /** ms of audio per media message (Exotel sends ~100 ms) */
  chunkMs = 100;
  #seq = 0;
  #chunk = 0;

  constructor() {
    super(8000);
  }

  static override async call(o: { gateway: string; from: string; to: string }): Promise<ExotelPeer> {
    const peer = new ExotelPeer();
    const q = new URLSearchParams({ CallSid: peer.callSid, CallFrom: o.from, CallTo: o.to, Direction: 'incoming' });
    const res = await fetch(`${o.gateway}/v1/edges/exotel/answer?${q.toString()}`);
    const body = (await res.json()) as { url?: string };
    if (res.status !== 200 || typeof body.url !== 'string') throw new Error(`answer: ${res.status} ${JSON.stringify(body)}`);
    await peer.connect(body.url, o);
    return peer;
  }

  async connect(url: string, o: { from: string; to: string }): Promise<void> {
    await this.open(url);
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
  override async stream(pcm: Int16Array): Promise<void> {
    const per = (8000 * this.chunkMs) / 1000;
    const whole = pcm.subarray(0, pcm.length - (pcm.length % 160));
    let k = 0;
    const chunks: Int16Array[] = [];
    for (; k < whole.length; k += per) chunks.push(whole.subarray(k, k + per));
    const clock = new SendClock(this.chunkMs);
    for (let i = 0; i < chunks.length && !this.closed; i++) {
      await clock.due(i);
      this.frame(chunks[i]!);
    }
  }

  /** A chunk of 8 kHz PCM as one 16-bit LE media message. */
  protected frame(pcm: Int16Array): void {
    this.media(l16.encode(pcm));
  }

  dtmf(digit: string): void {
    this.send({ event: 'dtmf', sequence_number: String(++this.#seq), stream_sid: this.streamSid, dtmf: { digit, duration: '100' } });
  }

  override hangup(): void {
    this.send({
      event: 'stop',
      sequence_number: String(++this.#seq),
      stream_sid: this.streamSid,
      stop: { call_sid: this.callSid, account_sid: 'exotel-account', reason: 'callended' },
    });
    super.hangup();
  }

  protected confirm(name: string): void {
    this.send({ event: 'mark', sequence_number: String(++this.#seq), stream_sid: this.streamSid, mark: { name } });
  }

  protected onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    this.received.push({ msg: m, atMs: performance.now() });
    this.playTwilioStyle(m, (b) => l16.decode(b));
  }
}
