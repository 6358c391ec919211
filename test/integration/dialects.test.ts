import { performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { g711DecodeInto, g711EncodeInto } from '../../codecs/src/index.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { callIdOfTwilioSid, twilioCallSid } from '../../gateway/src/agent/dialects/twilio.js';
import { GOLDEN } from '../fixtures/dialects.js';
import { energy, fixture, xcorrPeak } from '../helpers/audio.js';
import { loopStallMs, PacketGrid, resampleAll, startGateway, ulawRoundTrip } from '../helpers/gateway.js';

/** Maps whose keys are the user's (custom parameters): only their being an object is compared. */
const FREE_FORM = new Set(['customParameters', 'custom_parameters', 'payload']);

/** Same keys, recursively, and the same JSON type for every value (values themselves may differ). */
function shapeOf(v: unknown): unknown {
  if (Array.isArray(v)) return ['array'];
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .map(([k, x]) => [k, FREE_FORM.has(k) && typeof x === 'object' ? 'object' : shapeOf(x)])
        .sort(),
    );
  return typeof v;
}

/** The shape of `got` restricted to the keys of `golden` (for messages that merge user metadata at the top). */
function shapeWithin(got: Record<string, unknown>, golden: Record<string, unknown>): unknown {
  return shapeOf(Object.fromEntries(Object.keys(golden).map((k) => [k, got[k]])));
}

interface Msg {
  text?: Record<string, unknown>;
  binary?: Buffer;
  atMs: number;
}

/** A WebSocket server playing an agent that speaks some dialect: records everything it gets. */
class DialectAgent {
  readonly wss: WebSocketServer;
  ws: WebSocket | null = null;
  protocol = '';
  readonly msgs: Msg[] = [];
  constructor() {
    this.wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (p) => (p.has('audio.jambonz.org') ? 'audio.jambonz.org' : false),
    });
    this.wss.on('connection', (ws) => {
      this.ws = ws;
      this.protocol = ws.protocol;
      ws.on('message', (d: Buffer, isBinary) =>
        this.msgs.push(
          isBinary
            ? { binary: Buffer.from(d), atMs: performance.now() }
            : { text: JSON.parse(d.toString()) as Record<string, unknown>, atMs: performance.now() },
        ),
      );
    });
  }
  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }
  texts(): Record<string, unknown>[] {
    return this.msgs.flatMap((m) => (m.text ? [m.text] : []));
  }
  send(v: Record<string, unknown> | Buffer): number {
    this.ws!.send(Buffer.isBuffer(v) ? v : JSON.stringify(v), { binary: Buffer.isBuffer(v) });
    return performance.now();
  }
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const mulaw = (pcm: Int16Array) => {
  const out = new Uint8Array(pcm.length);
  g711EncodeInto('ulaw', pcm, out);
  return out;
};
const unmulaw = (b: Buffer) => {
  const out = new Int16Array(b.length);
  g711DecodeInto('ulaw', b, out);
  return out;
};
const le16 = (b: Buffer) => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~1)));
const asBytes = (pcm: Int16Array) => Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);

/** How a test agent speaks each dialect. */
interface Adapter {
  rate: number;
  /** the caller audio in one message, or null when the message is not audio */
  audioOf(m: Msg): Int16Array | null;
  audio(pcm: Int16Array): Record<string, unknown> | Buffer;
  mark(name: string): Record<string, unknown>;
  clear: Record<string, unknown>;
  /** the name of the mark an echo refers to, and whether it says "cleared" */
  echoOf(m: Record<string, unknown>): { name: string; cleared?: boolean } | null;
  /** what happens to a mark dropped by clear */
  onClear: 'echoed' | 'silent' | 'flagged';
  clearAck?: Record<string, unknown>;
  /** golden messages the gateway's must match in shape: [pick from what was received, golden, metadata merged at top level?] */
  golden: [(texts: Record<string, unknown>[]) => Record<string, unknown> | undefined, Record<string, unknown>, boolean?][];
}

