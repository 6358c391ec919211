import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { TestAgent, type AgentSession } from '../../testkit/TestAgent.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { energy, fixture, xcorrPeak } from '../helpers/audio.js';
import { counter, resampleAll, startGateway, ulawRoundTrip, until } from '../helpers/gateway.js';

/**
 * Fault injection: each case hits the gateway while one healthy call streams speech alongside it
 * for the whole file. After every case the healthy call must still be active, with no packet
 * lost, dropped or concealed, one agent frame per packet sent, and audio that still matches.
 */

const MAX_CALLS = 8;
let gw: Gateway;
let url: string;
let agent: TestAgent;

// The healthy caller: three voices back to back, looped.
const voices = ['caller-en-us-8k.wav', 'caller-en-f-8k.wav', 'caller-en-gb-8k.wav'].map((f) => fixture(f).samples);
const LOOP = Int16Array.from(voices.flatMap((v) => [...v]));
const HEALTHY_SECONDS = 90;
const healthyPcm = new Int16Array(8000 * HEALTHY_SECONDS).map((_, i) => LOOP[i % LOOP.length]!);
let healthy: RtpCaller;
let healthySession: AgentSession;
let healthyRef: Float32Array;
const stopHealthy = new AbortController();
let healthyDone: Promise<void>;

async function stats(
  callId: string,
): Promise<{ state: string; packets: { in: number; lost: number; dropped: number }; concealedFrames: number; framesToAgent: number }> {
  return (await (await fetch(`${url}/v1/calls/${callId}`)).json()) as never;
}

/** The healthy call is untouched: every packet became one frame, nothing lost, and the audio still matches. */
async function expectHealthyIntact(): Promise<void> {
  const sent = healthy.sent.length;
  await until(() => healthySession.frames.length >= sent, 1000, 'the healthy call to catch up');
  const st = await stats(healthy.callId);
  expect(st.state).toBe('active');
  expect(st.packets.lost).toBe(0);
  expect(st.packets.dropped).toBe(0);
  expect(st.concealedFrames).toBe(0);
  // the loudest 2 s of the last 6 s, against the reference at the same place (±50 ms)
  const heard = Int16Array.from(healthySession.frames.flatMap((f) => [...f.pcm]));
  const end = heard.length - 24000 / 2;
  let best = end - 48000;
  for (let o = end - 6 * 24000; o <= end - 48000; o += 4800)
    if (o >= 0 && energy(healthyRef.subarray(o, o + 48000)) > energy(healthyRef.subarray(best, best + 48000))) best = o;
  const { peak } = xcorrPeak(healthyRef.subarray(best, best + 48000), heard.subarray(Math.max(0, best - 1200)), 2400);
  expect(peak).toBeGreaterThanOrEqual(0.9);
}

beforeAll(async () => {
  ({ gw, url } = await startGateway({
    maxCalls: MAX_CALLS,
    callsPerSecond: 10,
    mediaTimeoutMs: 1500,
    agentConnectTimeoutMs: 500,
    rtpPacketsPerSecond: 150,
  }));
  agent = await TestAgent.listen();
  healthyRef = (await resampleAll(ulawRoundTrip(healthyPcm), 8000, 24000)).pcm;
  healthy = await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: agent.url }, bargeIn: { enabled: false } } });
  healthySession = await agent.session(healthy.callId);
  healthyDone = healthy.stream(healthyPcm, { signal: stopHealthy.signal });
  await sleep(3000);
}, 30_000);

afterAll(async () => {
  stopHealthy.abort();
  await healthyDone;
  await healthy.end();
  await gw.close();
  await agent.close();
});

const speech = voices[0]!;
const route = (extra: Record<string, unknown> = {}) => ({ agent: { url: agent.url }, bargeIn: { enabled: false }, ...extra });
const drops = (reason: string) => counter(gw, 'gateway_drops_total', { reason });

