import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { GeminiLiveStandIn } from '../../../testkit/services/GeminiLiveStandIn.js';
import { fixture } from '../../helpers/audio.js';
import { startGateway, until } from '../../helpers/gateway.js';
import {
  callerInput,
  correlation,
  failAndRetry,
  FAKE_KEY,
  interruptChecked,
  nextTurnPlays,
  reply,
  SPEECH,
  talk,
  utterance,
} from './support.js';

/** Gemini Live dialled directly, against a stand-in written from Google's published Live API. */
let gw: Gateway;
let url: string;
let service: GeminiLiveStandIn;

beforeAll(async () => {
  process.env['GEMINI_API_KEY'] = FAKE_KEY;
  ({ gw, url } = await startGateway());
  service = await GeminiLiveStandIn.listen();
});
afterAll(async () => {
  await gw.close();
  await service.close();
});

const MODEL = 'models/gemini-2.5-flash-native-audio-preview-09-2025';
const route = (agent: Record<string, unknown> = {}) => ({
  agent: {
    dialect: 'gemini-live',
    url: service.liveUrl,
    headers: { 'x-goog-api-key': '${GEMINI_API_KEY}' },
    session: { model: MODEL, systemInstruction: { parts: [{ text: 'You answer the phone.' }] } },
    ...agent,
  },
});

describe('Gemini Live', () => {
  it('waits for setupComplete, streams 16 kHz, plays its 24 kHz turn at real-time pace, stops on interrupted', async () => {
    service.setupDelayMs = 300;
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await service.session(before);
    service.setupDelayMs = 0;
    expect(s.headers['x-goog-api-key']).toBe(FAKE_KEY);
    const caller = talk(c, callerInput(200, SPEECH, 6000));
    await s.until(() => s.setup !== null, 3000, 'setup');
    expect(s.setup!.model).toBe(MODEL);
    expect(s.setup!.generationConfig?.responseModalities).toEqual(['AUDIO']);
    expect(s.setup!.sessionResumption).toEqual({});
    expect(s.setup!.systemInstruction).toEqual({ parts: [{ text: 'You answer the phone.' }] });

    await s.until(() => s.frames.length >= 160, 6000, '3.2 s of caller audio');
    // Nothing before the session was set up (the stand-in throws on it), and what was held meanwhile came first.
    expect(s.frames[0]!.atMs).toBeGreaterThanOrEqual(s.setupCompleteAt);
    expect(s.inRate).toBe(16000);
    expect(s.frames[0]!.pcm.length).toBe(320);
    const xc = await correlation(s.audio(), 16000, 200);
    console.log(`gemini-live: caller audio at 16 kHz, cross-correlation ${xc.toFixed(3)}`);
    expect(xc).toBeGreaterThanOrEqual(0.9);

    void s.speak(await reply(24000, 4));
    await until(() => utterance(c).length >= 75, 5000, '1.5 s of the turn at the edge');
    await interruptChecked(c, () => s.interrupt());
    await caller.stop();
    await c.end();
  }, 30_000);

  it("after the gateway's own barge-in, drops the rest of the interrupted turn until the model's turn is over", async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await service.session(before);
    const words = fixture('bargein/interrupt-1-a.wav').samples;
    const caller = talk(c, callerInput(2000, words, 6000));
    await s.until(() => s.frames.length > 0, 3000, 'caller audio');
    // The model keeps streaming (it has not heard the caller): the gateway must not play the rest.
    const spoken = await s.speak(await reply(24000, 5), { speed: 1.25 });
    expect(spoken.stopped).toBe(false);
    const barge = gw.calls.get(c.callId)!;
    expect(barge.state).toBe('active');
    const rx = utterance(c);
    const lastAudible = rx[rx.length - 1]!.arrivalMs;
    // The caller talked from 2 s; the 5 s turn would have played to ~5 s.
    expect(rx.length * 20).toBeLessThan(3500);
    expect(lastAudible).toBeLessThan(spoken.sentAt[spoken.sentAt.length - 1]!);
    // The next turn plays again.
    await nextTurnPlays(c, async () => s.speak(await reply(24000, 1)));
    await caller.stop();
    await c.end();
  }, 30_000);

  it('resumes the session on goAway, once the turn has played out, without dropping the call', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const first = await service.session(before);
    // The caller listens (talking over the turn would interrupt it).
    const caller = talk(c, new Int16Array(8000 * 5));
    await first.until(() => first.frames.length >= 25, 3000, 'caller audio');
    const turn = first.speak(await reply(24000, 2), { speed: 1 });
    await sleep(500);
    first.goAway('10s');
    await turn; // the turn completes on the old connection ...
    const turnEnd = performance.now();
    const second = await service.session(before + 1, 3000); // ... then the gateway resumes
    await second.until(() => second.setup !== null, 3000, 'the resumed setup');
    expect(second.messages[0]!.atMs).toBeGreaterThanOrEqual(turnEnd - 5);
    expect(second.setup!.sessionResumption).toEqual({ handle: first.handle });
    expect(second.setup!.model).toBe(MODEL);
    await first.until(() => first.closed, 2000, 'the old connection to close');
    await second.until(() => second.frames.length >= 50, 3000, 'caller audio on the resumed session');
    expect(gw.calls.get(c.callId)?.state).toBe('active');
    expect(utterance(c).length).toBeGreaterThanOrEqual(95); // the 2 s turn was heard whole
    await caller.stop();
    await c.end();
  }, 30_000);

  it('retries when the service closes with an error, and names it', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ retries: 1 }) });
    const { second, caller } = await failAndRetry(service, c, before);
    expect(second.setup!.sessionResumption).toEqual({}); // a new session: a failure is not a goAway
    expect(gw.calls.get(c.callId)?.stats.agentError).toBe('agent closed the socket (1011 Internal error encountered.)');
    await caller.stop();
    await c.end();
  }, 20_000);

  it('gives up on a service that never sets the session up (AGENT_CONNECT_TIMEOUT_MS) and retries it', async () => {
    const quick = await startGateway({ agentConnectTimeoutMs: 800 });
    service.setupDelayMs = 5000;
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: quick.url, transport: 'udp', route: route({ retries: 1 }) });
    const first = await service.session(before);
    service.setupDelayMs = 0;
    const caller = talk(c, callerInput(200, SPEECH, 3000));
    const second = await service.session(before + 1, 3000);
    await second.until(() => second.setup !== null, 3000, 'the retry setup');
    expect(second.messages[0]!.atMs - first.messages[0]!.atMs).toBeGreaterThanOrEqual(750);
    // The caller's words of the wait were held and reach the retry.
    await second.until(() => second.frames.length >= 50, 3000, 'held and new caller audio');
    expect(quick.gw.calls.get(c.callId)?.stats.agentError).toBe('gemini-live did not set the session up within 800 ms');
    await caller.stop();
    await c.end();
    await quick.gw.close();
  }, 20_000);
});