const ev = (name: string) => (t: Record<string, unknown>[]) => t.find((m) => m['event'] === name);
const twilioLike = (
  g: (typeof GOLDEN)['twilio' | 'telnyx'] | (typeof GOLDEN)['exotel'],
  rate: number,
  sidKey: string,
  decode: (b: Buffer) => Int16Array,
  encode: (p: Int16Array) => Uint8Array,
): Adapter => ({
  rate,
  audioOf: (m) =>
    m.text?.['event'] === 'media' ? decode(Buffer.from(String((m.text['media'] as Record<string, unknown>)['payload']), 'base64')) : null,
  audio: (pcm) => ({ event: 'media', [sidKey]: 'x', media: { payload: b64(encode(pcm)) } }),
  mark: (name) => ({ event: 'mark', [sidKey]: 'x', mark: { name } }),
  clear: { event: 'clear', [sidKey]: 'x' },
  echoOf: (m) => (m['event'] === 'mark' ? { name: String((m['mark'] as Record<string, unknown>)['name']) } : null),
  onClear: 'echoed',
  golden: [
    [ev('connected'), g.connected],
    [ev('start'), g.start],
    [ev('media'), g.media],
    [ev('mark'), g.mark],
    [ev('dtmf'), g.dtmf],
    [ev('stop'), g.stop],
  ],
});

const ADAPTERS: Record<string, Adapter> = {
  twilio: twilioLike(GOLDEN.twilio, 8000, 'streamSid', unmulaw, mulaw),
  telnyx: twilioLike(GOLDEN.telnyx, 8000, 'stream_id', unmulaw, mulaw),
  exotel: twilioLike(GOLDEN.exotel, 8000, 'stream_sid', le16, (p) => new Uint8Array(asBytes(p))),
  plivo: {
    rate: 8000,
    audioOf: (m) =>
      m.text?.['event'] === 'media'
        ? unmulaw(Buffer.from(String((m.text['media'] as Record<string, unknown>)['payload']), 'base64'))
        : null,
    audio: (pcm) => ({ event: 'playAudio', media: { contentType: 'audio/x-mulaw', sampleRate: 8000, payload: b64(mulaw(pcm)) } }),
    mark: (name) => ({ event: 'checkpoint', streamId: 'x', name }),
    clear: { event: 'clearAudio', streamId: 'x' },
    echoOf: (m) => (m['event'] === 'playedStream' ? { name: String(m['name']) } : null),
    onClear: 'silent',
    clearAck: GOLDEN.plivo.clearedAudio,
    golden: [
      [ev('start'), GOLDEN.plivo.start],
      [ev('media'), GOLDEN.plivo.media],
      [ev('playedStream'), GOLDEN.plivo.playedStream],
      [ev('clearedAudio'), GOLDEN.plivo.clearedAudio],
      [ev('dtmf'), GOLDEN.plivo.dtmf],
    ],
  },
  vonage: {
    rate: 16000,
    audioOf: (m) => (m.binary ? le16(m.binary) : null),
    audio: (pcm) => asBytes(pcm),
    mark: (name) => ({ action: 'notify', payload: { name } }),
    clear: { action: 'clear' },
    echoOf: (m) => (m['event'] === 'websocket:notify' ? { name: String((m['payload'] as Record<string, unknown>)['name']) } : null),
    onClear: 'silent',
    clearAck: GOLDEN.vonage.cleared,
    golden: [
      [ev('websocket:connected'), GOLDEN.vonage.connected, true], // NCCO headers are merged in
      [ev('websocket:dtmf'), GOLDEN.vonage.dtmf],
      [ev('websocket:cleared'), GOLDEN.vonage.cleared],
    ],
  },
  jambonz: {
    rate: 8000,
    audioOf: (m) => (m.binary ? le16(m.binary) : null),
    audio: (pcm) => asBytes(pcm),
    mark: (name) => ({ type: 'mark', data: { name } }),
    clear: { type: 'killAudio' },
    echoOf: (m) =>
      m['type'] === 'mark'
        ? {
            name: String((m['data'] as Record<string, unknown>)['name']),
            cleared: (m['data'] as Record<string, unknown>)['event'] === 'cleared',
          }
        : null,
    onClear: 'flagged',
    golden: [
      [(t) => t[0], GOLDEN.jambonz.preamble, true], // listen metadata is merged in
      [(t) => t.find((m) => m['event'] === 'dtmf'), GOLDEN.jambonz.dtmf],
      [
        (t) => t.find((m) => m['type'] === 'mark' && (m['data'] as Record<string, unknown>)['event'] === 'playout'),
        GOLDEN.jambonz.markPlayout,
      ],
    ],
  },
};
ADAPTERS['vobiz'] = {
  ...ADAPTERS['plivo']!,
  clearAck: GOLDEN.vobiz.clearedAudio,
  golden: [
    [ev('playedStream'), GOLDEN.vobiz.playedStream],
    [ev('clearedAudio'), GOLDEN.vobiz.clearedAudio],
  ],
};

