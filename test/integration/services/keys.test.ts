import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayProcess } from '../../../testkit/GatewayProcess.js';
import { RtpCaller } from '../../../testkit/RtpCaller.js';
import { DeepgramStandIn } from '../../../testkit/services/DeepgramStandIn.js';
import { ElevenLabsStandIn } from '../../../testkit/services/ElevenLabsStandIn.js';
import { GeminiLiveStandIn } from '../../../testkit/services/GeminiLiveStandIn.js';
import { OpenAiRealtimeStandIn } from '../../../testkit/services/OpenAiRealtimeStandIn.js';
import { UltravoxStandIn } from '../../../testkit/services/UltravoxStandIn.js';
import { until } from '../../helpers/gateway.js';
import { FAKE_KEY } from './support.js';

/**
 * API keys stay in the gateway's environment: a real gateway process, calls to every service
 * (each one failing some way, and one service quoting the key back in its error), and then its
 * whole log (debug level, stdout and stderr) and its API answers are searched for the key.
 */
let gw: GatewayProcess;
const openai = await OpenAiRealtimeStandIn.listen();
const gemini = await GeminiLiveStandIn.listen();
const eleven = await ElevenLabsStandIn.listen();
const deepgram = await DeepgramStandIn.listen();
const ultravox = await UltravoxStandIn.listen();

beforeAll(async () => {
  gw = await GatewayProcess.start(
    {
      LOG_LEVEL: 'debug',
      // admission by measured load is overload.test's subject; here a busy CI machine must not refuse the call
      ADMIT_MAX_LOAD: '1',
      OPENAI_API_KEY: FAKE_KEY,
      GEMINI_API_KEY: FAKE_KEY,
      ELEVENLABS_API_KEY: FAKE_KEY,
      DEEPGRAM_API_KEY: FAKE_KEY,
      ULTRAVOX_API_KEY: FAKE_KEY,
      GATEWAY_AUTH_SECRET: '',
    },
    { capture: true },
  );
});
afterAll(async () => {
  await gw.stop();
  await Promise.all([openai.close(), gemini.close(), eleven.close(), deepgram.close(), ultravox.close()]);
});

/** Lines of the gateway's log with this event. */
const logged = (event: string) =>
  gw.output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l['event'] === event);

async function call(agent: Record<string, unknown>): Promise<{ c: RtpCaller; snapshots: string[] }> {
  const c = await RtpCaller.place({ gateway: gw.url, transport: 'udp', route: { agent } });
  void c.stream(new Int16Array(8000 * 3));
  return { c, snapshots: [] };
}

const snapshot = async (id: string) => (await fetch(`${gw.url}/v1/calls/${id}`)).text();

describe('keys from the environment', () => {
  it('reach the services in their headers, and appear nowhere in the logs or the API', async () => {
    const snaps: string[] = [];
    // OpenAI: a service that quotes the key back in an error, then fails.
    const o = await call({ dialect: 'openai-realtime', url: openai.realtimeUrl, headers: { Authorization: 'Bearer ${OPENAI_API_KEY}' } });
    const os = await openai.session(0);
    await os.until(() => os.frames.length > 5, 3000, 'audio');
    os.sendError('invalid_request_error', 'invalid_api_key', `Incorrect API key provided: ${FAKE_KEY}.`);
    await until(() => logged('agent_service_error').length > 0, 3000, 'the service error in the log');
    snaps.push(await snapshot(o.c.callId), await (await fetch(`${gw.url}/v1/calls`)).text());
    os.fail();
    // Gemini: closes with an error. ElevenLabs: formats the route cannot take. Deepgram: an Error.
    const g = await call({
      dialect: 'gemini-live',
      url: gemini.liveUrl,
      headers: { 'x-goog-api-key': '${GEMINI_API_KEY}' },
      session: { model: 'models/m' },
    });
    const gs = await gemini.session(0);
    await gs.until(() => gs.frames.length > 5, 3000, 'audio');
    snaps.push(await snapshot(g.c.callId));
    gs.fail();
    eleven.formats = { input: 'pcm_16000', output: 'pcm_22050' };
    await call({ dialect: 'elevenlabs', url: eleven.conversationUrl, headers: { 'xi-api-key': '${ELEVENLABS_API_KEY}' } });
    await eleven.session(0);
    await call({
      dialect: 'deepgram',
      url: deepgram.agentUrl,
      headers: { Authorization: 'Token ${DEEPGRAM_API_KEY}' },
      tools: { url: 'http://127.0.0.1:9/down' },
    });
    const ds = await deepgram.session(0);
    await ds.until(() => ds.frames.length > 5, 3000, 'audio');
    ds.callFunction('lookup', {}); // the webhook is down: the failure is logged
    await until(() => logged('tool_call_failed').length > 0, 3000, 'the tool failure in the log');
    ds.fail();
    // Ultravox: the call creation is refused. And a route naming a variable that is not set.
    ultravox.answerStatus = 403;
    await call({ dialect: 'ultravox', url: ultravox.createUrl, headers: { 'X-API-Key': '${ULTRAVOX_API_KEY}' } });
    await call({ dialect: 'openai-realtime', url: openai.realtimeUrl, headers: { Authorization: 'Bearer ${MISSING_API_KEY}' } });
    await until(() => logged('call_ended').length >= 6, 5000, 'six calls to end');

    // Each service got the key, in its header.
    expect(os.headers['authorization']).toBe(`Bearer ${FAKE_KEY}`);
    expect(gs.headers['x-goog-api-key']).toBe(FAKE_KEY);
    expect((await eleven.session(0)).headers['xi-api-key']).toBe(FAKE_KEY);
    expect(ds.headers['authorization']).toBe(`Token ${FAKE_KEY}`);

    // The end reasons name each service's error (stable reason, the service's text beside it).
    const ended = logged('call_ended').map((l) => [l['reason'], l['agentError']]);
    expect(ended).toContainEqual([
      'agent_closed',
      expect.stringMatching(/^openai-realtime: server_error server_error: The server had an error/),
    ]);
    expect(ended).toContainEqual(['agent_closed', 'agent closed the socket (1011 Internal error encountered.)']);
    expect(ended).toContainEqual(['agent_closed', expect.stringMatching(/^elevenlabs: the agent speaks pcm_22050 and hears pcm_16000/)]);
    expect(ended).toContainEqual(['agent_closed', 'deepgram: THINK_REQUEST_FAILED: Failed to think: the LLM provider timed out']);
    expect(ended).toContainEqual(['agent_unreachable', 'ultravox: creating the call answered HTTP 403: {"detail":"Invalid API key."}']);
    expect(ended).toContainEqual(['agent_unreachable', 'the agent header Authorization names ${MISSING_API_KEY}, which is not set']);
    const quoted = logged('agent_service_error').find((l) => String(l['error']).includes('Incorrect API key'));
    expect(quoted?.['error']).toBe('openai-realtime: invalid_request_error invalid_api_key: Incorrect API key provided: ***.');

    // And the key is nowhere: not in the log, not in what the API showed.
    expect(gw.output.length).toBeGreaterThan(1000);
    expect(gw.output).not.toContain(FAKE_KEY);
    for (const s of snaps) expect(s).not.toContain(FAKE_KEY);
    expect(snaps[0]).toContain('${OPENAI_API_KEY}'.length > 0 ? 'openai-realtime' : '');
  }, 30_000);
});
