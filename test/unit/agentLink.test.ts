import { describe, expect, it } from 'vitest';
import type { AgentCommands } from '../../gateway/src/agent/Agent.js';
import { AgentLink } from '../../gateway/src/agent/AgentLink.js';
import { AGENT_SEND_LIMIT, type AgentSocket } from '../../gateway/src/agent/AgentSocket.js';
import { DIALECT_FACTORIES } from '../../gateway/src/agent/dialects/index.js';
import { DIALECTS, parseRoute } from '../../gateway/src/route.js';
import { serviceSetup } from '../fixtures/services.js';

const noCommands: AgentCommands = {
  audio: () => {},
  mark: () => {},
  clear: () => {},
  hangup: () => {},
  dtmf: () => {},
  gone: () => {},
  invalid: () => {},
  transfer: () => {},
  heardMs: () => 0,
};

/**
 * The socket an agent that stopped reading leaves behind: everything sent stays queued, so its
 * unsent bytes grow with every message, whatever the dialect frames them as.
 */
function unreadSocket(): AgentSocket & { sent: number } {
  const s = {
    sent: 0,
    sendText: (t: string) => {
      s.sent += Buffer.byteLength(t);
    },
    sendBinary: (b: Uint8Array) => {
      s.sent += b.byteLength;
    },
    bufferedAmount: () => s.sent,
    close: () => {},
  };
  return s;
}

describe.each(DIALECTS)('AgentLink backpressure, %s dialect', (dialect) => {
  it('drops caller frames as AGENT_BACKPRESSURE once the unread bytes pass the send limit, and stops queueing', () => {
    const setup = serviceSetup(dialect);
    const route = parseRoute({
      agent: { url: 'ws://agent', dialect, ...setup.agent },
      sampleRate: dialect === 'native' ? 48000 : undefined,
    });
    const drops: string[] = [];
    const link = new AgentLink(noCommands, {
      dialect: DIALECT_FACTORIES[dialect](route),
      drop: (reason) => drops.push(reason),
      maxPayload: 1 << 20,
      connectTimeoutMs: 1000,
    });
    const sock = unreadSocket();
    link.attach(sock);
    link.start({ callId: '6f1c2a4e-0000-4000-8000-000000000000', from: '', to: '', params: {}, sampleRate: route.sampleRate });
    // an AI service's session is set up first (its caller audio is held until then)
    for (const m of setup.ready) link.message(new TextEncoder().encode(JSON.stringify(m)), false);
    const frame = new Int16Array(route.sampleRate / 50).fill(1000);
    let sentFrames = 0;
    for (let i = 0; i < 20_000 && drops.length < 10; i++) {
      const before = sock.sent;
      link.audio(frame);
      if (sock.sent > before) sentFrames++;
    }
    expect(drops.length).toBe(10);
    expect(new Set(drops)).toEqual(new Set(['AGENT_BACKPRESSURE']));
    // Sending stopped at the limit (plus the one frame that crossed it), not later.
    expect(sock.sent).toBeGreaterThan(AGENT_SEND_LIMIT);
    expect(sock.sent - AGENT_SEND_LIMIT).toBeLessThan(8 * 1024);
    expect(sentFrames).toBeGreaterThan(0);
  });
});
