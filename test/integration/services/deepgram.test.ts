import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RtpCaller } from '../../../testkit/RtpCaller.js';
import { DeepgramStandIn } from '../../../testkit/services/DeepgramStandIn.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { callerInput, correlation, failAndRetry, FAKE_KEY, interruptChecked, reply, SPEECH, talk, utterance, webhook } from './support.js';

/** Deepgram's Voice Agent dialled directly, against a stand-in written from Deepgram's published API. */
let gw: Gateway;
let url: string;
let service: DeepgramStandIn;

beforeAll(async () => {
  process.env['DEEPGRAM_API_KEY'] = FAKE_KEY;
  ({ gw, url } = await startGateway());
  service = await DeepgramStandIn.listen();
});
afterAll(async () => {
  await gw.close();
  await service.close();
});

const AGENT = {
  listen: { provider: { type: 'deepgram', model: 'nova-3' } },
  think: { provider: { type: 'open_ai', model: 'gpt-4o-mini' }, prompt: 'You answer the phone.' },
  speak: { provider: { type: 'deepgram', model: 'aura-2-thalia-en' } },
};
const route = (agent: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  agent: {
    dialect: 'deepgram',
    url: service.agentUrl,
    headers: { Authorization: 'Token ${DEEPGRAM_API_KEY}' },
    session: { agent: AGENT },
    ...agent,
  },
  ...extra,
});

describe('Deepgram Voice Agent', () => {
  it('answers Welcome with Settings, streams binary linear16, plays the agent at real-time pace, stops on UserStartedSpeaking, keeps alive', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ tools: { hangup: true } }) });
    const s = await service.session(before);
    expect(s.headers['authorization']).toBe(`Token ${FAKE_KEY}`);
    const caller = talk(c, callerInput(200, SPEECH, 6500));
    await s.until(() => s.settings !== null, 3000, 'Settings');
    expect(s.settings!.audio).toEqual({
      input: { encoding: 'linear16', sample_rate: 16000 },
      output: { encoding: 'linear16', sample_rate: 16000, container: 'none' },
    });
    const think = s.settings!.agent.think as { prompt: string; functions: { name: string }[] };
    expect(think.prompt).toBe('You answer the phone.');
    expect(think.functions.map((f) => f.name)).toEqual(['hangup']);
    expect(s.settings!.agent.listen).toEqual(AGENT.listen);

    await s.until(() => s.frames.length >= 160, 6000, '3.2 s of caller audio');
    const xc = await correlation(s.audio(), 16000, 200);
    console.log(`deepgram: caller audio linear16 16 kHz, cross-correlation ${xc.toFixed(3)}`);
    expect(xc).toBeGreaterThanOrEqual(0.9);

    void s.speak(await reply(16000, 3));
    await until(() => utterance(c).length >= 50, 5000, '1 s of the turn at the edge');
    await interruptChecked(c, () => s.interrupt());
    // A KeepAlive every 5 s.
    await s.until(() => s.keepAlives >= 1, 6000, 'a KeepAlive');
    await caller.stop();
    await c.end();
  }, 30_000);

  it('runs client-side function calls through the webhook, and gives keypad digits as InjectUserMessage', async () => {
    const hook = await webhook((b) => ({ open: true, asked: b['name'] }));
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ tools: { url: hook.url } }, { sampleRate: 8000 }) });
    const s = await service.session(before);
    const caller = talk(c, new Int16Array(8000 * 3));
    await s.until(() => s.frames.length >= 5, 3000, 'caller audio');
    expect(s.settings!.audio.input).toEqual({ encoding: 'mulaw', sample_rate: 8000 });
    const id = s.callFunction('store_hours', { day: 'monday' });
    await s.until(() => s.got('FunctionCallResponse').length > 0, 3000, 'the function response');
    expect(s.got('FunctionCallResponse')[0]).toEqual({
      type: 'FunctionCallResponse',
      id,
      name: 'store_hours',
      content: '{"open":true,"asked":"store_hours"}',
    });
    await c.sendDtmf('9');
    await c.sendDtmf('#');
    await s.until(() => s.got('InjectUserMessage').length > 0, 2000, 'the digits');
    expect(s.got('InjectUserMessage')[0]!['content']).toBe('The caller pressed 9 # on the phone keypad.');
    // The digits' packets are numbered in the audio's own sequence while the caller talks (RFC 3550
    // §5.1): none may be dropped as a copy of an audio packet, or as late.
    expect(gw.calls.get(c.callId)?.inbound.stats).toMatchObject({ late: 0, duplicate: 0 });
    await caller.stop();
    await c.end();
    await hook.close();
  }, 20_000);

  it('retries after an Error, and names it', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ retries: 1 }) });
    const { caller } = await failAndRetry(service, c, before);
    expect(gw.calls.get(c.callId)?.stats.agentError).toBe('deepgram: THINK_REQUEST_FAILED: Failed to think: the LLM provider timed out');
    await caller.stop();
    await c.end();
  }, 20_000);
});
