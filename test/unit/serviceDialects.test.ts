import { describe, expect, it } from 'vitest';
import type { AgentCommands } from '../../gateway/src/agent/Agent.js';
import type { AgentSocket } from '../../gateway/src/agent/AgentSocket.js';
import { DIALECT_FACTORIES } from '../../gateway/src/agent/dialects/index.js';
import type { DialectSession } from '../../gateway/src/agent/dialects/Dialect.js';
import { parseRoute, type Dialect } from '../../gateway/src/route.js';
import { serviceSetup } from '../fixtures/services.js';

/**
 * What each service dialect does with the gateway's own barge-in while its service keeps
 * streaming the interrupted turn (it generates faster than real time and has not heard the
 * caller yet): the playout is cleared, the rest of that turn is dropped, the next turn plays.
 */
function harness(dialect: Dialect) {
  const setup = serviceSetup(dialect);
  const route = parseRoute({ agent: { url: 'ws://agent', dialect, ...setup.agent } });
  const session: DialectSession = DIALECT_FACTORIES[dialect](route);
  const sent: unknown[] = [];
  const sock: AgentSocket = { sendText: (t) => sent.push(JSON.parse(t)), sendBinary: () => {}, bufferedAmount: () => 0, close: () => {} };
  const played: number[] = [];
  let clears = 0;
  let heard = 0;
  const cmds: AgentCommands = {
    audio: (b) => played.push(b.length),
    mark: () => {},
    clear: () => clears++,
    hangup: () => {},
    dtmf: () => {},
    transfer: () => {},
    heardMs: () => heard,
    gone: () => {},
    invalid: (code, m) => {
      throw new Error(`${code}: ${m}`);
    },
  };
  session.bind?.({ sessionReady: () => {}, fail: () => {}, noteError: () => {}, reconnect: () => {} }, cmds);
  session.start(sock, { callId: 'c', from: '', to: '', params: {}, sampleRate: route.sampleRate });
  const json = (m: unknown) => session.message(sock, new TextEncoder().encode(JSON.stringify(m)), false, cmds);
  for (const m of setup.ready) json(m);
  return {
    json,
    binary: (n: number) => session.message(sock, new Uint8Array(n), true, cmds),
    bargeIn: (playedMs: number) => {
      heard = playedMs;
      session.event(sock, { type: 'barge_in', atMs: 0, playedMs, cleared: false });
    },
    played,
    sent,
    clears: () => clears,
  };
}

const b64 = (bytes: number) => Buffer.alloc(bytes).toString('base64');

describe('the gateway barge-in in each AI-service dialect', () => {
  it('openai-realtime: clears, truncates, cancels, and drops the cut item by id', () => {
    const h = harness('openai-realtime');
    h.json({ type: 'response.created', response: { id: 'r1' } });
    h.json({ type: 'response.output_audio.delta', item_id: 'i1', delta: b64(1600) }); // 200 ms µ-law
    h.bargeIn(120);
    expect(h.clears()).toBe(1);
    expect(h.sent.slice(-2)).toEqual([
      { type: 'response.cancel' },
      { type: 'conversation.item.truncate', item_id: 'i1', content_index: 0, audio_end_ms: 120 },
    ]);
    h.json({ type: 'response.output_audio.delta', item_id: 'i1', delta: b64(160) });
    expect(h.played).toEqual([3200]);
    h.json({ type: 'response.output_audio.delta', item_id: 'i2', delta: b64(160) });
    expect(h.played).toEqual([3200, 320]);
  });

  it('gemini-live: drops the rest of a turn still generating until turnComplete', () => {
    const h = harness('gemini-live');
    const chunk = { serverContent: { modelTurn: { parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: b64(960) } }] } } };
    h.json(chunk);
    h.bargeIn(20);
    h.json(chunk);
    expect(h.played).toEqual([960]);
    h.json({ serverContent: { turnComplete: true } });
    h.json(chunk);
    expect(h.played).toEqual([960, 960]);
    // a barge-in after the turn completed (its audio all queued) mutes nothing: the next turn plays at once
    h.json({ serverContent: { turnComplete: true } });
    h.bargeIn(20);
    h.json(chunk);
    expect(h.played).toEqual([960, 960, 960]);
  });

  it('elevenlabs: drops the interrupted turn by event id, plays the next', () => {
    const h = harness('elevenlabs');
    h.json({ type: 'audio', audio_event: { event_id: 5, audio_base_64: b64(640) } });
    h.bargeIn(20);
    h.json({ type: 'audio', audio_event: { event_id: 5, audio_base_64: b64(640) } });
    h.json({ type: 'audio', audio_event: { event_id: 6, audio_base_64: b64(640) } });
    expect(h.played).toEqual([640, 640]);
    // the service's own interruption: ids below it are stale
    h.json({ type: 'interruption', interruption_event: { event_id: 9 } });
    h.json({ type: 'audio', audio_event: { event_id: 8, audio_base_64: b64(640) } });
    h.json({ type: 'audio', audio_event: { event_id: 9, audio_base_64: b64(640) } });
    expect(h.played).toEqual([640, 640, 640]);
  });

  it('deepgram: drops the rest of the agent turn until it speaks again', () => {
    const h = harness('deepgram');
    h.json({ type: 'AgentStartedSpeaking' });
    h.binary(640);
    h.bargeIn(20);
    h.binary(640);
    h.json({ type: 'AgentAudioDone' });
    h.json({ type: 'AgentStartedSpeaking' });
    h.binary(640);
    expect(h.played).toEqual([640, 640]);
  });

  it('ultravox: drops the rest of the turn while the agent is speaking, plays again once it is not', () => {
    const h = harness('ultravox');
    h.json({ type: 'state', state: 'speaking' });
    h.binary(640);
    h.bargeIn(20);
    h.binary(640);
    h.json({ type: 'state', state: 'listening' });
    h.binary(640);
    expect(h.played).toEqual([640, 640]);
  });
});