describe('bad input, with a healthy call alongside', () => {
  it('malformed RTP of every kind is dropped and counted by reason; the bad call itself keeps going', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const reasons = [
      'RTP_TRUNCATED',
      'RTP_BAD_VERSION',
      'RTP_CSRC_OVERRUN',
      'RTP_EXTENSION_OVERRUN',
      'RTP_BAD_PADDING',
      'RTP_UNKNOWN_PAYLOAD_TYPE',
      'RTP_SSRC_CHANGED',
    ];
    const before = await Promise.all(reasons.map(drops));
    const streaming = c.stream(speech.subarray(0, 8000 * 2));
    await sleep(300);
    c.sendBytes(Uint8Array.of(0x80, 0, 1)); // truncated header
    c.sendBytes(Uint8Array.from([0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9])); // version 1
    c.sendBytes(Uint8Array.from([0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9])); // 15 CSRCs claimed, none there
    c.sendBytes(Uint8Array.from([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x40])); // extension of 256 bytes claimed
    c.sendBytes(Uint8Array.from([0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9, 0xff])); // padding longer than the packet
    c.sendRaw({ marker: false, payloadType: 96, sequenceNumber: 7, timestamp: 0, ssrc: 1 }, new Uint8Array(20)); // unknown PT
    await streaming;
    // a new SSRC mid-call (an edge restarting its stream), with a sequence jump and a wrap
    for (let k = 0; k < 50; k++) {
      const pcm = speech.subarray(k * 160, (k + 1) * 160);
      const codes = new Uint8Array(160);
      (await import('../../codecs/src/index.js')).g711EncodeInto('ulaw', pcm, codes);
      c.sendRaw(
        {
          marker: k === 0,
          payloadType: 0,
          sequenceNumber: (65_500 + k) & 0xffff,
          timestamp: (4_294_960_000 + 160 * k) >>> 0,
          ssrc: 0xabcdef,
        },
        codes,
      );
      await sleep(20);
    }
    const after = await Promise.all(reasons.map(drops));
    expect(Object.fromEntries(reasons.map((r, i) => [r, after[i]! - before[i]!]))).toEqual(Object.fromEntries(reasons.map((r) => [r, 1])));
    // every good packet, across the SSRC change and the wrap, still became a frame
    await s.until(() => s.frames.length >= 100 + 50, 2000, 'frames after the junk');
    expect((await stats(c.callId)).state).toBe('active');
    await c.end();
    await expectHealthyIntact();
  }, 20_000);

  it('broken JSON and unknown messages from an agent get an error event, and the call goes on', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    s.ws.send('{"type":');
    s.send({ type: 'frobnicate' });
    s.send({ type: 'mark' }); // missing name
    await s.until(() => s.eventsOf('error').length >= 3, 2000, 'three errors');
    expect(s.eventsOf('error').map((e) => e.msg['code'])).toEqual(['CONTROL_INVALID', 'CONTROL_INVALID', 'CONTROL_INVALID']);
    await c.stream(speech.subarray(0, 1600));
    await s.until(() => s.frames.length >= 10, 2000, 'frames');
    await c.end();
    await expectHealthyIntact();
  });

  it('an agent flooding 10,000 marks is cut off and counted (AGENT_FLOOD); the other calls keep their 20 ms clock', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const before = await drops('AGENT_FLOOD');
    const from = healthy.received.length;
    const closed = new Promise<number>((r) => s.ws.once('close', (code) => r(code)));
    for (let i = 0; i < 10_000; i++) s.ws.send(`{"type":"mark","name":"m${i}"}`);
    expect(await closed).toBe(1008);
    await sleep(500);
    const flooded = (await drops('AGENT_FLOOD')) - before;
    // The healthy call's outbound packets kept coming on the 20 ms grid while the flood was handled.
    const rx = healthy.received.slice(from);
    let maxGap = 0;
    for (let i = 1; i < rx.length; i++) maxGap = Math.max(maxGap, rx[i]!.arrivalMs - rx[i - 1]!.arrivalMs);
    console.log(`mark flood: ${flooded} messages dropped, socket closed 1008; healthy call's largest outbound gap ${maxGap.toFixed(1)} ms`);
    expect(flooded).toBeGreaterThan(1000);
    expect(rx.length).toBeGreaterThan(20);
    expect(maxGap).toBeLessThan(200);
    await c.end();
    await expectHealthyIntact();
  });

  it('an agent URL pointing inside (cloud metadata) is not dialled: AGENT_URL_FORBIDDEN, the call ends with a reason', async () => {
    const before = await drops('AGENT_URL_FORBIDDEN');
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'ws',
      route: route({ agent: { url: 'ws://169.254.169.254/latest/meta-data' } }),
    });
    await until(() => c.stopReason !== null, 10_000, 'the call to end');
    expect(c.stopReason).toBe('agent_unreachable');
    expect((await drops('AGENT_URL_FORBIDDEN')) - before).toBe(1);
    await expectHealthyIntact();
  });

  it('an oversized frame on the edge WebSocket closes that socket only, counted as FRAME_TOO_LARGE', async () => {
    const before = await drops('FRAME_TOO_LARGE');
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    c.sendBytes(new Uint8Array(64 * 1024));
    await until(() => gw.calls.get(c.callId) === undefined, 2000, 'the call to end');
    expect((await drops('FRAME_TOO_LARGE')) - before).toBe(1);
    await expectHealthyIntact();
  });

  it('an agent sending a message over the 1 MiB limit is cut off (1009) and counted; the call hangs up with a reason', async () => {
    const before = await drops('FRAME_TOO_LARGE');
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    const s = await agent.session(c.callId);
    s.sendAudio(new Int16Array(600_000)); // 1.2 MB
    await until(() => c.stopReason !== null, 3000, 'the call to end');
    expect(c.stopReason).toBe('agent_closed');
    expect((await drops('FRAME_TOO_LARGE')) - before).toBe(1);
    await expectHealthyIntact();
  });

  it('a UDP flood on one call is rate-limited on that call alone (RTP_RATE_LIMITED)', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const before = await drops('RTP_RATE_LIMITED');
    const frame = speech.subarray(8000, 8160);
    for (let k = 0; k < 3000; k++) {
      c.sendFrame(frame, k);
      if (k % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await sleep(500);
    const limited = (await drops('RTP_RATE_LIMITED')) - before;
    console.log(`flood: 3000 packets in a burst, ${limited} rate-limited, ${s.frames.length} frames reached the agent`);
    // (the kernel may drop part of the burst before the gateway sees it)
    expect(limited).toBeGreaterThan(500);
    expect(s.frames.length).toBeLessThan(250);
    await c.end();
    await expectHealthyIntact();
  }, 15_000);
});

