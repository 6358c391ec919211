import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { ExotelPeer } from '../../../testkit/platforms/ExotelPeer.js';
import { sleep, ulaw } from '../../../testkit/platforms/Player.js';
import { TwilioPeer } from '../../../testkit/platforms/TwilioPeer.js';
import { VonagePeer } from '../../../testkit/platforms/VonagePeer.js';
import { fixture, xcorrPeak } from '../../helpers/audio.js';
import { counter, resampleAll, ulawRoundTrip, until } from '../../helpers/gateway.js';
import { gatewayWithAgent, sessionTo } from './scenario.js';

const TOKEN = 'twilio-test-auth-token';
process.env['TWILIO_AUTH_TOKEN'] = TOKEN;

const env = gatewayWithAgent({ dspWorkers: 2 }); // the production default on 2 cores
const from = '+14155550123';

const drops = (reason: string) => counter(env.gw, 'gateway_drops_total', { reason });
const rejected = (reason: string) => counter(env.gw, 'gateway_requests_rejected_total', { reason });
const speech = fixture('caller-en-us-8k.wav').samples;

/** A raw socket to a stream endpoint (for what no platform would send). */
async function raw(path: string): Promise<{ ws: WebSocket; closed: Promise<number> }> {
  const ws = new WebSocket(`${env.url.replace('http', 'ws')}${path}`);
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  await new Promise((r) => ws.once('open', r));
  return { ws, closed };
}