let gw: Gateway;
let url: string;
beforeAll(async () => {
  ({ gw, url } = await startGateway());
});
afterAll(async () => {
  await gw.close();
});

const speech = fixture('caller-en-us-8k.wav').samples.subarray(0, 8000 * 3);
const audible = (payload: Uint8Array) => energy(unmulaw(Buffer.from(payload))) > 0;

describe.each(Object.keys(ADAPTERS))('dialect %s', (dialect) => {
  const a = ADAPTERS[dialect]!;
  it('streams the caller, plays the agent, echoes marks at playout, clears within a tick, matches the documented messages', async () => {
    const agent = new DialectAgent();
    await new Promise((r) => agent.wss.once('listening', r));
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      from: '+14155550123',
      to: '+14155550100',
      route: { agent: { url: agent.url, dialect }, params: { lang: 'en' } },
    });
    const tone = (ms: number) =>
      Int16Array.from({ length: (a.rate * ms) / 1000 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / a.rate)));
    let clearAt = 0;
    const script = (async () => {
      while (agent.ws === null) await sleep(5);
      await sleep(500);
      agent.send(a.audio(tone(1000)));
      agent.send(a.mark('m1'));
      await sleep(1500);
      agent.send(a.audio(tone(2000)));
      agent.send(a.mark('m2'));
      await sleep(500);
      clearAt = agent.send(a.clear);
    })();
    const input = new Int16Array(8000 * 4);
    input.set(speech);
    await Promise.all([c.stream(input), script]);
    await c.sendDtmf('7');
    await c.stream(new Int16Array(1600));
    await c.end();
    await sleep(100);
    if (dialect === 'jambonz') expect(agent.protocol).toBe('audio.jambonz.org');

    // Caller audio, at the dialect's rate and in its encoding, matches the speech.
    const frames = agent.msgs.map((m) => a.audioOf(m)).filter((x): x is Int16Array => x !== null);
    expect(frames.length).toBeGreaterThanOrEqual(195);
    expect(frames[0]!.length).toBe(a.rate / 50);
    const heard = new Int16Array(frames.length * frames[0]!.length);
    frames.forEach((f, i) => heard.set(f, i * f.length));
    const ref = a.rate === 8000 ? { pcm: ulawRoundTrip(speech) } : await resampleAll(ulawRoundTrip(speech), 8000, a.rate);
    const { peak } = xcorrPeak(ref.pcm.subarray(a.rate / 2, a.rate * 2.5), heard.subarray(a.rate / 2), a.rate / 20);
    expect(peak).toBeGreaterThanOrEqual(0.7);

    // m1: echoed once its 1 s of audio has played at the edge, not before.
    const texts = agent.msgs.filter((m) => m.text);
    const echoes = texts.map((m) => ({ e: a.echoOf(m.text!), at: m.atMs })).filter((x) => x.e !== null);
    const m1 = echoes.find((x) => x.e!.name === 'm1')!;
    expect(m1).toBeDefined();
    const grid = new PacketGrid(c.received, c.received[0]!.payload.length);
    // Marks and clears travel on the agent's socket, where the caller's audio arrives 50 messages a second.
    const audioAt = agent.msgs.filter((m) => a.audioOf(m) !== null).map((m) => m.atMs);
    const stallMs = (fromMs: number, toMs: number): number => loopStallMs(grid, audioAt, fromMs, toMs);
    // m1's 1 s of audio went in the 50 packets from the first audible one (one packet per frame,
    // slots a stalled clock skipped or not): it has played when the last of them has.
    const first = c.received.findIndex((p) => audible(p.payload));
    const playedAt = grid.at(first + 49) + 20;
    expect(m1.at).toBeGreaterThanOrEqual(playedAt);
    // generous: two shared cores, other files' real-time calls in parallel (a late tick or two),
    // plus any stall of the loop then
    expect(m1.at).toBeLessThanOrEqual(playedAt + 100 + stallMs(playedAt - 100, playedAt + 500));
    expect(m1.e!.cleared ?? false).toBe(false);

    // m2 was dropped by the clear: each dialect says so (or not) its own way.
    const m2 = echoes.filter((x) => x.e!.name === 'm2');
    // a stall of the loop as the clear went delays its effect
    const clearStall = stallMs(clearAt - 100, clearAt + 500);
    if (a.onClear === 'silent') expect(m2).toEqual([]);
    else {
      expect(m2.length).toBe(1);
      expect(m2[0]!.at - clearAt).toBeLessThan(25 + clearStall);
      if (a.onClear === 'flagged') expect(m2[0]!.e!.cleared).toBe(true);
    }
    if (a.clearAck) expect(agent.texts().some((t) => JSON.stringify(shapeOf(t)) === JSON.stringify(shapeOf(a.clearAck)))).toBe(true);
    const late = c.received.filter((p, i) => grid.at(i) > clearAt + 25 + clearStall && audible(p.payload));
    expect(late).toEqual([]);

    // Every documented message the gateway sent has the documented shape.
    for (const [pick, golden, merged] of a.golden) {
      const got = pick(agent.texts());
      expect(got, `${dialect}: ${JSON.stringify(golden).slice(0, 60)}`).toBeDefined();
      expect(merged ? shapeWithin(got!, golden) : shapeOf(got)).toEqual(shapeOf(golden));
    }
    agent.wss.close();
  }, 20_000);
});

