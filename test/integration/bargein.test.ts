import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { g711DecodeInto } from '../../codecs/src/index.js';
import { g168Path, scaledResponse } from '../../bench/src/bargein/echoPaths.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { TestAgent } from '../../testkit/TestAgent.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { energy, fixture } from '../helpers/audio.js';
import { counter, resampleAll, startGateway } from '../helpers/gateway.js';

/**
 * Barge-in over real sockets: a UDP caller whose line echoes what its phone plays through a
 * band-limited, dispersive hybrid (ITU-T G.168 Annex D model D.5, 15 dB ERL, 60 ms bulk delay),
 * with or without the caller talking over the agent: an interruption is cleared, a backchannel is
 * ducked and resumed with no audio lost, the echo alone clears nothing.
 */

let gw: Gateway;
let url: string;
let agent: TestAgent;
let agentSpeech24k: Int16Array;
let agentSpeech8k: Int16Array;
const interruption = fixture('bargein/interrupt-1-a.wav').samples; // 8 kHz, ~2.5 s
const backchannel = fixture('bargein/backchannel-en-us-okay.wav').samples; // ≈ 0.45 s
/** The hybrid's response, scaled to 15 dB ERL on the agent's speech (set in beforeAll). */
let hybrid: Float32Array;

beforeAll(async () => {
  ({ gw, url } = await startGateway());
  agent = await TestAgent.listen();
  agentSpeech8k = fixture('bargein/agent-1.wav').samples;
  hybrid = scaledResponse(Float32Array.from(agentSpeech8k), { kind: 'g168', name: 'D5', h: g168Path('D5'), delayMs: 0, erlDb: 15 });
  agentSpeech24k = Int16Array.from((await resampleAll(agentSpeech8k, 8000, 24000)).pcm, (v) =>
    Math.max(-32768, Math.min(32767, Math.round(v))),
  );
});

afterAll(async () => {
  await gw.close();
  await agent.close();
});

const decode = (payload: Uint8Array): Int16Array => {
  const pcm = new Int16Array(payload.length);
  g711DecodeInto('ulaw', payload, pcm);
  return pcm;
};
const audible = (payload: Uint8Array): boolean => energy(decode(payload)) > 100;

/**
 * Runs the caller's phone for `seconds` from the first audible agent packet (a loaded machine may
 * start the agent late; at most 5 s more): every 20 ms it plays the packet due in that slot (a 1-packet
 * jitter buffer on its own clock) and sends back that playback's echo through the hybrid,
 * `echoDelayMs` later, plus `talk` starting `talkAtMs` after the first audible agent packet (in
 * the phone's media time: 20 ms per slot, however late a loaded machine runs this loop).
 * Returns when the talk started (performance.now ms, NaN if it never did) and its first frame
 * (the caller's media time is 20 ms per frame from the call's first packet).
 */
