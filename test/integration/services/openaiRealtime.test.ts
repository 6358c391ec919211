import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { OpenAiRealtimeStandIn } from '../../../testkit/services/OpenAiRealtimeStandIn.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { fixture } from '../../helpers/audio.js';
import { callerInput, correlation, FAKE_KEY, expectRealTime, reply, SPEECH, talk, utterance, webhook } from './support.js';

/**
 * OpenAI Realtime dialled directly: a real call over RTP into the gateway, which is the client of
 * a stand-in written from OpenAI's published Realtime protocol (testkit/services).
 */
let gw: Gateway;
let url: string;
let service: OpenAiRealtimeStandIn;

beforeAll(async () => {
  process.env['OPENAI_API_KEY'] = FAKE_KEY;
  ({ gw, url } = await startGateway());
  service = await OpenAiRealtimeStandIn.listen();
});
afterAll(async () => {
  await gw.close();
  await service.close();
});

const route = (extra: Record<string, unknown> = {}, agent: Record<string, unknown> = {}) => ({
  agent: {
    dialect: 'openai-realtime',
    url: service.realtimeUrl,
    headers: { Authorization: 'Bearer ${OPENAI_API_KEY}' },
    session: { instructions: 'You are a helpful phone agent.', audio: { output: { voice: 'marin' } } },
    ...agent,
  },
  ...extra,
});

describe.each([
  { sampleRate: 8000, format: 'audio/pcmu', denoise: false },
  { sampleRate: 24000, format: 'audio/pcm', denoise: true },
])('OpenAI Realtime, $format (denoise $denoise)', ({ sampleRate, format, denoise }) => {
  it('sets the session up, streams the caller in that format, plays the reply at real-time pace, truncates at what the edge received', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ sampleRate, denoise }) });
    const s = await service.session(before);
    // The key went in the header, from the gateway's environment.
    expect(s.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
    expect(s.path).toBe('/v1/realtime?model=gpt-realtime');
    const caller = talk(c, callerInput(200, SPEECH, 7000));
    await s.until(() => s.got('session.update').length > 0, 3000, 'session.update');
    const update = s.got('session.update')[0]!['session'] as Record<string, Record<string, Record<string, unknown>>>;
    expect(update['audio']!['input']!['format']).toEqual(format === 'audio/pcm' ? { type: format, rate: 24000 } : { type: format });
    expect(update['audio']!['output']!['format']).toEqual(update['audio']!['input']!['format']);
    expect(update['audio']!['output']!['voice']).toBe('marin');
    expect(update['instructions']).toBe('You are a helpful phone agent.');

    // The caller's words reach the service in the negotiated format.
    await s.until(() => s.frames.length >= 160, 6000, '3.2 s of caller audio');
    expect(s.frames[0]!.pcm.length).toBe(sampleRate / 50);
    const xc = await correlation(s.audio(), sampleRate, 200);
    console.log(`${format}: caller audio at the service, cross-correlation ${xc.toFixed(3)}`);
    expect(xc).toBeGreaterThanOrEqual(0.9);

    // The model answers (4× faster than real time, as the service streams); the edge plays it on its clock.
    const pcm = await reply(sampleRate, 4);
    const spoken = s.speak(pcm);
    await until(() => utterance(c).length >= 75, 5000, '1.5 s of reply at the edge');
    // The caller starts talking: the service's VAD says so; the gateway truncates at what was heard.
    const t = performance.now();
    s.interrupt();
    await s.until(() => s.got('conversation.item.truncate').length > 0, 2000, 'truncate');
    const item = (await spoken).id;
    const truncate = s.got('conversation.item.truncate')[0]!;
    expect(truncate['item_id']).toBe(item);
    expect(truncate['content_index']).toBe(0);
    await sleep(100);
    const rx = utterance(c);
    const receivedMs = rx.length * 20;
    console.log(`${format}: audio_end_ms ${String(truncate['audio_end_ms'])}, edge received ${receivedMs} ms of the item`);
    expect(Math.abs((truncate['audio_end_ms'] as number) - receivedMs)).toBeLessThanOrEqual(40);
    expect(s.messages.some((m) => m.msg['type'] === 'error')).toBe(false);
    // Nothing of the item reached the caller after the interruption (a tick of packetisation allowed).
    expect(rx.filter((p) => p.arrivalMs > t + 45)).toEqual([]);
    // Real-time pace: the 1.5 s+ heard arrived over as long as it lasts, one packet per 20 ms.
    expectRealTime(rx);
    await caller.stop();
    await c.end();
  }, 30_000);
});

