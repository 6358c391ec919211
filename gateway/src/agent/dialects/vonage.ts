import type { Route } from '../../route.js';
import {
  buildVonageCleared,
  buildVonageConnected,
  buildVonageDtmf,
  buildVonageNotifyEcho,
  parseVonageCommand,
  type VonageRate,
} from '../../platforms/vonage.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseCommand, type DialectSession } from './Dialect.js';

/**
 * Vonage Voice API WebSocket: a text `websocket:connected` first, then binary 16-bit LE PCM,
 * 20 ms per message, at 8/16/24 kHz (16 kHz by default); text messages built and parsed by
 * `platforms/vonage.ts`, as the Vonage stream edge uses them the other way.
 * https://developer.vonage.com/en/voice/voice-api/concepts/websockets
 *
 * Takes binary PCM of any size, `{"action":"clear"}` (acknowledged with `websocket:cleared`) and
 * `{"action":"notify","payload"}` (echoed as `websocket:notify` once the audio queued before it
 * has played; a clear drops pending notifies, as their audio never plays).
 */
export class VonageDialect implements DialectSession {
  readonly #rate: VonageRate;
  /** notify payloads by internal mark name */
  readonly #notify = new Map<string, Readonly<Record<string, unknown>>>();
  #n = 0;

  constructor(route: Route) {
    this.#rate = route.sampleRate as VonageRate; // DIALECT_RATES allows only 8, 16 and 24 kHz
  }

  start(sock: AgentSocket, info: CallInfo): void {
    sock.sendText(JSON.stringify(buildVonageConnected(this.#rate, { ...info.params, from: info.from, to: info.to, uuid: info.callId })));
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    sock.sendBinary(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      const payload = this.#notify.get(ev.name);
      this.#notify.delete(ev.name);
      if (!ev.cleared && payload !== undefined) sock.sendText(JSON.stringify(buildVonageNotifyEcho(payload)));
    } else if (ev.type === 'dtmf') {
      sock.sendText(JSON.stringify(buildVonageDtmf(ev.digit, ev.durationMs)));
    }
  }

  stop(): void {
    // Vonage has no stop message: the socket closes when the call ends.
  }

  message(sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.audio(data);
    const c = parseCommand(data, parseVonageCommand, cmds);
    if (c === null) return;
    switch (c.action) {
      case 'clear':
        cmds.clear();
        sock.sendText(JSON.stringify(buildVonageCleared()));
        return;
      case 'notify': {
        const name = `notify-${++this.#n}`;
        this.#notify.set(name, c.payload);
        return cmds.mark(name);
      }
    }
  }
}
