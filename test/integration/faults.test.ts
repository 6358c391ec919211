import dgram from 'node:dgram';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { TestAgent, type AgentSession } from '../../testkit/TestAgent.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { energy, fixture, xcorrPeak } from '../helpers/audio.js';
import { parseTrunks } from '../../gateway/src/edge/sip/trunks.js';
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
// (longer than the file takes on a loaded machine: the stream ends with afterAll, not before)
const HEALTHY_SECONDS = 180;
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
  expect((await stats(healthy.callId)).state, 'the healthy call is still up').toBe('active');
  await until(() => healthySession.frames.length >= sent, 1000, 'the healthy call to catch up');
  const st = await stats(healthy.callId);
  expect(st.state).toBe('active');
  expect(st.packets.lost).toBe(0);
  expect(st.packets.dropped).toBe(0);
  expect(st.concealedFrames).toBe(0);
  // the loudest 2 s of the last 6 s, against the reference at the same place (±50 ms)
  const heard = healthySession.audio();
  const end = heard.length - 24000 / 2;
  let best = end - 48000;
  for (let o = end - 6 * 24000; o <= end - 48000; o += 4800)
    if (o >= 0 && energy(healthyRef.subarray(o, o + 48000)) > energy(healthyRef.subarray(best, best + 48000))) best = o;
  const { peak } = xcorrPeak(healthyRef.subarray(best, best + 48000), heard.subarray(Math.max(0, best - 1200)), 2400);
  expect(peak).toBeGreaterThanOrEqual(0.9);
}

/**
 * Where a window on the healthy call's outbound starts: the slots the clock has skipped so far, then
 * its packets so far (in that order: a skip counted before is seen on the wire before, or as the
 * window's first packet, which has no step to judge).
 */
async function healthyWindowStart(): Promise<{ index: number; clockSkipped: number }> {
  const clockSkipped = await counter(gw, 'gateway_playout_slots_skipped_total');
  return { index: healthy.received.length, clockSkipped };
}

/**
 * The healthy call's outbound packets since `from`, on the 20 ms grid: each one the next sequence
 * number, a whole number of 20 ms slots (160 timestamp units at 8 kHz) after the last. The playout
 * clock catches up a stall of under 80 ms with packets back to back; a longer one skips slots, which
 * shows here as a step of more than one slot (one per stall, however long), and is counted by the
 * clock (`gateway_playout_slots_skipped_total`).
 */
async function healthyGrid(from: { index: number; clockSkipped: number }): Promise<{
  packets: number;
  offGrid: number;
  stalls: number;
  skipped: number;
  clockSkipped: number;
  maxGapMs: number;
}> {
  const rx = healthy.received.slice(from.index);
  const g = { packets: rx.length, offGrid: 0, stalls: 0, skipped: 0, clockSkipped: 0, maxGapMs: 0 };
  for (let i = 1; i < rx.length; i++) {
    const [a, b] = [rx[i - 1]!, rx[i]!];
    const slots = ((b.ts - a.ts) >>> 0) / 160;
    if (((b.seq - a.seq) & 0xffff) !== 1 || !Number.isInteger(slots) || slots < 1) g.offGrid++;
    else if (slots > 1) {
      g.stalls++;
      g.skipped += slots - 1;
    }
    g.maxGapMs = Math.max(g.maxGapMs, b.arrivalMs - a.arrivalMs);
  }
  g.clockSkipped = (await counter(gw, 'gateway_playout_slots_skipped_total')) - from.clockSkipped;
  return g;
}

/**
 * One healthy outbound packet per 20 ms across `ms` (generous: at least a quarter), every one on the
 * grid, no slot skipped but those the clock counted after a stall of the loop, and under a second of
 * them: a flood handler blocking the loop that long would skip more. (Four busy loops on the 2 cores
 * made this file's windows skip up to 25.) How long the other calls wait is measured by
 * `npm run bench:hostile` (bench/README.md), not asserted here.
 */