describe('limits, with a healthy call alongside', () => {
  it('answers 503 AT_CAPACITY with a clear body once MAX_CALLS are live', async () => {
    await sleep(1000); // let the call-setup bucket refill
    const extra: RtpCaller[] = [];
    while (gw.calls.size < MAX_CALLS)
      extra.push(await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: 'builtin:echo' } } }));
    const r = await fetch(`${url}/v1/calls`, { method: 'POST', body: JSON.stringify({ codec: 'PCMU' }) });
    expect(r.status).toBe(503);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('AT_CAPACITY');
    expect(body.error.message).toContain(`${MAX_CALLS} calls`);
    expect(await counter(gw, 'gateway_requests_rejected_total', { reason: 'AT_CAPACITY' })).toBeGreaterThanOrEqual(1);
    await Promise.all(extra.map((c) => c.end()));
    await until(() => gw.calls.size === 1, 2000, 'the extra calls to end');
    await expectHealthyIntact();
  });

  it('answers 429 RATE_LIMITED to a call-setup flood, and takes calls again a moment later', async () => {
    await sleep(2000);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        fetch(`${url}/v1/calls`, { method: 'POST', body: JSON.stringify({ codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } }) }),
      ),
    );
    const codes = answers.map((a) => a.status);
    const created = await Promise.all(
      answers.filter((a) => a.status === 201).map(async (a) => ((await a.json()) as { callId: string }).callId),
    );
    for (const id of created) await fetch(`${url}/v1/calls/${id}`, { method: 'DELETE' });
    expect(codes.filter((c) => c === 429).length).toBeGreaterThan(0);
    expect(codes.every((c) => c === 201 || c === 429 || c === 503)).toBe(true);
    await sleep(1000);
    const again = await fetch(`${url}/v1/calls`, {
      method: 'POST',
      body: JSON.stringify({ codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } }),
    });
    expect(again.status).toBe(201);
    await fetch(`${url}/v1/calls/${((await again.json()) as { callId: string }).callId}`, { method: 'DELETE' });
    await expectHealthyIntact();
  });
});

