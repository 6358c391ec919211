import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RtpCaller } from '../../../testkit/RtpCaller.js';
import { ElevenLabsStandIn } from '../../../testkit/services/ElevenLabsStandIn.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { callerInput, correlation, FAKE_KEY, interruptChecked, nextTurnPlays, reply, SPEECH, talk, utterance } from './support.js';

/** ElevenLabs Agents dialled directly, against a stand-in written from ElevenLabs' published WebSocket API. */
let gw: Gateway;
let url: string;
let service: ElevenLabsStandIn;

beforeAll(async () => {
  process.env['ELEVENLABS_API_KEY'] = FAKE_KEY;
  ({ gw, url } = await startGateway());
  service = await ElevenLabsStandIn.listen();
});
afterAll(async () => {
  await gw.close();
  await service.close();
});

const route = (agent: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  agent: {
    dialect: 'elevenlabs',
    url: service.conversationUrl,
    headers: { 'xi-api-key': '${ELEVENLABS_API_KEY}' },
    session: { dynamic_variables: { customer: 'Jane' }, conversation_config_override: { agent: { first_message: 'Hi Jane!' } } },
    ...agent,
  },
  ...extra,
});

describe('ElevenLabs Agents', () => {
  it('starts the conversation, streams pcm_16000, plays the agent at real-time pace, answers pings, obeys interruption ids', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const s = await service.session(before);
    expect(s.headers['xi-api-key']).toBe(FAKE_KEY);
    const caller = talk(c, callerInput(200, SPEECH, 6000));
    await s.until(() => s.initiation !== null, 3000, 'conversation_initiation_client_data');
    expect(s.initiation).toEqual({
      type: 'conversation_initiation_client_data',
      dynamic_variables: { customer: 'Jane' },
      conversation_config_override: { agent: { first_message: 'Hi Jane!' } },
    });
    await s.until(() => s.frames.length >= 160, 6000, '3.2 s of caller audio');
    expect(s.frames[0]!.pcm.length).toBe(320);
    const xc = await correlation(s.audio(), 16000, 200);
    console.log(`elevenlabs: caller audio pcm_16000, cross-correlation ${xc.toFixed(3)}`);
    expect(xc).toBeGreaterThanOrEqual(0.9);

    const id = s.ping();
    await s.until(() => s.got('pong').length > 0, 2000, 'pong');
    expect(s.got('pong')[0]).toEqual({ type: 'pong', event_id: id });

    const stale = await reply(16000, 1);
    const turn = s.speak(await reply(16000, 4));
    await until(() => utterance(c).length >= 75, 5000, '1.5 s of the turn at the edge');
    // A lagging server still sends audio of the interrupted turn: dropped.
    const { id: turnId } = await turn;
    await interruptChecked(
      c,
      () => s.interrupt(),
      () => s.staleAudio(turnId, stale),
    );
    // The next turn (a higher event id) plays.
    await nextTurnPlays(c, async () => s.speak(await reply(16000, 1)));
    await caller.stop();
    await c.end();
  }, 30_000);

  it('speaks ulaw_8000 both ways on an 8 kHz route, and answers client tool calls', async () => {
    service.formats = { input: 'ulaw_8000', output: 'ulaw_8000' };
    const before = service.sessions.length;
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: route({ tools: { hangup: true } }, { sampleRate: 8000, denoise: false }),
    });
    const s = await service.session(before);
    service.formats = { input: 'pcm_16000', output: 'pcm_16000' };
    const caller = talk(c, callerInput(200, SPEECH, 4000));
    await s.until(() => s.frames.length >= 160, 6000, 'caller audio');
    expect(await correlation(s.audio(), 8000, 200)).toBeGreaterThanOrEqual(0.99); // µ-law through unchanged
    const id = s.callTool('hangup', {});
    await s.until(() => s.got('client_tool_result').length > 0, 2000, 'the tool result');
    expect(s.got('client_tool_result')[0]).toEqual({
      type: 'client_tool_result',
      tool_call_id: id,
      result: '{"ok":true}',
      is_error: false,
    });
    await until(() => gw.calls.get(c.callId) === undefined, 3000, 'the hang-up');
    await caller.stop();
    await c.hangup();
  }, 20_000);

  it("refuses an agent whose formats are not the route's, naming both, and retries a service error", async () => {
    service.formats = { input: 'pcm_16000', output: 'pcm_44100' };
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ retries: 1 }) });
    const first = await service.session(before);
    service.formats = { input: 'pcm_16000', output: 'pcm_16000' };
    const caller = talk(c, new Int16Array(8000 * 3));
    const second = await service.session(before + 1, 3000);
    expect(first.frames).toEqual([]); // nothing was sent in the wrong format
    await second.until(() => second.frames.length >= 10, 3000, 'caller audio at the retry');
    const call = gw.calls.get(c.callId)!;
    expect(call.stats.agentError).toBe(
      'elevenlabs: the agent speaks pcm_44100 and hears pcm_16000; the route has sampleRate 16000 and outputRate 16000',
    );
    // The retry fails too, the service's way: the route has no more; the call ends naming it.
    second.fail();
    await until(() => call.state === 'closed', 3000, 'the call to end');
    expect(call.closeReason).toBe('agent_closed');
    expect(call.stats.agentError).toBe('elevenlabs: llm_error 1011: The LLM did not answer.; agent closed the socket (1011 llm_error)');
    await caller.stop();
    await c.hangup();
  }, 20_000);
});