function expectHealthyOnGrid(g: Awaited<ReturnType<typeof healthyGrid>>, ms: number, what: string): void {
  console.log(
    `${what}: healthy call's ${g.packets} outbound packets, ${g.offGrid} off the 20 ms grid, ${g.stalls} stalls skipping ${g.skipped} slots (the clock skipped ${g.clockSkipped}), largest gap ${g.maxGapMs.toFixed(1)} ms`,
  );
  expect(g.packets).toBeGreaterThan(ms / 80);
  expect(g.offGrid).toBe(0);
  expect(g.skipped).toBeLessThanOrEqual(g.clockSkipped);
  expect(g.skipped).toBeLessThan(50);
}

/** RTP packets a call may admit in `ms` (rtpPacketsPerSecond 150 above, a burst of 75): what a flood may get through. */
const admissible = (ms: number): number => 75 + (150 * ms) / 1000;

beforeAll(async () => {
  ({ gw, url } = await startGateway({
    maxCalls: MAX_CALLS,
    callsPerSecond: 10,
    // long enough that the healthy call outlives a flood sent from this same process on a loaded machine
    mediaTimeoutMs: 4000,
    agentConnectTimeoutMs: 500,
    rtpPacketsPerSecond: 150,
    // the test agents listen on 127.0.0.1; the SIP dial-out targets below on 127.0.0.2, not allowed
    dialAllow: ['127.0.0.1', '::1'],
    sip: {
      host: '127.0.0.1',
      port: 0,
      tlsPort: null,
      publicHost: '127.0.0.1',
      trunks: parseTrunks(undefined),
      digestSecret: null,
      digestAlgorithms: ['SHA-256', 'MD5'],
    },
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
    const from = await healthyWindowStart();
    // the caller talks meanwhile: its call must not end by MEDIA_TIMEOUT_MS while the flood is handled
    const talking = c.stream(speech.subarray(0, 8000 * 3));
    const t0 = performance.now();
    const closed = new Promise<number>((r) => s.ws.once('close', (code) => r(code)));
    for (let i = 0; i < 10_000; i++) s.ws.send(`{"type":"mark","name":"m${i}"}`);
    expect(await closed).toBe(1008);
    await sleep(500);
    const flooded = (await drops('AGENT_FLOOD')) - before;
    console.log(`mark flood: ${flooded} messages dropped, socket closed 1008, ${s.eventsOf('mark').length} marks echoed`);
    expect(flooded).toBeGreaterThan(1000);
    // The healthy call's outbound packets kept coming on the 20 ms grid while the flood was handled.
    expectHealthyOnGrid(await healthyGrid(from), performance.now() - t0, 'mark flood');
    await talking;
    await c.end();
    await expectHealthyIntact();
  });

  it("an agent's burst within its budget is handled whole and in order, a batch per turn: 3 s of audio and 50 marks at once", async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    const s = await agent.session(c.callId);
    const before = await drops('AGENT_FLOOD');
    const from = await healthyWindowStart();
    const reply = fixture('agent-reply-24k.wav').samples;
    // the caller talks meanwhile (a silent edge would end the call after MEDIA_TIMEOUT_MS)
    const talking = c.stream(speech.subarray(0, 8000 * 5));
    const t0 = performance.now();
    // 150 chunks of 20 ms at 24 kHz, a mark after every third: 200 messages in one burst
    for (let k = 0; k < 150; k++) {
      s.sendAudio(reply.subarray(480 * k, 480 * (k + 1)));
      if (k % 3 === 2) s.send({ type: 'mark', name: `m${(k - 2) / 3}` });
    }
    await s.until(() => s.eventsOf('mark').length >= 50, 8000, 'every mark');
    const marks = s.eventsOf('mark');
    expect(marks.map((m) => m.msg['name'])).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
    expect(marks.every((m) => m.msg['cleared'] !== true)).toBe(true);
    // each mark came back once the audio before it had played: the last after ~3 s, not at once
    expect(marks.at(-1)!.atMs - t0).toBeGreaterThan(2000);
    expect((await drops('AGENT_FLOOD')) - before).toBe(0);
    // the caller heard the reply (not silence) in those 3 s
    const loud = c.received.filter((p) => p.payload.some((b) => b !== 0xff && b !== 0x7f)).length;
    expect(loud).toBeGreaterThan(100);
    expectHealthyOnGrid(await healthyGrid(from), performance.now() - t0, 'agent burst');
    await talking;
    await c.end();
    await expectHealthyIntact();
  }, 15_000);

  it('a /v1/edge flooding control messages is answered for its first few, then cut off (1008, EDGE_FLOOD); its RTP flood is rate-limited', async () => {
    const [flood0, invalid0, limited0] = await Promise.all([drops('EDGE_FLOOD'), drops('CONTROL_INVALID'), drops('RTP_RATE_LIMITED')]);
    const from = await healthyWindowStart();
    const t0 = performance.now();
    // control: unknown events, 10,000 in a burst
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/edge`);
    await new Promise((r) => ws.once('open', r));
    const replies: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      if (!isBinary) replies.push(JSON.parse(d.toString()) as Record<string, unknown>);
    });
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(JSON.stringify({ event: 'start', codec: 'PCMU', route: route() }));
    await until(() => replies.some((m) => m['event'] === 'started'), 2000, 'started');
    const callId = String(replies.find((m) => m['event'] === 'started')!['callId']);
    for (let i = 0; i < 10_000 && ws.readyState === WebSocket.OPEN; i++) ws.send(`{"event":"noise","n":${i}}`);
    expect(await closed).toBe(1008);
    await until(() => gw.calls.get(callId) === undefined, 2000, 'its call to end');
    const flooded = (await drops('EDGE_FLOOD')) - flood0;
    const invalid = (await drops('CONTROL_INVALID')) - invalid0;
    console.log(`edge control flood: ${invalid} answered CONTROL_INVALID, ${flooded} dropped EDGE_FLOOD, then closed 1008`);
    expect(invalid).toBeGreaterThan(0);
    expect(invalid).toBeLessThanOrEqual(40); // the budget's burst (20) and what refilled meanwhile
    expect(flooded).toBeGreaterThanOrEqual(100 - invalid);
    expect(replies.filter((m) => m['event'] === 'error' && m['code'] === 'CONTROL_INVALID').length).toBe(invalid);
    expect(replies.at(-1)).toMatchObject({ event: 'error', code: 'EDGE_FLOOD' });

    // RTP: 3000 packets in a burst on another /v1/edge call, limited per call as over UDP
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    await agent.session(c.callId); // its agent is connected before the flood
    const frame = speech.subarray(8000, 8160);
    const t1 = performance.now();
    for (let k = 0; k < 3000; k++) c.sendFrame(frame, k);
    await sleep(1000);
    const admitted = (await stats(c.callId)).packets.in;
    const limited = (await drops('RTP_RATE_LIMITED')) - limited0;
    const bound = admissible(performance.now() - t1);
    console.log(`edge RTP flood: 3000 packets, ${limited} rate-limited, ${admitted} admitted (at most ${bound.toFixed(0)})`);
    expect(limited).toBeGreaterThan(3000 - bound);
    expect(admitted).toBeLessThanOrEqual(bound);
    expect(c.stopReason).toBeNull();
    expectHealthyOnGrid(await healthyGrid(from), performance.now() - t0, 'edge floods');
    await c.end();
    await expectHealthyIntact();
  }, 15_000);

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
    const t0 = performance.now();
    for (let k = 0; k < 3000; k++) {
      c.sendFrame(frame, k);
      if (k % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await sleep(500);
    const admitted = (await stats(c.callId)).packets.in;
    const limited = (await drops('RTP_RATE_LIMITED')) - before;
    // a loaded machine spreads the burst (the sender yields every 100 packets), and the bucket refills meanwhile
    const bound = admissible(performance.now() - t0);
    console.log(
      `flood: 3000 packets in a burst, ${limited} rate-limited, ${admitted} admitted (at most ${bound.toFixed(0)}), ${s.frames.length} frames to the agent (with concealment)`,
    );
    // (the kernel may drop part of the burst before the gateway sees it)
    expect(limited).toBeGreaterThan(500);
    expect(admitted).toBeLessThanOrEqual(bound);
    await c.end();
    await expectHealthyIntact();
  }, 15_000);
});

/** A UDP socket on `host` that records what reaches it. */
async function udpSink(host: string): Promise<{ sock: dgram.Socket; port: number; got: Buffer[] }> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, host, r));
  return { sock, port: sock.address().port, got };
}

describe('where the gateway sends, with a healthy call alongside', () => {
  it('an inside `remote` DIAL_ALLOW does not open hears nothing until media came from it; an allowed one is sent to at once', async () => {
    const place = async (phone: { port: number }, host: string) => {
      const res = await fetch(`${url}/v1/calls`, {
        method: 'POST',
        body: JSON.stringify({ codec: 'PCMU', remote: `${host}:${phone.port}`, route: route() }),
      });
      expect(res.status).toBe(201);
      const { callId, rtp } = (await res.json()) as { callId: string; rtp: { port: number } };
      const s = await agent.session(callId);
      s.sendAudio(fixture('agent-reply-24k.wav').samples.subarray(0, 24000)); // 1 s of reply queued
      return { callId, rtp };
    };
    // 127.0.0.2 is inside and not in this gateway's DIAL_ALLOW (127.0.0.1, ::1)
    const inside = await udpSink('127.0.0.2');
    const allowed = await udpSink('127.0.0.1');
    const [a, b] = [await place(inside, '127.0.0.2'), await place(allowed, '127.0.0.1')];
    await sleep(1000);
    expect(inside.got.length).toBe(0); // 50 packets/s would have gone there
    expect(allowed.got.length).toBeGreaterThan(10); // a receive-only peer still hears the agent
    // the inside phone speaks: from then on it is answered every 20 ms
    const pkt = new Uint8Array(12 + 160).fill(0xff);
    pkt.set([0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7]);
    for (let k = 0; k < 25; k++) {
      pkt[3] = k + 1;
      inside.sock.send(pkt, a.rtp.port, '127.0.0.1');
      await sleep(20);
    }
    await until(() => inside.got.length >= 10, 2000, 'packets to the phone');
    for (const c of [a, b]) await fetch(`${url}/v1/calls/${c.callId}`, { method: 'DELETE' });
    for (const k of [inside, allowed]) k.sock.close();
    // a name is refused: media is taken only from the address named, compared as received
    const named = await fetch(`${url}/v1/calls`, { method: 'POST', body: JSON.stringify({ codec: 'PCMU', remote: 'localhost:4000' }) });
    expect(named.status).toBe(400);
    await expectHealthyIntact();
  });

  it('a SIP dial-out to an inside address not in DIAL_ALLOW is refused (SIP_URI_FORBIDDEN) before anything is sent', async () => {
    const sinks = await Promise.all([udpSink('127.0.0.2'), udpSink('127.0.0.2')]);
    const before = await counter(gw, 'gateway_requests_rejected_total', { reason: 'SIP_URI_FORBIDDEN' });
    const uris = [
      `sip:probe@127.0.0.2:${sinks[0].port}`,
      `sip:probe@[::ffff:127.0.0.2]:${sinks[1].port}`,
      `sip:probe@0x7f.0.0.2:${sinks[0].port}`, // 127.0.0.2 as the resolver reads hex (inet_aton)
      'sip:probe@169.254.169.254',
      'sip:probe@[64:ff9b::a9fe:a9fe]',
    ];
    for (const uri of uris) {
      const r = await fetch(`${url}/v1/calls`, { method: 'POST', body: JSON.stringify({ sip: { uri }, route: route() }) });
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(r.status, uri).toBe(403);
      expect(body.error.code, uri).toBe('SIP_URI_FORBIDDEN');
      expect(body.error.message, uri).toMatch(/^sip\.uri: .*DIAL_ALLOW/);
    }
    await sleep(300);
    expect(sinks.map((k) => k.got.length)).toEqual([0, 0]);
    expect((await counter(gw, 'gateway_requests_rejected_total', { reason: 'SIP_URI_FORBIDDEN' })) - before).toBe(uris.length);
    for (const k of sinks) k.sock.close();
    await expectHealthyIntact();
  });
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
    await until(() => c.stopReason !== null, 10_000, 'the media timeout');
    expect(c.stopReason).toBe('media_timeout');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3000);
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
