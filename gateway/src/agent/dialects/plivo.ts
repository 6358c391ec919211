import { randomUUID } from 'node:crypto';
import type { Route } from '../../route.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { obj, parseObject, type DialectSession } from './Dialect.js';
import { PayloadCodec } from './payload.js';

/**
 * Plivo Audio Stream, bidirectional, and its clone Vobiz.
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
      JSON.stringify({
        event: 'start',
        sequenceNumber: ++this.#seq,
        start: {
          callId: info.callId,
          streamId: this.streamId,
          accountId: this.#vobiz ? 1000 : 'MA' + info.callId.replace(/-/g, '').slice(0, 18).toUpperCase(),
          tracks: ['inbound'],
          mediaFormat: { encoding: this.#contentType, sampleRate: this.#rate },
        },
        extra_headers: this.#vobiz ? JSON.stringify(info.params) : extra,
      }),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    // Plivo: timestamp = ms since stream start; Vobiz: epoch ms on its clock (both strings).
    const offset = this.#chunk * 20;
    this.#chunk++;
    const timestamp = this.#vobiz ? this.#t0 + offset : offset;
    sock.sendText(
      `{"event":"media","sequenceNumber":${++this.#seq},"streamId":"${this.streamId}","media":{"track":"inbound","timestamp":"${timestamp}","chunk":${this.#chunk},"payload":"${this.#codec.encode(frame)}"}}`,
    );
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      if (ev.cleared) return; // dropped checkpoints are not acknowledged
      const msg: Record<string, unknown> = { event: 'playedStream', sequenceNumber: ++this.#seq, name: ev.name };
      if (!this.#vobiz) msg['streamId'] = this.streamId; // Vobiz's playedStream has no streamId
      sock.sendText(JSON.stringify(msg));
    } else if (ev.type === 'dtmf') {
      sock.sendText(JSON.stringify({ event: 'dtmf', sequenceNumber: ++this.#seq, streamId: this.streamId, dtmf: { digit: ev.digit } }));
    }
  }

  stop(): void {
    // Neither documents a stop message to the app: closing the socket ends the stream.
  }

  message(sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.invalid('CONTROL_INVALID', 'audio streams carry JSON text frames only');
    const m = parseObject(data, cmds);
    if (m === null) return;
    switch (m['event']) {
      case 'playAudio': {
        const media = obj(m['media']);
        const payload = media['payload'];
        if (typeof payload !== 'string') return cmds.invalid('CONTROL_INVALID', 'playAudio media.payload must be base64');
        const type = typeof media['contentType'] === 'string' ? media['contentType'] : this.#contentType;
        const rate = Number(media['sampleRate'] ?? this.#rate);
        if (rate !== this.#rate) return cmds.invalid('CODEC_UNSUPPORTED', `playAudio at ${rate} Hz on a ${this.#rate} Hz stream`);
        if (type.startsWith('audio/x-mulaw')) return cmds.audio(MULAW.decode(payload));
        if (type.startsWith('audio/x-l16')) return cmds.audio(L16.decode(payload));
        return cmds.invalid('CODEC_UNSUPPORTED', `playAudio contentType ${type}`);
      }
      case 'checkpoint':
        if (typeof m['name'] !== 'string') return cmds.invalid('CONTROL_INVALID', 'checkpoint needs a string name');
        return cmds.mark(m['name']);
      case 'clearAudio':
        cmds.clear();
        sock.sendText(JSON.stringify({ event: 'clearedAudio', sequenceNumber: ++this.#seq, streamId: this.streamId }));
        return;
      case 'sendDTMF':
        if (typeof m['dtmf'] !== 'string') return cmds.invalid('CONTROL_INVALID', 'sendDTMF needs a "dtmf" string');
        return cmds.dtmf(m['dtmf']);
      case 'stop':
        return cmds.hangup('stream stopped by the agent');
      default:
        return cmds.invalid('CONTROL_INVALID', `unknown event ${JSON.stringify(m['event'])}`);
    }
  }
}

const MULAW = new PayloadCodec('mulaw');
const L16 = new PayloadCodec('l16le');
