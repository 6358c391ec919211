import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseObject, type DialectSession } from './Dialect.js';

/**
 * The gateway's own protocol: binary frames are raw PCM16 LE (20 ms each to the agent, any size
 * from it); text frames are small JSON control messages with a `type`.
 */
export class NativeDialect implements DialectSession {
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
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    // Int16Array memory is little-endian on every platform this gateway supports (x64, arm64).
    sock.sendBinary(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    sock.sendText(JSON.stringify(ev));
  }

  stop(sock: AgentSocket, reason: string): void {
    sock.sendText(JSON.stringify({ type: 'stop', reason }));
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) {
      cmds.audio(data);
      return;
    }
    const m = parseObject(data, cmds);
    if (m === null) return;
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
      case 'transfer':
        if (typeof m['to'] !== 'string' || !/^sips?:/.test(m['to'])) cmds.invalid('CONTROL_INVALID', 'transfer needs "to": a sip: URI');
        else cmds.transfer(m['to']);
        return;
      case 'dtmf':
        if (typeof m['digits'] !== 'string' || !/^[0-9*#A-Da-d]{1,64}$/.test(m['digits']))
          cmds.invalid('CONTROL_INVALID', 'dtmf needs "digits" of 0-9 * # A-D');
        else cmds.dtmf(m['digits']);
        return;
      default:
        cmds.invalid('CONTROL_INVALID', `unknown message type ${JSON.stringify(m['type'])}`);
    }
  }
}