async function phone(
  c: RtpCaller,
  o: { seconds: number; echoDelayMs: number; talk?: Int16Array; talkAtMs?: number },
): Promise<{ talkAt: number; talkFrame: number }> {
  const frames = o.seconds * 50;
  const played: Int16Array[] = [];
  // Playout on the phone's own clock, anchored at the first packet (plus one slot of jitter
  // buffer), by RTP timestamp as a real phone's jitter buffer (RFC 3550 §5.1): the packet with
  // timestamp `firstTs + 160·n` plays in slot `firstK + 1 + n`, and one that comes too late is not
  // played. So the echo path stays `echoDelayMs` in media time even when a loaded machine delays
  // this loop or the packets, as a real phone's would; and when the gateway's clock skips slots
  // after a stall (the timestamp jumps, the sequence number does not), the phone follows.
  let firstTs = -1;
  let firstK = 0;
  const delayFrames = Math.round(o.echoDelayMs / 20);
  const h = hybrid;
  /** what the phone played, as one signal, for the hybrid's convolution */
  const maxFrames = frames + 250;
  const history = new Float32Array(maxFrames * 160 + 160);
  let firstAudibleK = -1;
  let talkFrom = -1;
  let talkStartedAt = NaN;
  const t0 = performance.now();
  for (let k = 0; k < Math.min(maxFrames, frames + Math.max(0, firstAudibleK)); k++) {
    const wait = t0 + 20 * k - performance.now();
    if (wait > 1) await sleep(wait);
    const rx = c.received.filter((p) => p.pt === 0);
    if (firstTs < 0 && rx.length > 0) {
      firstTs = rx[0]!.ts;
      firstK = k;
    }
    const want = firstTs < 0 ? -1 : (firstTs + 160 * (k - firstK - 1)) >>> 0;
    const pkt = k > firstK && firstTs >= 0 ? rx.find((p) => p.ts === want) : undefined;
    played.push(pkt !== undefined ? decode(pkt.payload) : new Int16Array(160));
    if (firstAudibleK < 0 && energy(played[played.length - 1]!) > 100) firstAudibleK = k;
    history.set(played[played.length - 1]!, k * 160);
    const out = new Int16Array(160);
    const from = (k - delayFrames) * 160; // the echo of the slot played delayFrames ago
    for (let i = 0; i < 160; i++) {
      let a = 0;
      for (let j = 0; j < h.length && from + i - j >= 0; j++) a += h[j]! * history[from + i - j]!;
      out[i] = Math.max(-32768, Math.min(32767, Math.round(a)));
    }
    if (o.talk && talkFrom < 0 && firstAudibleK >= 0 && 20 * (k - firstAudibleK) >= (o.talkAtMs ?? 0)) talkFrom = k;
    if (talkFrom >= 0) {
      const off = (k - talkFrom) * 160;
      for (let i = 0; i < 160 && off + i < o.talk!.length; i++) out[i] = Math.max(-32768, Math.min(32767, out[i]! + o.talk![off + i]!));
    }
    const sentAt = c.sendFrame(out, k);
    if (talkFrom === k) talkStartedAt = sentAt;
  }
  return { talkAt: talkStartedAt, talkFrame: talkFrom };
}