describe('faults, with a healthy call alongside', () => {
  it('agent unreachable: retried, then the fallback agent takes the call (caller audio held meanwhile)', async () => {
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: route({ agent: { url: 'ws://127.0.0.1:9/', retries: 1 }, fallback: { url: agent.url } }),
    });
    const streaming = c.stream(speech.subarray(0, 8000 * 2));
    const s = await agent.session(c.callId, 5000);
    await streaming;
    await s.until(() => s.frames.length >= 90, 2000, 'frames at the fallback');
    expect(await counter(gw, 'gateway_agent_failovers_total', { to: 'retry' })).toBeGreaterThanOrEqual(1);
    expect(await counter(gw, 'gateway_agent_failovers_total', { to: 'fallback' })).toBeGreaterThanOrEqual(1);
    await c.end();
    await expectHealthyIntact();
  });

  it('agent slow to answer (accepts TCP, never upgrades): hung up after AGENT_CONNECT_TIMEOUT_MS with a reason', async () => {
    const sockets: net.Socket[] = [];
    const tarpit = net.createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => tarpit.listen(0, '127.0.0.1', r));
    const port = (tarpit.address() as net.AddressInfo).port;
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route({ agent: { url: `ws://127.0.0.1:${port}/` } }) });
    const t0 = performance.now();
    await until(() => c.stopReason !== null, 3000, 'the call to end');
    expect(c.stopReason).toBe('agent_unreachable');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
    for (const s of sockets) s.destroy();
    tarpit.close();
    await expectHealthyIntact();
  });

  it('agent closing mid-call: with retries the agent is dialled again and the call continues; without, it hangs up', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route({ agent: { url: agent.url, retries: 1 } }) });
    const first = await agent.session(c.callId);
    const streaming = c.stream(speech.subarray(0, 8000 * 2));
    await sleep(500);
    first.ws.close(1011, 'crashed');
    await until(() => agent.sessions.filter((x) => x.start?.['callId'] === c.callId).length === 2, 3000, 'the redial');
    const second = agent.sessions.filter((x) => x.start?.['callId'] === c.callId)[1]!;
    await streaming;
    await second.until(() => second.frames.length >= 50, 2000, 'frames at the redialled agent');
    expect(c.stopReason).toBeNull();
    await c.end();

    const d = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    const only = await agent.session(d.callId);
    only.ws.close(1011, 'crashed');
    await until(() => d.stopReason !== null, 3000, 'the call to end');
    expect(d.stopReason).toBe('agent_closed');
    await expectHealthyIntact();
  });

  it('agent not reading: once the socket buffers and the 512 KiB send limit fill, caller frames are dropped and counted', async () => {
    // A dial-out agent whose socket stops reading after the start message.
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => ws.once('message', () => (ws as unknown as { _socket: net.Socket })._socket.pause()));
    const port = (wss.address() as { port: number }).port;
    // 48 kHz frames (1920 B) fill the loopback buffers and the 512 KiB send limit soonest
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: route({ agent: { url: `ws://127.0.0.1:${port}` }, sampleRate: 48000 }),
    });
    const before = await drops('AGENT_BACKPRESSURE');
    // Push the frames faster than real time (within the per-call rate limit's burst) until drops show.
    let k = 0;
    const t0 = performance.now();
    while ((await drops('AGENT_BACKPRESSURE')) === before && performance.now() - t0 < 25_000) {
      for (let i = 0; i < 7; i++) c.sendFrame(speech.subarray(0, 160), k++);
      await sleep(50);
    }
    const dropped = (await drops('AGENT_BACKPRESSURE')) - before;
    console.log(
      `agent not reading: drops began after ${k} frames (${((k * 1920) / 1024).toFixed(0)} KiB, most of it in the loopback socket buffers)`,
    );
    expect(dropped).toBeGreaterThan(0);
    expect((await stats(c.callId)).state).toBe('active');
    await c.end();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    await expectHealthyIntact();
  }, 40_000);

  it('edge gone silent: the media timeout ends its call', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    await c.stream(speech.subarray(0, 1600));
    const t0 = performance.now();
    await until(() => c.stopReason !== null, 4000, 'the media timeout');
    expect(c.stopReason).toBe('media_timeout');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    await expectHealthyIntact();
  });

  it('a vanished WebSocket edge (TCP reset) ends its call and nothing else', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/edge`);
    await new Promise((r) => ws.once('open', r));
    const started = new Promise<string>((r) =>
      ws.once('message', (d: Buffer) => r((JSON.parse(d.toString()) as { callId: string }).callId)),
    );
    ws.send(JSON.stringify({ event: 'start', codec: 'PCMU', route: route() }));
    const id = await started;
    ws.terminate();
    await until(() => gw.calls.get(id) === undefined, 2000, 'the call to end');
    await expectHealthyIntact();
  });
});
