import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { RealtimeAudioFormats, RealtimeServerEvent, RealtimeSessionCreateRequest } from 'openai/resources/realtime/realtime';
import type { WebSocket } from 'ws';
import { g711DecodeInto, g711EncodeInto } from '../../codecs/src/index.js';
import { b64, StandIn, StandInSession, type Turn } from './StandIn.js';

/**
 * OpenAI Realtime (GA) as its docs describe it, for the gateway to dial
 * (developers.openai.com/api/reference/resources/realtime/client-events and server-events):
 * `session.created` on connect; `session.update` → `session.updated` (the audio formats it sets
 * decide how appended audio is read and deltas are written: `audio/pcm` 24 kHz, `audio/pcmu`,
 * `audio/pcma`); `input_audio_buffer.append` recorded; a turn is `response.created`,
 * `response.output_item.added`, `response.output_audio.delta`s, `response.output_audio.done`,
 * `response.done`. `response.cancel` stops it (`response.done` cancelled), or errors when none
 * runs; `conversation.item.truncate` is checked against what the item sent (beyond it: an
 * `invalid_request_error`, as the service answers) and confirmed `conversation.item.truncated`.
 */
export class OpenAiRealtimeSession extends StandInSession {
  session: Partial<RealtimeSessionCreateRequest> = {};
  /** ms of audio each item has sent */
  readonly itemMs = new Map<string, number>();
  #responseId = '';
  #n = 0;