describe('barge-in (native dialect, autoClear on by default)', () => {
  it('detects the caller talking over the agent, stops the agent audio within a tick, reports what was heard and clears pending marks', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: agent.url } } });
    const s = await agent.session(c.callId);
    s.sendAudio(agentSpeech24k);
    s.send({ type: 'mark', name: 'utterance-end' });
    const { talkAt, talkFrame } = await phone(c, { seconds: 5, echoDelayMs: 60, talk: interruption, talkAtMs: 1500 });
    await sleep(100);

    expect(talkFrame).toBeGreaterThan(0); // the phone played the agent, and the caller talked
    const barges = s.eventsOf('barge_in');
    expect(barges.length).toBe(1);
    const b = barges[0]!;
    expect(b.msg['cleared']).toBe(true);
    const detectMs = b.atMs - talkAt;
    const onsetMs = (b.msg['atMs'] as number) - 20 * talkFrame;
    console.log(
      `barge-in: decided ${detectMs.toFixed(0)} ms after the caller began talking (onset found at ${onsetMs} ms of the talk, media time); playedMs ${String(b.msg['playedMs'])}`,
    );
    // The onset is the talk's (media time, on the 20 ms grid, ± a 32 ms chunk of the speech model),
    // and the decision came after it: wall-clock latency is the bench's to measure, not a test's.
    // An utterance bridges pauses up to gapMs (400 ms), so a speech-like blip of residual echo
    // less than that before the talk starts it earlier: seen at −176 ms with 2 cores loaded by
    // other test runs (the echo path unchanged, the canceller's timing not); never later.
    expect(onsetMs).toBeGreaterThanOrEqual(-400 - 32);
    expect(onsetMs).toBeLessThanOrEqual(100);
    expect(detectMs).toBeGreaterThan(0);
    // speech_started came first (or with it), not after
    const started = s.eventsOf('speech_started')[0];
    expect(started).toBeDefined();
    expect(started!.atMs).toBeLessThanOrEqual(b.atMs);

    // playedMs: what the caller heard, the 20 ms packets from its first audible one to the barge-in
    // (± a tick of packetisation). Counted, not spanned: after a stall of the shared event loop the
    // gateway's clock skips slots (the RTP timestamp jumps), and the caller hears nothing in them.
    const rx = c.received.filter((p) => p.pt === 0);
    const first = rx.findIndex((p) => audible(p.payload));
    const heard = rx.slice(first).filter((p) => p.arrivalMs <= b.atMs);
    expect(heard.length).toBeGreaterThan(0);
    expect(Math.abs((b.msg['playedMs'] as number) - 20 * heard.length)).toBeLessThanOrEqual(60);

    // The queued rest of the utterance never reached the caller: nothing audible a tick after the decision.
    expect(rx.filter((p) => p.arrivalMs > b.atMs + 25 && audible(p.payload))).toEqual([]);
    const mark = s.eventsOf('mark').find((e) => e.msg['name'] === 'utterance-end');
    expect(mark?.msg['cleared']).toBe(true);
    expect(await counter(gw, 'gateway_barge_ins_total', { cleared: 'true' })).toBeGreaterThanOrEqual(1);
    // it was ducked first (64 ms of speech), and that duck ended as a barge-in
    expect(s.eventsOf('barge_in_suspected').length).toBeGreaterThanOrEqual(1);
    expect(await counter(gw, 'gateway_bargein_ducks_total', { outcome: 'barge_in' })).toBeGreaterThanOrEqual(1);
    // Silero judged the call's audio in 32 ms chunks (about 150 in its 5 s; the counters are the
    // process's model's, which any other gateway in the process shares), at least one per inference
    const chunks = await counter(gw, 'gateway_vad_chunks_total');
    const inferences = await counter(gw, 'gateway_vad_inferences_total');
    expect(chunks).toBeGreaterThanOrEqual(50);
    expect(inferences).toBeGreaterThanOrEqual(1);
    expect(chunks).toBeGreaterThanOrEqual(inferences);
    await c.end();
  }, 20_000);

  it('ducks the agent for a backchannel and brings it back, with no audio lost and no clear', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: agent.url } } });
    const s = await agent.session(c.callId);
    s.sendAudio(agentSpeech24k);
    s.send({ type: 'mark', name: 'utterance-end' });
    const seconds = Math.ceil(agentSpeech8k.length / 8000) + 1;
    await phone(c, { seconds, echoDelayMs: 60, talk: backchannel, talkAtMs: 2000 });
    await s.until(() => s.eventsOf('mark').length > 0, 3000, 'the mark');
    const suspected = s.eventsOf('barge_in_suspected');
    const resumed = s.eventsOf('barge_in_resumed');
    console.log(`backchannel: ducked ${suspected.length}×, resumed ${resumed.length}×, barge_in ${s.eventsOf('barge_in').length}`);
    expect(s.eventsOf('barge_in')).toEqual([]);
    expect(suspected.length).toBeGreaterThanOrEqual(1);
    expect(resumed.length).toBe(suspected.length);
    expect(resumed[0]!.atMs).toBeGreaterThan(suspected[0]!.atMs);
    expect(s.eventsOf('mark')[0]!.msg['cleared']).toBe(false);
    expect(await counter(gw, 'gateway_bargein_ducks_total', { outcome: 'resumed' })).toBeGreaterThanOrEqual(1);
    // No audio lost: every 20 ms of the utterance reached the phone, in order ...
    const rx = c.received.filter((p) => p.pt === 0);
    const first = rx.findIndex((p) => audible(p.payload));
    const last = rx.findLastIndex((p) => audible(p.payload));
    const srcAudible = (n: number) => energy(agentSpeech8k, n * 160, n * 160 + 160) > 100;
    let srcFirst = 0;
    while (!srcAudible(srcFirst)) srcFirst++;
    let srcLast = Math.floor(agentSpeech8k.length / 160) - 1;
    while (!srcAudible(srcLast)) srcLast--;
    expect(last - first + 1).toBeGreaterThanOrEqual(srcLast - srcFirst); // ± a frame of resampling
    // ... and some of it quieter while ducked: the level dropped by about duckDb (12 dB) against
    // the same frames of the utterance as sent, then came back.
    const level = (x: Int16Array) => 10 * Math.log10(energy(x) + 1);
    const drops = rx.slice(first, last + 1).map((p, n) => {
      const src = agentSpeech8k.subarray((srcFirst + n) * 160, (srcFirst + n) * 160 + 160);
      return energy(src) > 1e7 ? level(src) - level(decode(p.payload)) : 0;
    });
    const ducked = drops.filter((d) => d > 8).length;
    console.log(`backchannel: ${ducked} frames ducked by > 8 dB, max drop ${Math.max(...drops).toFixed(1)} dB`);
    expect(ducked).toBeGreaterThan(2);
    expect(drops.slice(-25).filter((d) => d > 8)).toEqual([]); // full volume again at the end
    await c.end();
  }, 30_000);

  it("does not take the agent's own echo for the caller (dispersive 15 dB echo, no caller speech)", async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: agent.url } } });
    const s = await agent.session(c.callId);
    s.sendAudio(agentSpeech24k);
    s.send({ type: 'mark', name: 'utterance-end' });
    const seconds = Math.ceil(agentSpeech8k.length / 8000) + 1;
    await phone(c, { seconds, echoDelayMs: 60 });
    await s.until(() => s.eventsOf('mark').length > 0, 3000, 'the mark');
    expect(s.eventsOf('barge_in')).toEqual([]);
    // speech_started is a softer signal: under CPU load this test's own playback jitters, the echo
    // path moves, and the canceller re-converges; a stray onset may then be reported (bench/README).
    console.log(`echo only: ${s.eventsOf('speech_started').length} speech_started, 0 barge_in`);
    expect(s.eventsOf('mark')[0]!.msg['cleared']).toBe(false);
    await c.end();
  }, 30_000);
});

