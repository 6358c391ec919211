import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { createRtcpReportBlock, parseTelephoneEvent, rtcpReportSize, seqDiff, writeRtcpReport, writeRtp } from '../../codecs/src/index.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { AgentSession, TestAgent } from '../../testkit/TestAgent.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { fixture, xcorrPeak } from '../helpers/audio.js';
import { counter, startGateway, ulawRoundTrip, until } from '../helpers/gateway.js';

let gw: Gateway;
let url: string;
let agent: TestAgent;
const route = () => ({ agent: { url: agent.url } });

beforeAll(async () => {
  ({ gw, url } = await startGateway({ agentAttachTimeoutMs: 800 }));
  agent = await TestAgent.listen();
});
afterAll(async () => {
  await gw.close();
  await agent.close();
});

const speech = fixture('caller-en-gb-8k.wav').samples;

describe('DTMF (RFC 4733)', () => {
  it('reports a caller digit to the agent once, with its duration', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    await c.stream(new Int16Array(1600));
    await c.sendDtmf('5');
    await c.stream(new Int16Array(1600));
    await s.until(() => s.eventsOf('dtmf').length > 0, 2000, 'dtmf');
    await sleep(100);
    expect(s.eventsOf('dtmf').map((e) => e.msg)).toEqual([{ type: 'dtmf', digit: '5', durationMs: 100 }]);
    await c.end();
  });

  it('plays agent digits to the edge as telephone-events in the audio sequence space', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    const s = await agent.session(c.callId);
    await sleep(100);
    s.send({ type: 'dtmf', digits: '1#' });
    await sleep(600);
    await c.hangup();
    const rx = c.received;
    for (let i = 1; i < rx.length; i++) expect(seqDiff(rx[i - 1]!.seq, rx[i]!.seq)).toBe(1);
    const ev = rx.filter((p) => p.pt === 101).map((p) => ({ ...parseTelephoneEvent(p.payload), ts: p.ts, marker: p.marker }));
    const digits = [...new Set(ev.map((e) => e.event))];
    expect(digits).toEqual([1, 11]);
    for (const d of digits) {
      const packets = ev.filter((e) => e.event === d);
      expect(new Set(packets.map((e) => e.ts)).size).toBe(1); // one timestamp per event (§2.5.1.2)
      expect(packets[0]!.marker).toBe(true);
      expect(packets.filter((e) => e.end).length).toBe(3); // end packet sent 3 times
      expect(packets.at(-1)!.duration).toBe(800); // 100 ms at 8 kHz
    }
  });
});

describe('agent attachment', () => {
  it('lets an agent dial in to /v1/calls/{id}/agent', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: 'dial-in' }, sampleRate: 16000 } });
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/calls/${c.callId}/agent`);
    const s = new AgentSession(ws, {});
    await new Promise((r) => ws.once('open', r));
    await Promise.all([c.stream(speech.subarray(0, 8000)), s.until(() => s.start !== null, 2000, 'start')]);
    await s.until(() => s.frames.length >= 40, 2000, 'frames');
    expect(s.start).toMatchObject({ callId: c.callId, audio: { sampleRate: 16000, frameMs: 20 } });
    expect(s.frames[0]!.pcm.length).toBe(320); // 20 ms at 16 kHz
    await c.end();
    await s.until(() => s.closed, 2000, 'agent socket closed');
    expect(s.eventsOf('stop').map((e) => e.msg)).toEqual([{ type: 'stop', reason: 'api_delete' }]);
  });

  it('refuses a dial-in for an unknown call with 404', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/calls/nope/agent`);
    const status = await new Promise<number>((r) => ws.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('ends the call when no agent dials in within the timeout, telling the edge why', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: { agent: { url: 'dial-in' } } });
    await until(() => c.stopReason !== null, 3000, 'stop');
    expect(c.stopReason).toBe('agent_timeout');
  });

  it('ends the call when the agent is unreachable', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: { agent: { url: 'ws://127.0.0.1:9/' } } });
    await until(() => c.stopReason !== null, 3000, 'stop');
    expect(c.stopReason).toBe('agent_unreachable');
  });

  it('plays the built-in echo agent: the caller hears their own speech after they stop', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: { agent: { url: 'builtin:echo' } } });
    const clip = speech.subarray(0, 8000 * 3);
    const input = new Int16Array(8000 * 7);
    input.set(clip);
    await c.stream(input);
    await c.end();
    const rec = c.recording({ closeGaps: true }); // what the gateway sent, slots a stalled clock skipped closed up
    // The echo starts after the speech plus the 500 ms end-of-speech wait; search 3–5 s in.
    const ref = ulawRoundTrip(clip);
    const { lag, peak } = xcorrPeak(ref.subarray(0, 16000), rec, 8000 * 5, 8000 * 3);
    console.log(`echo: correlation ${peak.toFixed(3)} at ${(lag / 8).toFixed(0)} ms after the speech began`);
    expect(peak).toBeGreaterThanOrEqual(0.7);
  }, 15_000);
});