  constructor(ws: WebSocket, req: http.IncomingMessage) {
    super(ws, req);
    this.#send({
      type: 'session.created',
      event_id: this.#id('event'),
      session: { type: 'realtime', object: 'realtime.session' },
    } as RealtimeServerEvent);
  }

  get format(): RealtimeAudioFormats {
    return this.session.audio?.input?.format ?? { type: 'audio/pcm', rate: 24000 };
  }

  get inRate(): number {
    return this.format.type === 'audio/pcm' ? 24000 : 8000;
  }

  get outRate(): number {
    return (this.session.audio?.output?.format ?? this.format).type === 'audio/pcm' ? 24000 : 8000;
  }

  #id(prefix: string): string {
    return `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 20)}${++this.#n}`;
  }

  #send(ev: RealtimeServerEvent): void {
    this.json(ev);
  }

  /** An `error` event (the session goes on). */
  sendError(type: string, code: string, message: string, eventId: unknown = null): void {
    this.#send({
      type: 'error',
      event_id: this.#id('event'),
      error: { type, code, message, event_id: typeof eventId === 'string' ? eventId : null },
    });
  }

  protected onJson(m: Record<string, unknown>, atMs: number): void {
    switch (m['type']) {
      case 'session.update':
        this.session = m['session'] as Partial<RealtimeSessionCreateRequest>;
        this.#send({
          type: 'session.updated',
          event_id: this.#id('event'),
          session: { type: 'realtime', ...this.session },
        });
        return;
      case 'input_audio_buffer.append': {
        const raw = Buffer.from(String(m['audio']), 'base64');
        const f = this.format.type;
        if (f === 'audio/pcm') return this.record(new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)), atMs);
        const pcm = new Int16Array(raw.length);
        g711DecodeInto(f === 'audio/pcma' ? 'alaw' : 'ulaw', raw, pcm);
        return this.record(pcm, atMs);
      }
      case 'response.cancel': {
        const t = this.stopTurn();
        if (t === null)
          return this.sendError('invalid_request_error', 'response_cancel_not_active', 'Cancellation failed: no active response found');
        return this.#done('cancelled');
      }
      case 'conversation.item.truncate': {
        const id = String(m['item_id']);
        const end = Number(m['audio_end_ms']);
        const sent = this.itemMs.get(id);
        if (sent === undefined) return this.sendError('invalid_request_error', 'item_not_found', `Item ${id} not found`);
        if (!(end <= sent))
          return this.sendError('invalid_request_error', 'invalid_value', `audio_end_ms ${end} is longer than the audio (${sent} ms)`);
        this.#send({ type: 'conversation.item.truncated', event_id: this.#id('event'), item_id: id, content_index: 0, audio_end_ms: end });
        return;
      }
      default:
      // conversation.item.create, response.create…: recorded in `messages`
    }
  }

  protected beginTurn(): Turn {
    this.#responseId = this.#id('resp');
    const item = this.#id('item');
    this.itemMs.set(item, 0);
    this.#send({
      type: 'response.created',
      event_id: this.#id('event'),
      response: { id: this.#responseId, object: 'realtime.response', status: 'in_progress' },
    });
    this.#send({
      type: 'response.output_item.added',
      event_id: this.#id('event'),
      response_id: this.#responseId,
      output_index: 0,
      item: { id: item, type: 'message', role: 'assistant', content: [] },
    });
    return { id: item, stopped: false };
  }

  protected sendChunk(turn: Turn, pcm: Int16Array): void {
    let bytes: Uint8Array = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    const f = (this.session.audio?.output?.format ?? this.format).type;
    if (f !== 'audio/pcm') {
      bytes = new Uint8Array(pcm.length);
      g711EncodeInto(f === 'audio/pcma' ? 'alaw' : 'ulaw', pcm, bytes);
    }
    this.itemMs.set(turn.id, (this.itemMs.get(turn.id) ?? 0) + (1000 * pcm.length) / this.outRate);
    this.#send({
      type: 'response.output_audio.delta',
      event_id: this.#id('event'),
      response_id: this.#responseId,
      item_id: turn.id,
      output_index: 0,
      content_index: 0,
      delta: b64(bytes),
    });
  }

  protected endTurn(turn: Turn): void {
    this.#send({
      type: 'response.output_audio.done',
      event_id: this.#id('event'),
      response_id: this.#responseId,
      item_id: turn.id,
      output_index: 0,
      content_index: 0,
    });
    this.#done('completed');
  }

  #done(status: 'completed' | 'cancelled'): void {
    this.#send({
      type: 'response.done',
      event_id: this.#id('event'),
      response: { id: this.#responseId, object: 'realtime.response', status },
    });
  }

  /** Server VAD heard the caller: `speech_started`; with `interrupt_response` (the default) the response stops too. */
  interrupt(): void {
    this.#send({ type: 'input_audio_buffer.speech_started', event_id: this.#id('event'), audio_start_ms: 0, item_id: this.#id('item') });
    if (this.stopTurn() !== null) this.#done('cancelled');
  }

  /** The model calls a function: the call's events, then the gateway answers with its output. */
  callFunction(name: string, args: Record<string, unknown>): string {
    const callId = this.#id('call');
    const item = this.#id('item');
    this.#responseId = this.#id('resp');
    this.#send({
      type: 'response.created',
      event_id: this.#id('event'),
      response: { id: this.#responseId, object: 'realtime.response', status: 'in_progress' },
    });
    this.#send({
      type: 'response.function_call_arguments.done',
      event_id: this.#id('event'),
      response_id: this.#responseId,
      item_id: item,
      output_index: 0,
      call_id: callId,
      name,
      arguments: JSON.stringify(args),
    });
    this.#done('completed');
    return callId;
  }

  /** A server error, then the service closes the socket. */
  fail(): void {
    this.sendError('server_error', 'server_error', 'The server had an error while processing your request. Sorry about that!');
    this.ws.close(1011, 'server error');
  }
}

export class OpenAiRealtimeStandIn extends StandIn<OpenAiRealtimeSession> {
  static async listen(): Promise<OpenAiRealtimeStandIn> {
    return new OpenAiRealtimeStandIn((ws, req) => new OpenAiRealtimeSession(ws, req)).start();
  }

  /** The URL a route names, with the model as the service's URL takes it. */
  get realtimeUrl(): string {
    return this.url('/v1/realtime?model=gpt-realtime');
  }
}