describe('barge-in in the Twilio dialect', () => {
  it('never flushes agent audio on its own: the agent decides, from marks, what was heard', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const texts: Record<string, unknown>[] = [];
    const conn = new Promise<WebSocket>((r) => wss.once('connection', r));
    const port = (wss.address() as { port: number }).port;
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: { agent: { url: `ws://127.0.0.1:${port}`, dialect: 'twilio' } },
    });
    const ws = await conn;
    ws.on('message', (d: Buffer) => texts.push(JSON.parse(d.toString()) as Record<string, unknown>));
    while (!texts.some((m) => m['event'] === 'start')) await sleep(5);
    const streamSid = texts.find((m) => m['event'] === 'start')!['streamSid'] as string;
    // 8 s of agent speech, µ-law 8 kHz, in one burst, then a mark
    const codes = new Uint8Array(agentSpeech8k.length);
    const { g711EncodeInto } = await import('../../codecs/src/index.js');
    g711EncodeInto('ulaw', agentSpeech8k, codes);
    ws.send(JSON.stringify({ event: 'media', streamSid, media: { payload: Buffer.from(codes).toString('base64') } }));
    ws.send(JSON.stringify({ event: 'mark', streamSid, mark: { name: 'utterance-end' } }));
    const { talkAt } = await phone(c, { seconds: 5, echoDelayMs: 60, talk: interruption, talkAtMs: 1500 });
    // The agent's audio kept playing through the interruption (well past the detector's window) ...
    const rx = c.received.filter((p) => p.pt === 0);
    expect(rx.filter((p) => p.arrivalMs > talkAt + 1000 && audible(p.payload)).length).toBeGreaterThan(25);
    // ... and the mark is still pending: the caller has not heard it all.
    expect(texts.filter((m) => m['event'] === 'mark')).toEqual([]);
    expect(await counter(gw, 'gateway_barge_ins_total', { cleared: 'false' })).toBeGreaterThanOrEqual(1);
    await c.end();
    wss.close();
  }, 20_000);
});