describe('bad input on the platform edges, with a healthy call alongside', () => {
  it('refuses or counts every kind of bad input, and the healthy call is untouched', async () => {
    // The healthy call: 9 s of speech in real time, a reply with a mark in the middle.
    const healthy = await TwilioPeer.call({ gateway: env.url, from, to: '+14155550900', authToken: TOKEN });
    const hs = await sessionTo(env.agent, '+14155550900');
    const hcall = env.gw.calls.get(String(hs.start!['callId']))!;
    const input = speech.subarray(0, 8000 * 9);
    const healthyDone = healthy.stream(input);
    const t0 = performance.now();

    // 1. A stream for an unknown call (no token, a made-up token, a token used twice): refused, nothing created.
    const unknownBefore = await rejected('NOT_FOUND');
    for (const token of [undefined, 'deadbeef'.repeat(4)]) {
      const p = new TwilioPeer();
      await p.connect(`${env.url.replace('http', 'ws')}/v1/edges/twilio/stream`, token === undefined ? {} : { gw: token });
      await until(() => p.closed, 2000, 'unknown call refused');
      expect(p.closeCode).toBe(1008);
    }
    const answered = await TwilioPeer.answer({ gateway: env.url, from, to: '+14155550901', authToken: TOKEN }, 'CA1', 'AC1');
    const token = /<Parameter name="gw" value="([0-9a-f]+)"\/>/.exec(answered.body)![1]!;
    const first = new TwilioPeer();
    await first.connect(`${env.url.replace('http', 'ws')}/v1/edges/twilio/stream`, { gw: token });
    const replay = new TwilioPeer();
    await replay.connect(`${env.url.replace('http', 'ws')}/v1/edges/twilio/stream`, { gw: token });
    await until(() => replay.closed, 2000, 'replayed token refused');
    expect(await rejected('NOT_FOUND')).toBe(unknownBefore + 3);
    expect(first.closed).toBe(false);
    first.hangup();

    // 2. Events before start: counted; too many close the socket; a start afterwards still works.
    const ctlBefore = await drops('CONTROL_INVALID');
    const early = await raw('/v1/edges/twilio/stream');
    early.ws.send(
      JSON.stringify({
        event: 'media',
        sequenceNumber: '2',
        streamSid: 'MZ1',
        media: { track: 'inbound', chunk: '1', timestamp: '0', payload: 'AAAA' },
      }),
    );
    early.ws.send(JSON.stringify({ event: 'mark', sequenceNumber: '3', streamSid: 'MZ1', mark: { name: 'x' } }));
    await sleep(50);
    expect(await drops('CONTROL_INVALID')).toBe(ctlBefore + 2);
    for (let i = 0; i < 60; i++)
      early.ws.send(JSON.stringify({ event: 'dtmf', streamSid: 'MZ1', sequenceNumber: '4', dtmf: { track: 'inbound_track', digit: '1' } }));
    expect(await early.closed).toBe(1008);

    // 3. Malformed JSON and base64, and media of no samples, inside a live call: dropped, counted, the call goes on.
    const b = await TwilioPeer.call({ gateway: env.url, from, to: '+14155550902', authToken: TOKEN });
    const bs = await sessionTo(env.agent, '+14155550902');
    const [ctl, badFrame] = [await drops('CONTROL_INVALID'), await drops('CODEC_BAD_FRAME')];
    b.send('{"event":"media", oops');
    b.send({
      event: 'media',
      sequenceNumber: '9',
      streamSid: b.streamSid,
      media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '!!not base64!!' },
    });
    b.send({
      event: 'media',
      sequenceNumber: '9',
      streamSid: b.streamSid,
      media: { track: 'inbound', chunk: '1', timestamp: '0', payload: 'AAA' },
    });
    b.send({
      event: 'media',
      sequenceNumber: '9',
      streamSid: b.streamSid,
      media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '' },
    });
    b.send({ event: 'dance', streamSid: b.streamSid });
    // odd sizes are re-framed: 100-byte µ-law messages make 20 ms frames all the same
    for (let k = 0; k < 16; k++) b.media(ulaw.encode(speech.subarray(k * 100, (k + 1) * 100)));
    await bs.until(() => bs.frames.length >= 10, 2000, 'frames from 100-byte media');
    expect(await drops('CONTROL_INVALID')).toBe(ctl + 4);
    expect(await drops('CODEC_BAD_FRAME')).toBe(badFrame + 1);

    // 4. Wrong sizes on L16 streams: half a sample (Vonage binary, Exotel base64).
    const v = await VonagePeer.call({ gateway: env.url, from, to: '+14155550903' });
    await sessionTo(env.agent, '+14155550903');
    v.send(Uint8Array.of(1, 2, 3));
    const e = await ExotelPeer.call({ gateway: env.url, from, to: '+14155550904' });
    await sessionTo(env.agent, '+14155550904');
    e.send({ event: 'media', sequence_number: '3', stream_sid: e.streamSid, media: { chunk: '1', timestamp: '0', payload: 'AAAA' } });
    await sleep(100);
    expect(await drops('CODEC_BAD_FRAME')).toBe(badFrame + 2);
    expect(await drops('CONTROL_INVALID')).toBe(ctl + 5);
    expect(v.closed || e.closed).toBe(false);
    v.hangup();
    e.hangup();

    // 5. An oversized message closes that socket (FRAME_TOO_LARGE) and ends its call only.
    const tooLarge = await drops('FRAME_TOO_LARGE');
    b.send({
      event: 'media',
      sequenceNumber: '10',
      streamSid: b.streamSid,
      media: { track: 'inbound', chunk: '2', timestamp: '20', payload: 'A'.repeat(96 * 1024) },
    });
    await until(() => b.closed, 2000, 'oversized refused');
    await bs.until(() => bs.closed, 2000, 'its call ended');
    expect(await drops('FRAME_TOO_LARGE')).toBe(tooLarge + 1);

    // The healthy call heard none of it.
    await healthyDone;
    await hs.until(() => hs.frames.length >= 448, 3000, 'healthy frames');
    const gaps = hs.frames.slice(1).map((f, i) => f.atMs - hs.frames[i]!.atMs);
    const ref = await resampleAll(ulawRoundTrip(input), 8000, 24000);
    const { peak } = xcorrPeak(ref.pcm.subarray(24000, 24000 * 8), hs.audio().subarray(24000), 1200);
    console.log(
      `healthy call beside the bad input: ${hs.frames.length} frames in ${(performance.now() - t0).toFixed(0)} ms, largest gap ${Math.max(...gaps).toFixed(1)} ms, xcorr ${peak.toFixed(3)}`,
    );
    expect(peak).toBeGreaterThanOrEqual(0.9);
    expect(hcall.stats.dropped).toBe(0); // (frame gaps are reported, not asserted: the cores are shared)
    expect(hcall.inbound.stats).toMatchObject({ lost: 0, late: 0, duplicate: 0 });
    expect(hs.closed).toBe(false);
    healthy.hangup();
  }, 40_000);

  it('a stream flooding dtmf: the agent gets no more digits than a person can press, the rest is dropped (EDGE_FLOOD) and the stream closed (1008)', async () => {
    const healthy = await TwilioPeer.call({ gateway: env.url, from, to: '+14155550920', authToken: TOKEN });
    const hs = await sessionTo(env.agent, '+14155550920');
    const hcall = env.gw.calls.get(String(hs.start!['callId']))!;
    const input = speech.subarray(0, 8000 * 4);
    const healthyDone = healthy.stream(input);
    const p = await TwilioPeer.call({ gateway: env.url, from, to: '+14155550921', authToken: TOKEN });
    const s = await sessionTo(env.agent, '+14155550921');
    const [flood0, invalid0] = [await drops('EDGE_FLOOD'), await drops('CONTROL_INVALID')];
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) p.dtmf('5');
    await until(() => p.closed, 5000, 'the flooding stream to be closed');
    await s.until(() => s.closed, 3000, 'its call to end');
    const digits = s.eventsOf('dtmf').length;
    const flooded = (await drops('EDGE_FLOOD')) - flood0;
    // caller digits are capped at 10/s with 20 at once (InboundLeg), however many the platform sends
    const bound = 20 + (10 * (performance.now() - t0)) / 1000;
    console.log(
      `dtmf flood: 5000 sent, ${digits} reached the agent (at most ${bound.toFixed(0)}), ${flooded} dropped as EDGE_FLOOD, closed ${p.closeCode}`,
    );
    expect(p.closeCode).toBe(1008);
    expect(digits).toBeGreaterThan(0);
    expect(digits).toBeLessThanOrEqual(bound);
    expect(flooded).toBeGreaterThanOrEqual(500); // the stream is closed 500 messages over its budgets
    expect((await drops('CONTROL_INVALID')) - invalid0).toBe(0);
    // the healthy call beside it: every frame, nothing dropped
    await healthyDone;
    await hs.until(() => hs.frames.length >= 195, 3000, 'healthy frames');
    expect(hcall.stats.dropped).toBe(0);
    expect(hcall.inbound.stats).toMatchObject({ lost: 0, late: 0, duplicate: 0 });
    expect(hs.closed).toBe(false);
    healthy.hangup();
  }, 30_000);

  it('takes a 10 s burst (a platform catching up after a stall): every frame reaches the agent, paced, nothing dropped, the call goes on', async () => {
    const healthy = await TwilioPeer.call({ gateway: env.url, from, to: '+14155550910', authToken: TOKEN });
    const hs = await sessionTo(env.agent, '+14155550910');
    const healthyDone = healthy.stream(speech.subarray(0, 8000 * 6));
    const hcall = env.gw.calls.get(String(hs.start!['callId']))!;
    const p = await TwilioPeer.call({ gateway: env.url, from, to: '+14155550911', authToken: TOKEN });
    const s = await sessionTo(env.agent, '+14155550911');
    const overload = await drops('DSP_OVERLOAD');
    await sleep(500);
    const burst = new Int16Array(8000 * 10);
    for (let o = 0; o < burst.length; o += speech.length) burst.set(speech.subarray(0, Math.min(speech.length, burst.length - o)), o);
    const before = s.frames.length;
    const t0 = performance.now();
    for (let k = 0; k < 500; k++) p.media(ulaw.encode(burst.subarray(k * 160, (k + 1) * 160)));
    await s.until(() => s.frames.length >= before + 500, 8000, 'the whole burst');
    const tookMs = s.frames[before + 499]!.atMs - t0;
    // then the call goes on in real time
    await p.stream(speech.subarray(0, 8000));
    await s.until(() => s.frames.length >= before + 550, 2000, 'after the burst');
    await healthyDone;
    const gaps = hs.frames.slice(1).map((f, i) => f.atMs - hs.frames[i]!.atMs);
    const heard = s.audio().subarray(before * 480, (before + 500) * 480);
    const ref = await resampleAll(ulawRoundTrip(burst), 8000, 24000);
    const { peak } = xcorrPeak(ref.pcm.subarray(24000, 24000 * 9), heard.subarray(24000), 1200);
    console.log(
      `10 s burst: delivered in ${tookMs.toFixed(0)} ms, xcorr ${peak.toFixed(3)}; healthy call's largest gap ${Math.max(...gaps).toFixed(1)} ms`,
    );
    expect(await drops('DSP_OVERLOAD')).toBe(overload);
    expect(tookMs).toBeGreaterThan(1500); // paced (4× real time after the first 0.5 s), not at once
    expect(tookMs).toBeLessThan(6000);
    expect(peak).toBeGreaterThanOrEqual(0.9);
    expect(hcall.stats.dropped).toBe(0);
    expect(s.closed || hs.closed).toBe(false);
    p.hangup();
    healthy.hangup();
  }, 30_000);
});
