import { readWav } from '../../../../codecs/src/index.js';
import type { Route } from '../../route.js';
import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import { obj, parseObject, type DialectSession } from './Dialect.js';

/**
 * jambonz `listen` / mod_audio_fork in bidirectional streaming mode.
 * https://docs.jambonz.org/verbs/verbs/listen, https://www.jambonz.org/docs/supporting-articles/bidirectional-audio
 *
 * Subprotocol `audio.jambonz.org`; a text preamble with the call's attributes, `sampleRate`,
 * `mixType` and the route's params as metadata; then binary L16 LE both ways. Marks are answered
 * `{"type":"mark","data":{"name","event":"playout"|"cleared"}}`; `killAudio` clears; `clearMarks`
 * forgets pending marks; `disconnect` hangs up. Non-streaming `playAudio` (raw or wav) is queued
 * like streamed audio and answered `playDone` once played.
 */
export class JambonzDialect implements DialectSession {
  readonly subprotocol = 'audio.jambonz.org';
  readonly #rate: number;
  /** marks the agent asked to forget (clearMarks): their echoes are not sent */
  readonly #forgotten = new Set<string>();
  readonly #pending = new Set<string>();
  #plays = 0;

  constructor(route: Route) {
    this.#rate = route.sampleRate;
  }

  start(sock: AgentSocket, info: CallInfo): void {
    sock.sendText(
      JSON.stringify({
        sampleRate: this.#rate,
        mixType: 'mono',
        callSid: info.callId,
        from: info.from,
        to: info.to,
        direction: 'inbound',
        ...info.params,
      }),
    );
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    sock.sendBinary(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
  }

  event(sock: AgentSocket, ev: GatewayEvent): void {
    if (ev.type === 'mark') {
      this.#pending.delete(ev.name);
      if (this.#forgotten.delete(ev.name)) return;
      if (ev.name.startsWith('\u0000play-')) {
        if (!ev.cleared) sock.sendText(JSON.stringify({ type: 'playDone', data: { id: ev.name.slice(6) } }));
        return;
      }
      sock.sendText(JSON.stringify({ type: 'mark', data: { name: ev.name, event: ev.cleared ? 'cleared' : 'playout' } }));
    } else if (ev.type === 'dtmf') {
      sock.sendText(JSON.stringify({ event: 'dtmf', dtmf: ev.digit, duration: String(ev.durationMs) }));
    }
  }

  stop(): void {
    // jambonz closes the socket when the call or the listen verb ends.
  }

  message(_sock: AgentSocket, data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void {
    if (isBinary) return cmds.audio(data);
    const m = parseObject(data, cmds);
    if (m === null) return;
    const d = obj(m['data']);
    switch (m['type']) {
      case 'mark':
        if (typeof d['name'] !== 'string') return cmds.invalid('CONTROL_INVALID', 'mark needs data.name');
        this.#pending.add(d['name']);
        return cmds.mark(d['name']);
      case 'clearMarks':
        for (const name of this.#pending) this.#forgotten.add(name);
        return;
      case 'killAudio':
        return cmds.clear();
      case 'disconnect':
        return cmds.hangup('disconnect');
      case 'playAudio': {
        const content = d['audioContent'];
        if (typeof content !== 'string') return cmds.invalid('CONTROL_INVALID', 'playAudio needs data.audioContent');
        const bytes = Buffer.from(content, 'base64');
        let pcm: Uint8Array = bytes;
        if (d['audioContentType'] === 'wav') {
          const wav = readWav(bytes);
          if (wav.sampleRate !== this.#rate)
            return cmds.invalid('CODEC_UNSUPPORTED', `playAudio wav at ${wav.sampleRate} Hz on a ${this.#rate} Hz stream`);
          pcm = new Uint8Array(wav.samples.buffer, wav.samples.byteOffset, wav.samples.byteLength);
        } else if (d['sampleRate'] !== undefined && Number(d['sampleRate']) !== this.#rate) {
          return cmds.invalid('CODEC_UNSUPPORTED', `playAudio at ${JSON.stringify(d['sampleRate'])} Hz on a ${this.#rate} Hz stream`);
        }
        if (d['queuePlay'] !== true) cmds.clear();
        cmds.audio(pcm);
        return cmds.mark(`\u0000play-${++this.#plays}`);
      }
      default:
        return cmds.invalid('CONTROL_INVALID', `unknown type ${JSON.stringify(m['type'])}`);
    }
  }
}