describe("OpenAI Realtime: the gateway's own barge-in, keypad, tools, failures", () => {
  it('truncates at what the caller heard when the gateway hears them talk over the reply, and cancels the running response', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await service.session(before);
    const words = fixture('bargein/interrupt-1-a.wav').samples;
    const caller = talk(c, callerInput(2600, words, 6000));
    await s.until(() => s.got('session.update').length > 0, 3000, 'session.update');
    // 6 s of reply at 1.5× real time: the response is still streaming when the caller talks.
    const spoken = s.speak(await reply(8000, 6), { speed: 1.5 });
    await s.until(() => s.got('conversation.item.truncate').length > 0, 6000, 'truncate after barge-in');
    const at = s.messages.find((m) => m.msg['type'] === 'conversation.item.truncate')!.atMs;
    expect(s.got('response.cancel').length).toBe(1);
    expect((await spoken).stopped).toBe(true);
    await sleep(100);
    const rx = utterance(c);
    const heard = s.got('conversation.item.truncate')[0]!['audio_end_ms'] as number;
    console.log(`gateway barge-in: audio_end_ms ${heard}, edge received ${rx.length * 20} ms`);
    expect(Math.abs(heard - rx.length * 20)).toBeLessThanOrEqual(40);
    expect(rx.filter((p) => p.arrivalMs > at + 45)).toEqual([]);
    await caller.stop();
    await c.end();
  }, 30_000);

  it('gives keypad digits to the model as one user message, and asks for a response', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await service.session(before);
    const caller = talk(c, new Int16Array(8000 * 3));
    await s.until(() => s.got('session.update').length > 0, 3000, 'session.update');
    await c.sendDtmf('4');
    await c.sendDtmf('2');
    await s.until(() => s.got('conversation.item.create').length > 0, 3000, 'the digits');
    const item = s.got('conversation.item.create')[0]!['item'] as { type: string; role: string; content: { type: string; text: string }[] };
    expect(item.type).toBe('message');
    expect(item.role).toBe('user');
    expect(item.content[0]!.text).toContain('4 2');
    expect(gw.calls.get(c.callId)?.inbound.stats).toMatchObject({ late: 0, duplicate: 0 });
    await s.until(() => s.got('response.create').length > 0, 1000, 'response.create');
    await caller.stop();
    await c.end();
  }, 20_000);

  it("runs function calls through the route's webhook, and the built-in hangup once the goodbye has played", async () => {
    const hook = await webhook(() => ({ balance: 42 }));
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({}, { tools: { url: hook.url, hangup: true } }) });
    const s = await service.session(before);
    const caller = talk(c, new Int16Array(8000 * 6));
    await s.until(() => s.got('session.update').length > 0, 3000, 'session.update');
    const tools = (s.got('session.update')[0]!['session'] as { tools: { name: string; type: string }[] }).tools;
    expect(tools.map((t) => [t.type, t.name])).toEqual([['function', 'hangup']]);

    const callId = s.callFunction('get_balance', { account: '123' });
    await s.until(() => s.got('response.create').length > 0, 3000, 'the function output');
    expect(hook.requests[0]!.body).toEqual({
      callId: c.callId,
      dialect: 'openai-realtime',
      name: 'get_balance',
      arguments: { account: '123' },
    });
    expect(hook.requests[0]!.headers['x-gateway-call-id']).toBe(c.callId);
    const out = s.got('conversation.item.create')[0]!['item'] as Record<string, unknown>;
    expect(out).toEqual({ type: 'function_call_output', call_id: callId, output: '{"balance":42}' });

    // Goodbye (1 s), then the model hangs up: the call ends once the caller has heard it all.
    await s.speak(await reply(8000, 1));
    s.callFunction('hangup', { reason: 'done' });
    await until(() => gw.calls.get(c.callId) === undefined, 4000, 'the call to end');
    expect(utterance(c).length).toBeGreaterThanOrEqual(45);
    await caller.stop();
    await c.hangup();
    await hook.close();
  }, 20_000);

  it("retries a service that errors and closes: a new session takes the call, and the call shows the service's error", async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({}, { retries: 1 }) });
    const first = await service.session(before);
    const caller = talk(c, callerInput(200, SPEECH, 5000));
    await first.until(() => first.frames.length >= 25, 3000, 'caller audio');
    first.fail();
    const second = await service.session(before + 1, 3000);
    await second.until(() => second.frames.length >= 25, 3000, 'caller audio at the retry');
    expect(second.got('session.update').length).toBe(1);
    const snap = (await (await fetch(`${url}/v1/calls/${c.callId}`)).json()) as { state: string; agent: { lastError?: string } };
    expect(snap.state).toBe('active');
    expect(snap.agent.lastError).toMatch(/^openai-realtime: server_error server_error: The server had an error/);
    expect(JSON.stringify(snap)).not.toContain(FAKE_KEY);
    await caller.stop();
    await c.end();
  }, 20_000);

  it("hands the call to the fallback when the service drops mid-call, with the caller's last words", async () => {
    const before = service.sessions.length;
    const fallbackUrl = service.url('/fallback?model=gpt-realtime');
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: route({ fallback: { dialect: 'openai-realtime', url: fallbackUrl, headers: { Authorization: 'Bearer ${OPENAI_API_KEY}' } } }),
    });
    const first = await service.session(before);
    const caller = talk(c, callerInput(200, SPEECH, 5000));
    await first.until(() => first.frames.length >= 25, 3000, 'caller audio');
    first.drop();
    const fb = await service.session('/fallback', 3000);
    await fb.until(() => fb.frames.length >= 50, 3000, 'caller audio at the fallback');
    expect(fb.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
    expect(gw.calls.get(c.callId)?.state).toBe('active');
    await caller.stop();
    await c.end();
  }, 20_000);

  it('ends the call when the service fails and the route has nothing else', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await service.session(before);
    const caller = talk(c, new Int16Array(8000 * 2));
    await s.until(() => s.frames.length >= 10, 3000, 'caller audio');
    const call = gw.calls.get(c.callId)!;
    s.fail();
    await until(() => call.state === 'closed', 3000, 'the call to end');
    expect(call.closeReason).toBe('agent_closed');
    expect(call.stats.agentError).toMatch(/server_error/);
    await caller.stop();
    await c.hangup();
  }, 20_000);
});
