import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RtpCaller } from '../../../testkit/RtpCaller.js';
import { UltravoxStandIn } from '../../../testkit/services/UltravoxStandIn.js';
import { startGateway, until } from '../../helpers/gateway.js';
import { callerInput, correlation, failAndRetry, FAKE_KEY, interruptChecked, reply, SPEECH, talk, utterance } from './support.js';

/** Ultravox dialled directly: its call created over HTTP, then joined as a serverWebSocket client. */
let gw: Gateway;
let url: string;
let service: UltravoxStandIn;

beforeAll(async () => {
  process.env['ULTRAVOX_API_KEY'] = FAKE_KEY;
  ({ gw, url } = await startGateway());
  service = await UltravoxStandIn.listen();
});
afterAll(async () => {
  await gw.close();
  await service.close();
});

const route = (agent: Record<string, unknown> = {}) => ({
  agent: {
    dialect: 'ultravox',
    url: service.createUrl,
    headers: { 'X-API-Key': '${ULTRAVOX_API_KEY}' },
    session: { systemPrompt: 'You answer the phone.', voice: 'Mark' },
    ...agent,
  },
});

describe('Ultravox', () => {
  it('creates the call with serverWebSocket at the route rates, joins it, streams s16le, plays at real-time pace, clears on playback_clear_buffer', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: route({ tools: { transfer: { sales: 'sip:sales@pbx.example' } } }),
    });
    const s = await service.session(before);
    expect(s.call.systemPrompt).toBe('You answer the phone.');
    expect(s.call['voice']).toBe('Mark');
    expect(s.call.medium).toEqual({ serverWebSocket: { inputSampleRate: 16000, outputSampleRate: 16000, clientBufferSizeMs: 30000 } });
    expect(s.call.selectedTools).toEqual([
      {
        temporaryTool: {
          modelToolName: 'transfer',
          description: 'Transfer the caller to another party: sales.',
          dynamicParameters: [
            { name: 'target', location: 'PARAMETER_LOCATION_BODY', schema: { type: 'string', enum: ['sales'] }, required: true },
          ],
          client: {},
        },
      },
    ]);
    const created = [...service.calls.values()].at(-1)!;
    expect(created.headers['x-api-key']).toBe(FAKE_KEY);
    expect(s.path).toMatch(/^\/calls\/[0-9a-f-]+\?token=j0in$/);
    expect(s.headers['x-api-key']).toBeUndefined(); // the join URL carries its own token

    const caller = talk(c, callerInput(200, SPEECH, 6000));
    await s.until(() => s.frames.length >= 160, 6000, '3.2 s of caller audio');
    const xc = await correlation(s.audio(), 16000, 200);
    console.log(`ultravox: caller audio s16le 16 kHz, cross-correlation ${xc.toFixed(3)}`);
    expect(xc).toBeGreaterThanOrEqual(0.9);

    void s.speak(await reply(16000, 3));
    await until(() => utterance(c).length >= 50, 5000, '1 s of the turn at the edge');
    await interruptChecked(c, () => s.interrupt());

    // The transfer tool on a UDP call: the model is told it cannot be done.
    const id = s.callTool('transfer', { target: 'sales' });
    await s.until(() => s.got('client_tool_result').length > 0, 2000, 'the tool result');
    expect(s.got('client_tool_result')[0]).toEqual({
      type: 'client_tool_result',
      invocationId: id,
      result: '{"error":"this call cannot be transferred"}',
    });
    await caller.stop();
    await c.end();
  }, 30_000);

  it('ends the call when the agent hangs up (a normal close), retries an abnormal one', async () => {
    const before = service.sessions.length;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route({ retries: 1 }) });
    const { second, caller } = await failAndRetry(service, c, before);
    expect(service.calls.size).toBeGreaterThanOrEqual(2); // a new call was created for the retry
    const call = gw.calls.get(c.callId)!;
    second.ws.close(1000, 'call ended');
    await until(() => call.state === 'closed', 3000, 'the call to end');
    expect(call.closeReason).toBe('agent_hangup');
    await caller.stop();
    await c.hangup();
  }, 20_000);

  it("reports a refused call creation with the service's answer, never the key", async () => {
    service.answerStatus = 401;
    const c = await RtpCaller.place({ gateway: url, transport: 'udp', route: route() });
    const call = gw.calls.get(c.callId)!;
    await until(() => call.state === 'closed', 3000, 'the call to end');
    service.answerStatus = 201;
    expect(call.closeReason).toBe('agent_unreachable');
    expect(call.stats.agentError).toBe('ultravox: creating the call answered HTTP 401: {"detail":"Invalid API key."}');
    await c.hangup();
  }, 20_000);
});
