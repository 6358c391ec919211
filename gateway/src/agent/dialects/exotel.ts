import type { Route } from '../../route.js';
import {
  buildExotelConnected,
  buildExotelDtmf,
  buildExotelMarkEcho,
  buildExotelMedia,
  buildExotelStart,
  buildExotelStop,
  parseExotelCommand,
} from '../../platforms/exotel.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { callHex, parseCommand, streamCommand, sid, stringParams, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Exotel Voicebot (AgentStream): raw slin, 16-bit LE mono PCM in base64, 8 kHz by default
 * (16/24 kHz when the route asks, as Exotel's `?sample-rate=` does); messages built and parsed by
 * `platforms/exotel.ts`, as the Exotel stream edge uses them the other way.
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
    sock.sendText(JSON.stringify(buildExotelConnected()));
    sock.sendText(
      JSON.stringify(
        buildExotelStart({
          sequenceNumber: String(++this.#seq),
          streamSid: this.streamSid,
          callSid: this.#callSid,
          accountSid: EXOTEL_ACCOUNT_SID,
          from: info.from,
          to: info.to,
          customParameters: stringParams(info.params),
          sampleRate: String(this.#rate),
        }),
      ),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    const timestamp = String(this.#chunk * 20);
    const chunk = String(++this.#chunk);
    const payload = this.#codec.encode(frame);
    sock.sendText(
      JSON.stringify(buildExotelMedia({ sequenceNumber: String(++this.#seq), streamSid: this.streamSid, chunk, timestamp, payload })),
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      sock.sendText(JSON.stringify(buildExotelMarkEcho({ sequenceNumber: String(++this.#seq), streamSid: this.streamSid, name: ev.name })));
    } else if (ev.type === 'dtmf') {
      sock.sendText(
        JSON.stringify(
          buildExotelDtmf({
            sequenceNumber: String(++this.#seq),
            streamSid: this.streamSid,
            digit: ev.digit,
            duration: String(ev.durationMs),
          }),
        ),
      );
    }
  }

  stop(sock: AgentSocket, reason: string): void {
    sock.sendText(
      JSON.stringify(
        buildExotelStop({
          sequenceNumber: String(++this.#seq),
          streamSid: this.streamSid,
          callSid: this.#callSid,
          accountSid: EXOTEL_ACCOUNT_SID,
          reason,
        }),
      ),
    );
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'Exotel streams carry JSON text frames only');
    const c = parseCommand(data, parseExotelCommand, cmds);
    if (c !== null) streamCommand(c, (b64) => this.#codec.decode(b64), cmds);
  }
}

const EXOTEL_ACCOUNT_SID = 'gateway';
