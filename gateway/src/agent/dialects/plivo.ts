import { randomUUID } from 'node:crypto';
import type { Route } from '../../route.js';
import {
  buildPlivoClearedAudio,
  buildPlivoDtmf,
  buildPlivoMedia,
  buildPlivoPlayedStream,
  buildPlivoStart,
  parsePlivoCommand,
} from '../../platforms/plivo.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { parseCommand, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Plivo Audio Stream, bidirectional, and its clone Vobiz; messages built and parsed by
 * `platforms/plivo.ts`, as the Plivo/Vobiz stream edge uses them the other way.
 * https://plivo.com/docs/voice/audio-streaming/audio-streaming (Stream Event Protocol)
 * https://docs.plivo.com/docs/voice/xml/audiostream, …/play-audio-event, …/clear-audio-stream, …/checkpoint-event
 * Vobiz: "Stream Events Overview", https://www.vobiz.ai/docs
 *
 * Sends: start (callId, streamId, accountId, tracks, mediaFormat), media (µ-law 8 kHz, or L16 LE
 * at 16 kHz when the route asks for it), dtmf, playedStream when a checkpoint's audio has played,
 * clearedAudio acknowledging clearAudio. Takes: playAudio, checkpoint, clearAudio, sendDTMF (and
 * Vobiz's stop). Checkpoints dropped by a clear get no acknowledgement (Plivo's documented rule).
 */
export class PlivoDialect implements DialectSession {
  readonly #vobiz: boolean;
  readonly #rate: number;
  readonly #codec: PayloadCodec;
  readonly #contentType: string;
  readonly streamId = randomUUID();
  #seq: number;
  #chunk = 0;
  #t0 = Date.now();

  constructor(route: Route, vobiz: boolean) {
    this.#vobiz = vobiz;
    this.#rate = route.sampleRate;
    const l16 = this.#rate !== 8000;
    this.#codec = new PayloadCodec(l16 ? 'l16le' : 'mulaw');
    this.#contentType = l16 ? 'audio/x-l16' : 'audio/x-mulaw';
    // Vobiz numbers its messages from 0, Plivo from 1.
    this.#seq = vobiz ? -1 : 0;
  }

  start(sock: AgentSocket, info: CallInfo): void {
    this.#t0 = Date.now();
    const extra = Object.entries(info.params)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(';');
    sock.sendText(
      JSON.stringify(
        buildPlivoStart({
          sequenceNumber: ++this.#seq,
          callId: info.callId,
          streamId: this.streamId,
          accountId: this.#vobiz ? 1000 : 'MA' + info.callId.replace(/-/g, '').slice(0, 18).toUpperCase(),
          tracks: ['inbound'],
          encoding: this.#contentType,
          sampleRate: this.#rate,
          extraHeaders: this.#vobiz ? JSON.stringify(info.params) : extra,
        }),
      ),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    // Plivo: timestamp = ms since stream start; Vobiz: epoch ms on its clock (both strings).
    const offset = this.#chunk * 20;
    const chunk = ++this.#chunk;
    const timestamp = String(this.#vobiz ? this.#t0 + offset : offset);
    const payload = this.#codec.encode(frame);
    sock.sendText(
      JSON.stringify(
        buildPlivoMedia({ sequenceNumber: ++this.#seq, streamId: this.streamId, track: 'inbound', timestamp, chunk, payload }),
      ),
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      if (ev.cleared) return; // dropped checkpoints are not acknowledged
      // Vobiz's playedStream is just {event, name} (its docs' example)
      const msg = this.#vobiz
        ? buildPlivoPlayedStream({ name: ev.name })
        : buildPlivoPlayedStream({ sequenceNumber: ++this.#seq, streamId: this.streamId, name: ev.name });
      sock.sendText(JSON.stringify(msg));
    } else if (ev.type === 'dtmf') {
      sock.sendText(JSON.stringify(buildPlivoDtmf({ sequenceNumber: ++this.#seq, streamId: this.streamId, digit: ev.digit })));
    }
  }

  stop(): void {
    // Neither documents a stop message to the app: closing the socket ends the stream.
  }

  message(sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'audio streams carry JSON text frames only');
    const c = parseCommand(data, parsePlivoCommand, cmds);
    if (c === null) return;
    switch (c.event) {
      case 'playAudio': {
        const { contentType, sampleRate, payload } = c.media;
        if (sampleRate !== this.#rate)
          return cmds.invalid('CODEC_UNSUPPORTED', `playAudio at ${sampleRate} Hz on a ${this.#rate} Hz stream`);
        return cmds.audio((contentType === 'audio/x-mulaw' ? MULAW : L16).decode(payload));
      }
      case 'checkpoint':
        return cmds.mark(c.name);
      case 'clearAudio':
        cmds.clear();
        sock.sendText(JSON.stringify(buildPlivoClearedAudio({ sequenceNumber: ++this.#seq, streamId: this.streamId })));
        return;
      case 'sendDTMF':
        return cmds.dtmf(c.dtmf);
      case 'stop':
        return cmds.hangup('stream stopped by the agent');
    }
  }
}

const MULAW = new PayloadCodec('mulaw');
const L16 = new PayloadCodec('l16le');
