import type { Route } from '../../route.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { callHex, parseObject, sid, streamCommand, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Exotel Voicebot (AgentStream): raw slin, 16-bit LE mono PCM in base64, 8 kHz by default
 * (16/24 kHz when the route asks, as Exotel's `?sample-rate=` does).
 * https://developer.exotel.com/docs/agentstream/websocket-protocol
 *
 * Deviation: Exotel sends ~100 ms chunks; the gateway sends 20 ms chunks, because batching would
 * add 80 ms to every word the agent hears (agents accept any chunk size).
 */
export class ExotelDialect implements DialectSession {
  readonly #codec = new PayloadCodec('l16le');
  readonly #rate: number;
  readonly streamSid = sid('MZ');
  #callSid = '';
  #seq = 0;
  #chunk = 0;

  constructor(route: Route) {
    this.#rate = route.sampleRate;
  }

  start(sock: AgentSocket, info: CallInfo): void {
    this.#callSid = sid('CA', callHex(info.callId));
    sock.sendText(JSON.stringify({ event: 'connected' }));
    sock.sendText(
      JSON.stringify({
        event: 'start',
        sequence_number: String(++this.#seq),
        stream_sid: this.streamSid,
        start: {
          stream_sid: this.streamSid,
          call_sid: this.#callSid,
          account_sid: EXOTEL_ACCOUNT_SID,
          from: info.from,
          to: info.to,
          custom_parameters: info.params,
          media_format: { encoding: 'audio/x-raw', sample_rate: String(this.#rate), bit_rate: '16' },
        },
      }),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    const timestamp = this.#chunk * 20;
    this.#chunk++;
    sock.sendText(
      `{"event":"media","sequence_number":"${++this.#seq}","stream_sid":"${this.streamSid}","media":{"chunk":"${this.#chunk}","timestamp":"${timestamp}","payload":"${this.#codec.encode(frame)}"}}`,
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      sock.sendText(
        JSON.stringify({ event: 'mark', sequence_number: String(++this.#seq), stream_sid: this.streamSid, mark: { name: ev.name } }),
      );
    } else if (ev.type === 'dtmf') {
      sock.sendText(
        JSON.stringify({
          event: 'dtmf',
          sequence_number: String(++this.#seq),
          stream_sid: this.streamSid,
          dtmf: { digit: ev.digit, duration: String(ev.durationMs) },
        }),
      );
    }
  }

  stop(sock: AgentSocket, reason: string): void {
    sock.sendText(
      JSON.stringify({
        event: 'stop',
        sequence_number: String(++this.#seq),
        stream_sid: this.streamSid,
        stop: { call_sid: this.#callSid, account_sid: EXOTEL_ACCOUNT_SID, reason },
      }),
    );
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'Exotel streams carry JSON text frames only');
    const m = parseObject(data, cmds);
    if (m !== null) streamCommand(m, (b64) => this.#codec.decode(b64), cmds);
  }
}

const EXOTEL_ACCOUNT_SID = 'gateway';
