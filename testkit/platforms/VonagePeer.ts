import { createHash, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { l16 } from './Player.js';
import { StreamPeer } from './StreamPeer.js';

/**
 * Vonage, as its docs describe it, calling the gateway: the answer_url GET (signed webhooks: an
 * HS256 JWT in Authorization, https://developer.vonage.com/en/getting-started/concepts/webhooks),
 * the NCCO's `connect` to a `websocket` endpoint, then the socket
 * (https://developer.vonage.com/en/voice/voice-api/concepts/websockets): a text
 * `websocket:connected` carrying the content-type and the endpoint's headers, binary 16-bit LE
 * PCM at 16 kHz, 20 ms per message, both ways; `websocket:dtmf`. Audio it is sent is played from
 * a buffer in real time; a `notify` is echoed as `websocket:notify` once the audio before it has
 * played; `clear` empties the buffer and is answered `websocket:cleared`. Hanging up closes the socket.
 */
export class VonagePeer extends StreamPeer {
  readonly uuid = randomUUID();
  readonly received: { msg: Record<string, unknown> | null; bytes: number; atMs: number }[] = [];
  readonly #notify = new Map<string, unknown>();
  #n = 0;

  constructor() {
    super(16000);
  }

  static async jwt(secret: string, body?: string): Promise<string> {
    const claims: Record<string, unknown> = { application_id: randomUUID() };
    if (body !== undefined) claims['payload_hash'] = createHash('sha256').update(body).digest('hex');
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setJti(randomUUID())
      .sign(new TextEncoder().encode(secret));
  }

  static async answer(o: { gateway: string; from: string; to: string; uuid: string; authorization?: string }) {
    const q = new URLSearchParams({ to: o.to, from: o.from, uuid: o.uuid, conversation_uuid: `CON-${randomUUID()}` });
    const headers: Record<string, string> = o.authorization === undefined ? {} : { authorization: o.authorization };
    const res = await fetch(`${o.gateway}/v1/edges/vonage/answer?${q.toString()}`, { headers });
    return { status: res.status, body: await res.text() };
  }

  static override async call(o: { gateway: string; from: string; to: string; secret?: string }): Promise<VonagePeer> {
    const peer = new VonagePeer();
    const authorization = o.secret === undefined ? undefined : `Bearer ${await VonagePeer.jwt(o.secret)}`;
    const a = await VonagePeer.answer({ ...o, uuid: peer.uuid, ...(authorization !== undefined && { authorization }) });
    if (a.status !== 200) throw new Error(`answer: ${a.status} ${a.body}`);
    const ncco = JSON.parse(a.body) as {
      action: string;
      endpoint: { type: string; uri: string; 'content-type': string; headers: Record<string, unknown> }[];
    }[];
    const ep = ncco.find((x) => x.action === 'connect')?.endpoint[0];
    if (ep?.type !== 'websocket' || ep['content-type'] !== 'audio/l16;rate=16000') throw new Error(`unexpected NCCO ${a.body}`);
    await peer.connect(ep.uri, ep.headers);
    return peer;
  }

  async connect(uri: string, headers: Record<string, unknown>): Promise<void> {
    await this.open(uri);
    this.send({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000', ...headers });
  }

  /** 20 ms of 16 kHz PCM as a 640-byte binary message. */
  protected frame(pcm: Int16Array): void {
    this.send(l16.encode(pcm));
  }

  dtmf(digit: string): void {
    this.send({ event: 'websocket:dtmf', digit, duration: 260 });
  }

  /** A notify's audio has played: `websocket:notify` with its payload. */
  protected confirm(name: string): void {
    this.send({ event: 'websocket:notify', payload: this.#notify.get(name) });
    this.#notify.delete(name);
  }

  protected onMessage(d: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.received.push({ msg: null, bytes: d.length, atMs: performance.now() });
      return this.player.push(l16.decode(d));
    }
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    this.received.push({ msg: m, bytes: d.length, atMs: performance.now() });
    if (m['action'] === 'notify') {
      const name = `n${++this.#n}`;
      this.#notify.set(name, m['payload']);
      this.player.mark(name);
    } else if (m['action'] === 'clear') {
      for (const name of this.player.clear()) this.#notify.delete(name);
      this.send({ event: 'websocket:cleared' });
    }
  }
}
