import { generateKeyPairSync, randomUUID, sign as edSign, type KeyObject } from 'node:crypto';
import { ulaw } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * Telnyx, as its docs describe it, calling the gateway: the TeXML voice webhook (form POST, signed
 * with Ed25519 over "timestamp|body", https://developers.telnyx.com/docs/development/api-fundamentals/webhooks),
 * the answer's `<Connect><Stream url bidirectionalMode="rtp" bidirectionalCodec="PCMU">`, then
 * the media stream (https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming):
 * `connected`, `start` (stream_id at the top level), 20 ms PCMU `media`, `dtmf`, `stop`. What the
 * app sends is played from a buffer in real time; `mark` is echoed once played; `clear` empties
 * the buffer and echoes the marks it dropped.
 */
export class TelnyxPeer extends StreamPeer {
  /** the account's signing key; its public half is what the gateway is configured with */
  static readonly keys = generateKeyPairSync('ed25519');
  /** base64 of the raw 32-byte public key, as the Telnyx portal shows it */
  static readonly publicKey = TelnyxPeer.keys.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  readonly callControlId = `v3:${randomUUID()}`;
  readonly streamId = randomUUID();
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  #seq = 0;
  #chunk = 0;

  constructor() {
    super(8000);
  }

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

  static override async call(o: { gateway: string; from: string; to: string }): Promise<TelnyxPeer> {
    const a = await TelnyxPeer.answer(o);
    if (a.status !== 200) throw new Error(`answer: ${a.status} ${a.body}`);
    const m = /<Stream url="([^"]+)" bidirectionalMode="rtp" bidirectionalCodec="PCMU"\/>/.exec(a.body);
    if (!m) throw new Error(`no bidirectional <Stream> in ${a.body}`);
    const peer = new TelnyxPeer();
    await peer.connect(m[1]!.replace(/&amp;/g, '&'), o);
    return peer;
  }

  async connect(url: string, o: { from: string; to: string }): Promise<void> {
    await this.open(url);
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

  /** 20 ms of 8 kHz PCM as a PCMU media message. */
  protected frame(pcm: Int16Array): void {
    this.media(ulaw.encode(pcm));
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

  override hangup(): void {
    this.send({
      event: 'stop',
      sequence_number: String(++this.#seq),
      stop: { call_control_id: this.callControlId },
      stream_id: this.streamId,
    });
    super.hangup();
  }

  protected confirm(name: string): void {
    this.send({ event: 'mark', stream_id: this.streamId, sequence_number: String(++this.#seq), mark: { name } });
  }

  protected onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    this.received.push({ msg: m, atMs: performance.now() });
    this.playTwilioStyle(m, (b) => ulaw.decode(b));
  }
}