describe('Twilio specifics', () => {
  it('uses realistic SIDs, string counters with 8-bytes-per-ms timestamps, and route params + numbers as customParameters', async () => {
    const agent = new DialectAgent();
    await new Promise((r) => agent.wss.once('listening', r));
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      from: '+14155550123',
      to: '+14155550100',
      route: { agent: { url: agent.url, dialect: 'twilio' }, params: { FirstName: 'Jane' } },
    });
    await c.stream(speech.subarray(0, 8000));
    await sleep(100);
    const t = agent.texts();
    const start = t.find((m) => m['event'] === 'start')!['start'] as Record<string, unknown>;
    expect(start['accountSid']).toMatch(/^AC[0-9a-f]{32}$/);
    expect(start['callSid']).toMatch(/^CA[0-9a-f]{32}$/);
    expect(start['streamSid']).toMatch(/^MZ[0-9a-f]{32}$/);
    expect(start['customParameters']).toEqual({ FirstName: 'Jane', from: '+14155550123', to: '+14155550100' });
    expect(start['mediaFormat']).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
    const media = t.filter((m) => m['event'] === 'media').map((m) => m['media'] as Record<string, string>);
    media.forEach((m, i) => {
      expect(m['chunk']).toBe(String(i + 1));
      expect(m['timestamp']).toBe(String(i * 20)); // 160 bytes of µ-law = 20 ms
      expect(Buffer.from(m['payload']!, 'base64').length).toBe(160);
    });
    const seqs = t.map((m) => Number(m['sequenceNumber'])).filter((n) => !Number.isNaN(n));
    seqs.forEach((s, i) => expect(s).toBe(i + 1));
    expect(callIdOfTwilioSid(String(start['callSid']))).toBe(c.callId);

    // Pipecat hangs up through Twilio's REST API; pointed at the gateway it ends the call.
    const res = await fetch(`${url}/2010-04-01/Accounts/${String(start['accountSid'])}/Calls/${twilioCallSid(c.callId)}.json`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Status=completed',
    });
    expect(res.status).toBe(200);
    expect(gw.calls.get(c.callId)).toBeUndefined();
    await sleep(50);
    expect(agent.texts().at(-1)?.['event']).toBe('stop');
    await c.hangup();
    agent.wss.close();
  });
});
