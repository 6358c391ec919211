import { createHmac, randomBytes } from 'node:crypto';
import { ulaw } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * Twilio, as its docs describe it, calling the gateway: the voice webhook (form POST signed with
 * X-Twilio-Signature, https://www.twilio.com/docs/usage/webhooks/webhooks-security), the TwiML
 * answer's `<Connect><Stream url>` with its `<Parameter>`s, then a bidirectional Media Stream
 * (https://www.twilio.com/docs/voice/media-streams/websocket-messages): `connected`, `start`,
 * 20 ms µ-law `media` in real time, `dtmf`, `stop`. What the app sends back is played from a
 * buffer at real-time pace; a `mark` is echoed when the audio before it has played, a `clear`
 * empties the buffer and echoes the marks it dropped.
 */
export class TwilioPeer extends StreamPeer {
  readonly accountSid = `AC${randomBytes(16).toString('hex')}`;
  readonly callSid = `CA${randomBytes(16).toString('hex')}`;
  readonly streamSid = `MZ${randomBytes(16).toString('hex')}`;
  /** every message the gateway sent, parsed, with its arrival time */
  readonly received: { msg: Record<string, unknown>; atMs: number }[] = [];
  #seq = 0;
  #chunk = 0;

  constructor() {
    super(8000);
  }

  /** POSTs the voice webhook; resolves with the HTTP status and the TwiML. */
  static async answer(
    o: { gateway: string; from: string; to: string; authToken?: string; signature?: string },
    callSid: string,
    accountSid: string,
  ) {
    const url = `${o.gateway}/v1/edges/twilio/answer`;
    const params: Record<string, string> = {
      AccountSid: accountSid,
      ApiVersion: '2010-04-01',
      CallSid: callSid,
      CallStatus: 'ringing',
      Called: o.to,
      Caller: o.from,
      Direction: 'inbound',
      From: o.from,
      To: o.to,
    };
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const sig = o.signature ?? (o.authToken === undefined ? undefined : sign(o.authToken, url, params));
    if (sig !== undefined) headers['x-twilio-signature'] = sig;
    const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    return { status: res.status, body: await res.text() };
  }

  /** Places a call: webhook, then the stream its TwiML names, then `connected` and `start`. */
  static override async call(o: { gateway: string; from: string; to: string; authToken?: string }): Promise<TwilioPeer> {
    const peer = new TwilioPeer();
    const a = await TwilioPeer.answer(o, peer.callSid, peer.accountSid);
    if (a.status !== 200) throw new Error(`answer webhook: ${a.status} ${a.body}`);
    const stream = /<Connect><Stream url="([^"]+)"/.exec(a.body);
    if (!stream) throw new Error(`no <Connect><Stream> in ${a.body}`);
    const params = Object.fromEntries(
      [...a.body.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)].map((m) => [xml(m[1]!), xml(m[2]!)]),
    );
    await peer.connect(xml(stream[1]!), params);
    return peer;
  }

  /** Opens the stream and sends `connected` and `start` with `customParameters`. */
  async connect(url: string, customParameters: Record<string, string>): Promise<void> {
    await this.open(url);
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.send({
      event: 'start',
      sequenceNumber: String(++this.#seq),
      start: {
        accountSid: this.accountSid,
        streamSid: this.streamSid,
        callSid: this.callSid,
        tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters,
      },
      streamSid: this.streamSid,
    });
  }

  /** One `media` message carrying µ-law `bytes`. */
  media(bytes: Uint8Array): void {
    const chunk = ++this.#chunk;
    this.send({
      event: 'media',
      sequenceNumber: String(++this.#seq),
      media: {
        track: 'inbound',
        chunk: String(chunk),
        timestamp: String((chunk - 1) * 20),
        payload: Buffer.from(bytes).toString('base64'),
      },
      streamSid: this.streamSid,
    });
  }

  /** 20 ms of 8 kHz PCM as a µ-law media message. */
  protected frame(pcm: Int16Array): void {
    this.media(ulaw.encode(pcm));
  }

  dtmf(digit: string): void {
    this.send({ event: 'dtmf', streamSid: this.streamSid, sequenceNumber: String(++this.#seq), dtmf: { track: 'inbound_track', digit } });
  }

  /** The caller hangs up: `stop`, then the socket closes. */
  override hangup(): void {
    this.send({
      event: 'stop',
      sequenceNumber: String(++this.#seq),
      streamSid: this.streamSid,
      stop: { accountSid: this.accountSid, callSid: this.callSid },
    });
    super.hangup();
  }

  protected confirm(name: string): void {
    this.send({ event: 'mark', sequenceNumber: String(++this.#seq), streamSid: this.streamSid, mark: { name } });
  }

  protected onMessage(d: Buffer): void {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    this.received.push({ msg: m, atMs: performance.now() });
    if (m['streamSid'] === this.streamSid) this.playTwilioStyle(m, (b) => ulaw.decode(b));
  }
}

/** X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each POST parameter's name and value, sorted by name. */
export function sign(authToken: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k]!, url);
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

function xml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}
