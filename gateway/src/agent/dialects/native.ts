import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import type { Dialect } from './Dialect.js';

const decoder = new TextDecoder();

/**
 * The gateway's own protocol: binary frames are raw PCM16 LE (20 ms each to the agent, any size
 * from it); text frames are small JSON control messages with a `type`.
 */
export const nativeDialect: Dialect = {
  name: 'native',

  start(sock: AgentSocket, info: CallInfo): void {
    sock.sendText(
      JSON.stringify({
        type: 'start',
        callId: info.callId,
        from: info.from,
        to: info.to,
        audio: { encoding: 'pcm16le', sampleRate: info.sampleRate, channels: 1, frameMs: 20 },
        params: info.params,
      }),
    );
  },

  audio(sock: AgentSocket, frame: Int16Array): boolean {
    // Int16Array memory is little-endian on every platform Node supports for this gateway (x64, arm64).
    return sock.sendBinary(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  },

  event(sock: AgentSocket, ev: GatewayEvent): void {
    sock.sendText(JSON.stringify(ev));
  },

  stop(sock: AgentSocket, reason: string): void {
    sock.sendText(JSON.stringify({ type: 'stop', reason }));
  },

  message(data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) {
      cmds.audio(data);
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(decoder.decode(data));
    } catch {
      cmds.invalid('CONTROL_INVALID', 'text message is not JSON');
      return;
    }
    if (typeof msg !== 'object' || msg === null) {
      cmds.invalid('CONTROL_INVALID', 'message must be a JSON object with a "type"');
      return;
    }
    const m = msg as Record<string, unknown>;
    switch (m['type']) {
      case 'mark':
        if (typeof m['name'] !== 'string') cmds.invalid('CONTROL_INVALID', 'mark needs a string "name"');
        else cmds.mark(m['name']);
        return;
      case 'clear':
        cmds.clear();
        return;
      case 'hangup':
        cmds.hangup(typeof m['reason'] === 'string' ? m['reason'] : 'agent hangup');
        return;
      case 'dtmf':
        if (typeof m['digits'] !== 'string' || !/^[0-9*#A-Da-d]{1,64}$/.test(m['digits'])) cmds.invalid('CONTROL_INVALID', 'dtmf needs "digits" of 0-9 * # A-D');
        else cmds.dtmf(m['digits']);
        return;
      default:
        cmds.invalid('CONTROL_INVALID', `unknown message type ${JSON.stringify(m['type'])}`);
    }
  },
};
