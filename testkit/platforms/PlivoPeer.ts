import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ulaw } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * Plivo (or its clone Vobiz), as their docs describe them, calling the gateway: the answer URL
 * POST signed with X-Plivo-Signature-V3 (https://docs.plivo.com/docs/voice/xml/request/validation,
 * the recipe of Plivo's SDKs), the XML answer's `<Stream bidirectional="true">` with its
 * `extraHeaders`, then the Audio Stream (https://plivo.com/docs/voice/audio-streaming/audio-streaming):
 * `start`, 20 ms µ-law `media`, `dtmf`; the app's `playAudio` is played from a buffer in real
 * time, a `checkpoint` is answered `playedStream` once its audio has played, `clearAudio` empties
 * the buffer (no acknowledgement for the checkpoints it dropped) and is answered `clearedAudio`.
 * Neither platform sends a stop: hanging up closes the socket. Vobiz differs as its "Stream Events
 * Overview" says: numbering from 0, `extra_headers` as a JSON object, `playedStream` without streamId.
 */
export class PlivoPeer extends StreamPeer {
  readonly callId = randomUUID();
  readonly streamId = randomUUID();
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  readonly #vobiz: boolean;
  #seq: number;
  #chunk = 0;

  constructor(vobiz: boolean) {
    super(8000);
    this.#vobiz = vobiz;
    this.#seq = vobiz ? -1 : 0;
  }

  static async answer(
    o: { gateway: string; vobiz: boolean; from: string; to: string; authToken?: string; signature?: string },
    callId: string,
  ) {
    const url = `${o.gateway}/v1/edges/${o.vobiz ? 'vobiz' : 'plivo'}/answer`;
    const params: Record<string, string> = {
      CallUUID: callId,
      CallStatus: 'ringing',
      Direction: 'inbound',
      Event: 'StartApp',
      From: o.from,
      To: o.to,
    };
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const nonce = randomBytes(10).toString('hex');
    const sig = o.signature ?? (o.authToken === undefined ? undefined : signV3(o.authToken, url, params, nonce));
    if (sig !== undefined) {
      headers['x-plivo-signature-v3'] = sig;
      headers['x-plivo-signature-v3-nonce'] = nonce;
    }
    const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    return { status: res.status, body: await res.text() };
  }

  static override async call(o: { gateway: string; vobiz?: boolean; from: string; to: string; authToken?: string }): Promise<PlivoPeer> {
    const vobiz = o.vobiz ?? false;
    const peer = new PlivoPeer(vobiz);
    const a = await PlivoPeer.answer({ ...o, vobiz }, peer.callId);
    if (a.status !== 200) throw new Error(`answer: ${a.status} ${a.body}`);
    const m = /<Stream ([^>]*)>([^<]+)<\/Stream>/.exec(a.body);
    if (!m) throw new Error(`no <Stream> in ${a.body}`);
    if (!/bidirectional="true"/.test(m[1]!) || !/contentType="audio\/x-mulaw;rate=8000"/.test(m[1]!))
      throw new Error(`unexpected <Stream ${m[1]!}>`);
    const extra = Object.fromEntries(
      (/extraHeaders="([^"]*)"/.exec(m[1]!)?.[1] ?? '')
        .split(',')
        .filter((kv) => kv.includes('='))
        .map((kv) => kv.split('=') as [string, string]),
    );
    await peer.connect(m[2]!.replace(/&amp;/g, '&'), extra);
    return peer;
  }

  async connect(url: string, extraHeaders: Record<string, string>): Promise<void> {
    await this.open(url);
    const extra = this.#vobiz
      ? JSON.stringify(extraHeaders)
      : Object.entries(extraHeaders)
          .map(([k, v]) => `${k}=${v}`)
          .join(';');
    this.send({
      event: 'start',
      sequenceNumber: ++this.#seq,
      start: {
        callId: this.callId,
        streamId: this.streamId,
        accountId: this.#vobiz ? 1234 : 'MAXXXXXXXXXXXXXXXXXX',
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000 },
      },
      extra_headers: extra,
    });
  }

  media(bytes: Uint8Array): void {
    const chunk = ++this.#chunk;
    this.send({
      event: 'media',
      sequenceNumber: ++this.#seq,
      streamId: this.streamId,
      media: { track: 'inbound', timestamp: String(Date.now()), chunk, payload: Buffer.from(bytes).toString('base64') },
    });
  }

  /** 20 ms of 8 kHz PCM as a µ-law media message. */
  protected frame(pcm: Int16Array): void {
    this.media(ulaw.encode(pcm));
  }

  dtmf(digit: string): void {
    this.send({ event: 'dtmf', sequenceNumber: ++this.#seq, streamId: this.streamId, dtmf: { digit } });
  }

  /** A checkpoint has played: `playedStream` (Vobiz's without streamId). */
  protected confirm(name: string): void {
    const msg: Record<string, unknown> = { event: 'playedStream', sequenceNumber: ++this.#seq, name };
    if (!this.#vobiz) msg['streamId'] = this.streamId;
    this.send(msg);
  }

  protected onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    this.received.push({ msg: m, atMs: performance.now() });
    switch (m['event']) {
      case 'playAudio': {
        const media = m['media'] as Record<string, unknown>;
        if (media['contentType'] !== 'audio/x-mulaw' || media['sampleRate'] !== 8000)
          throw new Error(`unexpected playAudio ${JSON.stringify(media)}`);
        return this.player.push(ulaw.decode(Buffer.from(String(media['payload']), 'base64')));
      }
      case 'checkpoint':
        return this.player.mark(String(m['name']));
      case 'clearAudio':
        this.player.clear(); // dropped checkpoints are not acknowledged
        this.send({ event: 'clearedAudio', sequenceNumber: ++this.#seq, streamId: this.streamId });
        return;
      case 'stop': // Vobiz: the app ends the stream
        this.ws?.close();
        return;
    }
  }
}

/**
 * X-Plivo-Signature-V3 of a POST: base64 HMAC-SHA256 over the URL (no query here) + "?" + each
 * POST parameter's name and value sorted by name, then "." + the nonce.
 */
export function signV3(authToken: string, url: string, params: Record<string, string>, nonce: string): string {
  const body = Object.keys(params)
    .sort()
    .map((k) => k + params[k]!)
    .join('');
  return createHmac('sha256', authToken).update(`${url}?${body}.${nonce}`, 'utf8').digest('base64');
}
