import { randomUUID } from 'node:crypto';
import {
  buildTelnyxConnected,
  buildTelnyxDtmf,
  buildTelnyxMarkEcho,
  buildTelnyxMedia,
  buildTelnyxStart,
  buildTelnyxStop,
  parseTelnyxCommand,
} from '../../platforms/telnyx.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseCommand, streamCommand, stringParams, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Telnyx media streaming, bidirectional RTP mode, PCMU 8 kHz; messages built and parsed by
 * `platforms/telnyx.ts`, as the Telnyx stream edge uses them the other way.
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
    sock.sendText(JSON.stringify(buildTelnyxConnected()));
    sock.sendText(
      JSON.stringify(
        buildTelnyxStart({
          sequenceNumber: String(++this.#seq),
          start: {
            user_id: info.callId,
            call_control_id: this.#ccid,
            call_session_id: info.callId,
            from: info.from,
            to: info.to,
            tags: [],
            client_state: '',
            custom_parameters: stringParams(info.params),
            media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 },
          },
          streamId: this.streamId,
        }),
      ),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    const timestamp = String(this.#chunk * 20);
    const chunk = String(++this.#chunk);
    const payload = this.#codec.encode(frame);
    sock.sendText(
      JSON.stringify(
        buildTelnyxMedia({ sequenceNumber: String(++this.#seq), track: 'inbound', chunk, timestamp, payload, streamId: this.streamId }),
      ),
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      sock.sendText(JSON.stringify(buildTelnyxMarkEcho({ streamId: this.streamId, sequenceNumber: String(++this.#seq), name: ev.name })));
    } else if (ev.type === 'dtmf') {
      sock.sendText(
        JSON.stringify(
          buildTelnyxDtmf({
            streamId: this.streamId,
            occurredAt: new Date().toISOString(),
            sequenceNumber: String(++this.#seq),
            digit: ev.digit,
          }),
        ),
      );
    }
  }

  stop(sock: AgentSocket): void {
    sock.sendText(
      JSON.stringify(
        buildTelnyxStop({
          sequenceNumber: String(++this.#seq),
          userId: this.#ccid.slice(3),
          callControlId: this.#ccid,
          streamId: this.streamId,
        }),
      ),
    );
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'Telnyx streams carry JSON text frames only');
    const c = parseCommand(data, parseTelnyxCommand, cmds);
    if (c !== null) streamCommand(c, (b64) => this.#codec.decode(b64), cmds);
  }
}