describe('loss, reordering and bad input', () => {
  it('conceals lost packets so the agent still gets one frame per 20 ms', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const before = await counter(gw, 'gateway_concealed_frames_total');
    await c.stream(speech.subarray(0, 8000 * 2), { drop: (k) => k % 10 === 5 });
    await c.stream(new Int16Array(800));
    await s.until(() => s.frames.length >= 104, 2000, 'frames');
    expect((await counter(gw, 'gateway_concealed_frames_total')) - before).toBe(10);
    const stats = (await (await fetch(`${url}/v1/calls/${c.callId}`)).json()) as { packets: { lost: number }; lossRate: number };
    expect(stats.packets.lost).toBe(10);
    expect(stats.lossRate).toBeCloseTo(10 / 105, 2);
    await c.end();
  });

  it('takes comfort noise (RFC 3389) between talkspurts as silence, not loss', async () => {
    // a phone with silence suppression: 0.6 s of speech, 0.4 s not sent (comfort noise every 100 ms), and so on
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const before = await counter(gw, 'gateway_concealed_frames_total');
    await c.stream(speech.subarray(0, 8000 * 2), { suppress: (k) => k % 50 >= 30 });
    await c.stream(new Int16Array(800));
    await s.until(() => s.frames.length >= 65, 2000, 'frames');
    const stats = (await (await fetch(`${url}/v1/calls/${c.callId}`)).json()) as { packets: { lost: number }; lossRate: number };
    expect(stats.packets.lost).toBe(0);
    expect(stats.lossRate).toBe(0); // RFC 3550 A.3: comfort noise was received
    expect((await counter(gw, 'gateway_concealed_frames_total')) - before).toBe(0);
    await c.end();
  });

  it('counts a packet lost in a silence but conceals nothing for it', async () => {
    // as above, with the first and the last comfort-noise packet of each silence lost: what comes
    // after the gap is comfort noise, then a talkspurt's marked first packet
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const before = await counter(gw, 'gateway_concealed_frames_total');
    const quiet = (k: number) => k % 50 >= 30;
    await c.stream(speech.subarray(0, 8000 * 2), { suppress: quiet, drop: (k) => k % 50 === 30 || k % 50 === 45 });
    await c.stream(new Int16Array(800));
    await s.until(() => s.frames.length >= 65, 2000, 'frames');
    const stats = (await (await fetch(`${url}/v1/calls/${c.callId}`)).json()) as { packets: { lost: number }; lossRate: number };
    expect(stats.packets.lost).toBe(4);
    expect(stats.lossRate).toBeGreaterThan(0); // RFC 3550 A.3: they were lost on the way
    expect((await counter(gw, 'gateway_concealed_frames_total')) - before).toBe(0);
    await c.end();
  });

  it('takes comfort noise as the caller’s silence: her speech ends though it keeps coming', async () => {
    // 1.5 s of speech with no pause in it (1.1–2.6 s of the clip), then 3.5 s suppressed, comfort
    // noise every 60 ms (WebRTC's is 100); her speech must end while the comfort noise goes on
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const pcm = new Int16Array(8000 * 5);
    pcm.set(speech.subarray(8800, 8800 + 8000 * 1.5));
    const streaming = c.stream(pcm, { suppress: (k) => k >= 75, comfortNoiseMs: 60 });
    const ended = () =>
      s.eventsOf('speech_started').length > 0 && s.eventsOf('speech_stopped').length === s.eventsOf('speech_started').length;
    await s.until(ended, 3500, 'speech_stopped during the comfort noise');
    await streaming;
    await c.end();
  });

  it('takes a digit and comfort noise from another SSRC without leaving the stream', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await agent.session(c.callId);
    const reasons = ['RTP_SSRC_CHANGED', 'RTP_FOREIGN_SOURCE'];
    const before = await Promise.all(reasons.map((r) => counter(gw, 'gateway_drops_total', { reason: r })));
    const streaming = c.stream(speech.subarray(0, 8000 * 2));
    await sleep(400);
    const other = 0x5eed;
    await c.sendDtmf('7', 101, other); // as the audio goes on
    c.sendRaw({ marker: false, payloadType: 13, sequenceNumber: 9, timestamp: 0, ssrc: other }, Uint8Array.of(70));
    await streaming;
    await s.until(() => s.eventsOf('dtmf').length > 0, 2000, 'dtmf');
    expect(s.eventsOf('dtmf').map((e) => e.msg)).toEqual([{ type: 'dtmf', digit: '7', durationMs: 100 }]);
    const after = await Promise.all(reasons.map((r) => counter(gw, 'gateway_drops_total', { reason: r })));
    expect(after.map((n, i) => n - before[i]!)).toEqual([0, 1]); // the comfort noise, dropped and counted
    const stats = (await (await fetch(`${url}/v1/calls/${c.callId}`)).json()) as { packets: { lost: number } };
    expect(stats.packets.lost).toBe(0);
    await c.end();
  });

  it('counts malformed and foreign packets by reason and keeps the call going', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    const s = await agent.session(c.callId);
    const reasons = ['RTP_TRUNCATED', 'RTP_BAD_VERSION', 'RTP_CSRC_OVERRUN', 'RTP_UNKNOWN_PAYLOAD_TYPE'];
    const before = await Promise.all(reasons.map((r) => counter(gw, 'gateway_drops_total', { reason: r })));
    const streaming = c.stream(speech.subarray(0, 8000 * 2));
    await sleep(200);
    c.sendBytes(Uint8Array.of(0x80, 0, 1));
    c.sendBytes(Uint8Array.from([0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9]));
    c.sendBytes(Uint8Array.from([0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9]));
    c.sendRaw({ marker: false, payloadType: 18, sequenceNumber: 7, timestamp: 0, ssrc: 1 }, new Uint8Array(20));
    await streaming;
    await s.until(() => s.frames.length >= 98, 2000, 'frames');
    const after = await Promise.all(reasons.map((r) => counter(gw, 'gateway_drops_total', { reason: r })));
    expect(after.map((a, i) => a - before[i]!)).toEqual([1, 1, 1, 1]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/gateway_drops_total\{reason="RTP_BAD_VERSION"\} \d+/);
    await c.hangup();
  });

  it('takes RTCP on the RTP port for RTCP (RFC 5761), not for a bad payload type', async () => {
    const c = await RtpCaller.place({ gateway: url, transport: 'ws', route: route() });
    const s = await agent.session(c.callId);
    const unknownBefore = await counter(gw, 'gateway_drops_total', { reason: 'RTP_UNKNOWN_PAYLOAD_TYPE' });
    const rtcpBefore = await counter(gw, 'gateway_rtcp_packets_total');
    const streaming = c.stream(speech.subarray(0, 8000));
    // A receiver report on our stream, as an rtcp-mux peer sends it (compound: RR + SDES CNAME).
    const cname = new TextEncoder().encode('phone@example');
    const rr = new Uint8Array(rtcpReportSize(false, 1, cname.length));
    const block = { ...createRtcpReportBlock(), ssrc: 1234, extendedHighestSeq: 10 };
    writeRtcpReport(rr, 0, { ssrc: 0x5eed, sender: null, reports: [block], cname });
    for (let i = 0; i < 3; i++) {
      await sleep(200);
      c.sendBytes(rr);
    }
    await streaming;
    await s.until(() => s.frames.length >= 48, 2000, 'frames');
    expect((await counter(gw, 'gateway_rtcp_packets_total')) - rtcpBefore).toBe(3);
    expect((await counter(gw, 'gateway_drops_total', { reason: 'RTP_UNKNOWN_PAYLOAD_TYPE' })) - unknownBefore).toBe(0);
    await c.hangup();
  });

  it('with a remote named, accepts media only from it: a stranger sending first cannot claim the call', async () => {
    const phone = dgram.createSocket('udp4');
    const stranger = dgram.createSocket('udp4');
    await Promise.all([phone, stranger].map((sock) => new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))));
    const res = await fetch(`${url}/v1/calls`, {
      method: 'POST',
      body: JSON.stringify({ codec: 'PCMU', remote: `127.0.0.1:${phone.address().port}`, route: route() }),
    });
    const { callId, rtp } = (await res.json()) as { callId: string; rtp: { port: number } };
    const s = await agent.session(callId);
    const foreignBefore = await counter(gw, 'gateway_drops_total', { reason: 'RTP_FOREIGN_SOURCE' });
    const received: number[] = [];
    phone.on('message', () => received.push(1));
    const packet = (seq: number, ssrc: number, level: number) => {
      const buf = new Uint8Array(12 + 160);
      writeRtp(
        buf,
        0,
        { marker: seq === 0, payloadType: 0, sequenceNumber: seq, timestamp: 160 * seq, ssrc },
        new Uint8Array(160).fill(level),
      );
      return buf;
    };
    // The stranger's packets come first (0x00: loud µ-law), then the phone's (0xff: silence).
    for (let k = 0; k < 5; k++) stranger.send(packet(k, 666, 0x00), rtp.port, '127.0.0.1');
    await sleep(100);
    for (let k = 0; k < 25; k++) {
      phone.send(packet(k, 42, 0xff), rtp.port, '127.0.0.1');
      await sleep(20);
    }
    await s.until(() => s.frames.length >= 20, 2000, "the phone's frames");
    expect((await counter(gw, 'gateway_drops_total', { reason: 'RTP_FOREIGN_SOURCE' })) - foreignBefore).toBe(5);
    // Only the phone's (silent) audio reached the agent, and the gateway answers the phone.
    expect(s.frames.every((f) => f.pcm.every((v) => Math.abs(v) < 200))).toBe(true);
    expect(received.length).toBeGreaterThan(0);
    await fetch(`${url}/v1/calls/${callId}`, { method: 'DELETE' });
    phone.close();
    stranger.close();
  });

  it('answers broken or unexpected control JSON on /v1/edge with an error, not a crash', async () => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/edge`);
    await new Promise((r) => ws.once('open', r));
    const msgs: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => msgs.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.send('{not json');
    ws.send(JSON.stringify({ event: 'dance' }));
    await until(() => msgs.length >= 2, 2000, 'errors');
    expect(msgs.map((m) => m['code'])).toEqual(['CONTROL_INVALID', 'CONTROL_INVALID']);
    ws.send(JSON.stringify({ event: 'start', codec: 'G729' }));
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    expect(msgs.at(-1)).toMatchObject({ event: 'error', code: 'CODEC_UNSUPPORTED' });
    expect(code).toBe(1008);
  });

  it('validates POST /v1/calls and names the field', async () => {
    const post = async (body: unknown) => {
      const r = await fetch(`${url}/v1/calls`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as { error: { code: string; message: string } } };
    };
    expect(await post('{')).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    expect(await post({ codec: 'PCMU', to: 'bob' })).toMatchObject({ status: 400, body: { error: { code: 'INVALID_NUMBER' } } });
    expect((await post({ codec: 'PCMU', to: 'bob' })).body.error.message).toMatch(/^to: /);
    expect(await post({ codec: 'PCMU', route: { agent: { url: 'ftp://x' } } })).toMatchObject({
      status: 400,
      body: { error: { code: 'BAD_REQUEST' } },
    });
    expect(await post({ codec: 'opus', clockRate: 8000 })).toMatchObject({ status: 400, body: { error: { code: 'CODEC_UNSUPPORTED' } } });
    expect((await fetch(`${url}/v1/calls/none`)).status).toBe(404);
    expect((await fetch(`${url}/v1/calls/none`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('lifecycle', () => {
  it('drains on demand: readyz 503, new calls refused, live calls ended at the deadline', async () => {
    const { gw: g2, url: u2 } = await startGateway();
    const c = await RtpCaller.place({ gateway: u2, transport: 'ws', route: { agent: { url: 'builtin:echo' } } });
    expect((await fetch(`${u2}/readyz`)).status).toBe(200);
    const draining = g2.drain(600);
    await sleep(50);
    expect((await fetch(`${u2}/readyz`)).status).toBe(503);
    const refused = await fetch(`${u2}/v1/calls`, { method: 'POST', body: JSON.stringify({ codec: 'PCMU' }) });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('DRAINING');
    expect(g2.calls.size).toBe(1); // the live call continues while draining
    await draining;
    await until(() => c.stopReason !== null, 1000, 'stop');
    expect(c.stopReason).toBe('shutdown');
    expect(g2.calls.size).toBe(0);
  });
});
