import {
  buildTwilioConnected,
  buildTwilioDtmf,
  buildTwilioMarkEcho,
  buildTwilioMedia,
  buildTwilioStart,
  buildTwilioStop,
  parseTwilioCommand,
} from '../../platforms/twilio.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { callHex, parseCommand, streamCommand, sid, stringParams, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Twilio Media Streams, bidirectional (<Connect><Stream>), the gateway playing Twilio. Messages are
 * built and parsed by `platforms/twilio.ts`, the shapes the Twilio stream edge reads and writes.
 * https://www.twilio.com/docs/voice/media-streams/websocket-messages
 *
 * Sends: connected; start (AC/CA/MZ SIDs, tracks, exact mediaFormat, customParameters from the
 * route's params plus from/to); media (µ-law 8 kHz base64, 20 ms, string sequenceNumber, chunk and
 * timestamp); dtmf; mark echoes; stop. Takes: media (any size and pace), mark, clear.
 *
 * Twilio's mark cannot say "cleared": a mark is echoed both when its audio has played and when a
 * clear dropped it. In this dialect the gateway never drops agent audio on its own (the agent could
 * not tell, and relies on marks to know what was heard).
 */
export const TWILIO_ACCOUNT_SID = sid('AC');

export class TwilioDialect implements DialectSession {
  readonly #codec = new PayloadCodec('mulaw');
  readonly streamSid = sid('MZ');
  #callSid = '';
  #seq = 0;
  #chunk = 0;

  start(sock: AgentSocket, info: CallInfo): void {
    this.#callSid = twilioCallSid(info.callId);
    sock.sendText(JSON.stringify(buildTwilioConnected()));
    const customParameters = stringParams(info.params);
    if (info.from) customParameters['from'] = info.from;
    if (info.to) customParameters['to'] = info.to;
    sock.sendText(
      JSON.stringify(
        buildTwilioStart({
          sequenceNumber: String(++this.#seq),
          accountSid: TWILIO_ACCOUNT_SID,
          streamSid: this.streamSid,
          callSid: this.#callSid,
          tracks: ['inbound'],
          customParameters,
        }),
      ),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    // timestamp: ms of audio before this chunk (8 bytes per ms of µ-law), so gaps are visible.
    const timestamp = String(this.#chunk * 20);
    const chunk = String(++this.#chunk);
    const payload = this.#codec.encode(frame);
    sock.sendText(
      JSON.stringify(
        buildTwilioMedia({ sequenceNumber: String(++this.#seq), track: 'inbound', chunk, timestamp, payload, streamSid: this.streamSid }),
      ),
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      sock.sendText(JSON.stringify(buildTwilioMarkEcho({ sequenceNumber: String(++this.#seq), streamSid: this.streamSid, name: ev.name })));
    } else if (ev.type === 'dtmf') {
      sock.sendText(JSON.stringify(buildTwilioDtmf({ streamSid: this.streamSid, sequenceNumber: String(++this.#seq), digit: ev.digit })));
    }
    // speech events and errors have no Twilio counterpart
  }

  stop(sock: AgentSocket): void {
    sock.sendText(
      JSON.stringify(
        buildTwilioStop({
          sequenceNumber: String(++this.#seq),
          streamSid: this.streamSid,
          accountSid: TWILIO_ACCOUNT_SID,
          callSid: this.#callSid,
        }),
      ),
    );
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'Twilio streams carry JSON text frames only');
    const c = parseCommand(data, parseTwilioCommand, cmds);
    if (c !== null) streamCommand(c, (b64) => this.#codec.decode(b64), cmds);
  }
}

/** The CallSid of a call: CA + the 32 hex digits of its id (so the REST hang-up finds it). */
export function twilioCallSid(callId: string): string {
  return sid('CA', callHex(callId));
}

/** The call id behind a CallSid, or null. */
export function callIdOfTwilioSid(callSid: string): string | null {
  const m = /^CA([0-9a-f]{8})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{4})([0-9a-f]{12})$/i.exec(callSid);
  return m ? m.slice(1).join('-').toLowerCase() : null;
}
