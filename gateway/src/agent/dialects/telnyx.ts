import { randomUUID } from 'node:crypto';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseObject, streamCommand, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Telnyx media streaming, bidirectional RTP mode, PCMU 8 kHz.
 * https://developers.telnyx.com/docs/voice/programmable-voice/media-streaming
 * https://developers.telnyx.com/api-reference/websockets/stream-call-media-over-websocket
 *
 * Like Twilio in snake_case: `stream_id` is top-level, `media_format.encoding` is "PCMU" (what
 * Pipecat's serializer requires). Marks are echoed when played, and when a clear drops them.
 */
export class TelnyxDialect implements DialectSession {
  readonly #codec = new PayloadCodec('mulaw');
  readonly streamId = randomUUID();
  #ccid = '';
  #seq = 0;
  #chunk = 0;

  start(sock: AgentSocket, info: CallInfo): void {
    this.#ccid = `v2:${info.callId}`;
    sock.sendText(JSON.stringify({ event: 'connected', version: '1.0.0' }));
    sock.sendText(
      JSON.stringify({
        event: 'start',
        sequence_number: String(++this.#seq),
        start: {
          user_id: info.callId,
          call_control_id: this.#ccid,
          call_session_id: info.callId,
          from: info.from,
          to: info.to,
          tags: [],
          client_state: '',
          custom_parameters: info.params,
          media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
        },
        stream_id: this.streamId,
      }),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    const timestamp = this.#chunk * 20;
    this.#chunk++;
    sock.sendText(
      `{"event":"media","sequence_number":"${++this.#seq}","media":{"track":"inbound","chunk":"${this.#chunk}","timestamp":"${timestamp}","payload":"${this.#codec.encode(frame)}"},"stream_id":"${this.streamId}"}`,
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      sock.sendText(
        JSON.stringify({ event: 'mark', stream_id: this.streamId, sequence_number: String(++this.#seq), mark: { name: ev.name } }),
      );
    } else if (ev.type === 'dtmf') {
      sock.sendText(
        JSON.stringify({
          event: 'dtmf',
          stream_id: this.streamId,
          occurred_at: new Date().toISOString(),
          sequence_number: String(++this.#seq),
          dtmf: { digit: ev.digit },
        }),
      );
    }
  }

  stop(sock: AgentSocket): void {
    sock.sendText(
      JSON.stringify({
        event: 'stop',
        sequence_number: String(++this.#seq),
        stop: { user_id: this.#ccid.slice(3), call_control_id: this.#ccid },
        stream_id: this.streamId,
      }),
    );
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'Telnyx streams carry JSON text frames only');
    const m = parseObject(data, cmds);
    if (m !== null) streamCommand(m, (b64) => this.#codec.decode(b64), cmds);
  }
}
