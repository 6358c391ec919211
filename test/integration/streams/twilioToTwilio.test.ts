import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, ulaw } from '../../../testkit/platforms/Player.js';
import { TwilioPeer } from '../../../testkit/platforms/TwilioPeer.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import { energy, xcorrPeak } from '../../helpers/audio.js';
import { resampleAll, startGateway, ulawRoundTrip, until } from '../../helpers/gateway.js';
import { reply24k, speech8k } from './scenario.js';

const TOKEN = 'twilio-test-auth-token';
process.env['TWILIO_AUTH_TOKEN'] = TOKEN;

/** An app written for Twilio Media Streams (what it would run against Twilio itself). */
class TwilioApp {
  readonly wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  ws: WebSocket | null = null;
  streamSid = '';
  readonly msgs: { msg: Record<string, unknown>; atMs: number }[] = [];
  constructor() {
    this.wss.on('connection', (ws) => {
      this.ws = ws;
      ws.on('message', (d: Buffer) => {
        const msg = JSON.parse(d.toString()) as Record<string, unknown>;
        if (msg['event'] === 'start') this.streamSid = String(msg['streamSid']);
        this.msgs.push({ msg, atMs: performance.now() });
      });
    });
  }
  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }
  send(m: Record<string, unknown>): number {
    this.ws!.send(JSON.stringify({ ...m, streamSid: this.streamSid }));
    return performance.now();
  }
  of(event: string): { msg: Record<string, unknown>; atMs: number }[] {
    return this.msgs.filter((m) => m.msg['event'] === event);
  }
}

let gw: Gateway;
let url: string;
let app: TwilioApp;

beforeAll(async () => {
  app = new TwilioApp();
  await new Promise((r) => app.wss.once('listening', r));
  const routing = new RoutingTable({ numbers: { '+14155550800': { agent: { url: app.url, dialect: 'twilio' } } } });
  ({ gw, url } = await startGateway({ routing }));
});
afterAll(async () => {
  await gw.close();
  app.wss.close();
});

describe('Twilio in, Twilio dialect out', () => {
  it('behaves as if Twilio streamed to the app directly: audio both ways, marks at real playout, clear honoured', async () => {
    const peer = await TwilioPeer.call({ gateway: url, from: '+14155550123', to: '+14155550800', authToken: TOKEN });
    await until(() => app.streamSid !== '', 5000, 'the app got its start');
    const start = app.of('start')[0]!.msg['start'] as Record<string, unknown>;
    expect(start['mediaFormat']).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
    expect(start['customParameters']).toMatchObject({ from: '+14155550123', to: '+14155550800' });

    const reply8k = Int16Array.from((await resampleAll(reply24k, 24000, 8000)).pcm, (v) => Math.round(v));
    const payload = (pcm: Int16Array) => Buffer.from(ulaw.encode(pcm)).toString('base64');
    let clearAt = 0;
    const script = (async () => {
      await sleep(300);
      app.send({ event: 'media', media: { payload: payload(reply8k.subarray(0, 8000)) } }); // 1 s in one message
      app.send({ event: 'mark', mark: { name: 'm1' } });
      await until(() => app.of('mark').length > 0, 4000, 'm1');
      app.send({ event: 'media', media: { payload: payload(reply8k.subarray(8000, 24000)) } });
      app.send({ event: 'mark', mark: { name: 'm2' } });
      await sleep(500);
      clearAt = app.send({ event: 'clear' });
    })();
    const input = new Int16Array(8000 * 3);
    input.set(speech8k.subarray(0, 8000 * 2));
    await Promise.all([peer.stream(input), script]);
    peer.dtmf('7');
    await until(() => app.of('dtmf').length > 0, 2000, 'dtmf');
    expect((app.of('dtmf')[0]!.msg['dtmf'] as Record<string, unknown>)['digit']).toBe('7');

    // caller audio: µ-law 8 kHz in Twilio's media messages, the caller's speech (denoised)
    const media = app.of('media').map((m) => Buffer.from(String((m.msg['media'] as Record<string, unknown>)['payload']), 'base64'));
    const heard = ulaw.decode(Buffer.concat(media));
    const { peak } = xcorrPeak(ulawRoundTrip(speech8k).subarray(4000, 12000), heard.subarray(4000), 400);
    expect(peak).toBeGreaterThanOrEqual(0.9);

    // m1: the app hears it once the caller's side (the peer) has played its second of audio
    const played = peer.player.played;
    const t0 = played.find((f) => energy(f.pcm) > 0)!.atMs;
    const m1 = app.of('mark')[0]!;
    const peerEcho = peer.echoes.filter((e) => e.atMs <= m1.atMs).at(-1)!; // the gateway's progress marks come first
    expect((m1.msg['mark'] as Record<string, unknown>)['name']).toBe('m1');
    expect(peerEcho.atMs).toBeGreaterThanOrEqual(t0 + 1000 - 25);
    expect(m1.atMs).toBeGreaterThanOrEqual(peerEcho.atMs);
    console.log(
      `twilio→twilio: m1 reached the app ${(m1.atMs - peerEcho.atMs).toFixed(1)} ms after the caller's side confirmed it, ${(m1.atMs - t0 - 1000).toFixed(1)} ms after its audio ended`,
    );

    // clear: the caller's side stops at once; m2 is echoed (Twilio echoes marks a clear drops)
    await until(() => app.of('mark').length >= 2, 2000, 'm2 echoed');
    const m2 = app.of('mark')[1]!;
    expect((m2.msg['mark'] as Record<string, unknown>)['name']).toBe('m2');
    // at once, not after its audio (quiet: within a few ms; generous for loaded machines)
    expect(m2.atMs - clearAt).toBeLessThan(200);
    const after = played.filter((f) => f.atMs > clearAt + 100 && energy(f.pcm) > 0);
    expect(after).toEqual([]);
    expect(peer.received.some((r) => r.msg['event'] === 'clear')).toBe(true);

    // the caller hangs up: the app gets Twilio's stop
    peer.hangup();
    await until(() => app.of('stop').length > 0, 2000, 'stop');
  }, 20_000);
});
