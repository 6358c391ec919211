import type {
  ConversationItemCreateEvent,
  ConversationItemTruncateEvent,
  RealtimeAudioFormats,
  RealtimeClientEvent,
  RealtimeFunctionTool,
  RealtimeSessionCreateRequest,
  ResponseCreateEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import type { Route } from '../../route.js';
import type { CallInfo } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import type { DialectContext } from '../dialects/Dialect.js';
import { PayloadCodec } from '../dialects/payload.js';
import { b64, parseWith, rec, str } from '../../platforms/wire.js';
import { PlayedItems } from './PlayedItems.js';
import { ServiceDialect, textOf } from './ServiceDialect.js';

/** event_id of our session.update: an error naming it means the session runs without our formats. */
const SESSION_EVENT = 'gw_session_update';

/**
 * OpenAI Realtime (GA), the gateway as its WebSocket client.
 * https://developers.openai.com/api/reference/resources/realtime/client-events (and server-events)
 *
 * Sends `session.update` first: the route's `session` (instructions, voice, tools, turn
 * detection…) with the audio formats the route chose: `sampleRate` 8000 is G.711 as the edge
 * speaks it (`audio/pcmu`, `audio/pcma` on A-law edges: the caller's codes pass through, and the
 * model's are what the edge sends), 24000 is `audio/pcm` at 24 kHz. Then each 20 ms caller frame
 * as `input_audio_buffer.append`; `response.output_audio.delta` goes to the playout.
 *
 * Interruptions: the first of the gateway's barge-in or the server's
 * `input_audio_buffer.speech_started` clears the playout, cancels a running response, and sends
 * `conversation.item.truncate` for each item not wholly heard, with `audio_end_ms` what the caller
 * heard of it (PlayedItems); its late deltas are dropped. Function calls go to the ToolRunner and
 * come back as `function_call_output` items and a `response.create`. Keypad digits become a user
 * message. Types: the `openai` package (types only, nothing at run time).
 */
export class OpenAiRealtimeDialect extends ServiceDialect {
  readonly #codec: PayloadCodec;
  readonly #format: RealtimeAudioFormats;
  readonly #items = new PlayedItems();
  #responding = false;

  constructor(route: Route, ctx?: DialectContext) {
    super(route, ctx, 'openai-realtime');
    const alaw = this.ctx.codec === 'PCMA';
    this.#codec = new PayloadCodec(this.inRate === 24000 ? 'l16le' : alaw ? 'alaw' : 'mulaw');
    this.#format = this.inRate === 24000 ? { type: 'audio/pcm', rate: 24000 } : { type: alaw ? 'audio/pcma' : 'audio/pcmu' };
  }

  protected open(_sock: AgentSocket, _info: CallInfo): void {
    const s = this.session as Partial<RealtimeSessionCreateRequest>;
    const builtins: RealtimeFunctionTool[] = this.builtinTools().map((t) => ({ type: 'function', ...t }));
    const tools = [...(s.tools ?? []), ...builtins];
    const update: SessionUpdateEvent = {
      type: 'session.update',
      event_id: SESSION_EVENT,
      session: {
        ...s,
        type: 'realtime',
        audio: {
          ...s.audio,
          input: { ...s.audio?.input, format: this.#format },
          output: { ...s.audio?.output, format: this.#format },
        },
        ...(tools.length > 0 ? { tools } : {}),
      },
    };
    this.#send(update);
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    sock.sendText(JSON.stringify({ type: 'input_audio_buffer.append', audio: this.#codec.encode(frame) } satisfies RealtimeClientEvent));
  }

  protected json(m: Record<string, unknown>): void {
    switch (m['type']) {
      case 'response.created':
        this.#responding = true;
        return this.unmute();
      case 'response.done':
        this.#responding = false;
        return;
      case 'response.output_audio.delta':
      case 'response.audio.delta': // the beta name, still sent by older models
        return this.#delta(m);
      case 'response.output_audio.done':
      case 'response.audio.done':
        if (typeof m['item_id'] === 'string') this.#items.done(m['item_id']);
        return;
      case 'input_audio_buffer.speech_started':
        return this.#interrupt(this.cmds.heardMs());
      case 'response.function_call_arguments.done':
        return this.#functionCall(m);
      case 'error':
        return this.#error(m);
      default:
      // session.created/updated, transcripts, rate limits…: nothing for the media path
    }
  }

  #delta(m: Record<string, unknown>): void {
    const p = parseWith(() => ({ item: str(m, 'item_id', 'delta'), audio: b64(m, 'delta', 'delta', this.#codec.g711 ? 1 : 2) }));
    if (!p.ok) return this.cmds.invalid(p.code, `openai-realtime: ${p.reason}`);
    if (this.#items.wasCut(p.msg.item)) return;
    const pcm = this.#codec.decode(p.msg.audio);
    this.#items.add(p.msg.item, (1000 * (pcm.length / 2)) / this.outRate, this.cmds.heardMs());
    this.play(pcm);
  }

  /** Cancelled by id, its late deltas dropped by item: no mute needed. */
  protected interrupted(heardMs: number): void {
    this.#interrupt(heardMs);
  }

  #interrupt(heardMs: number): void {
    if (!this.#items.any && !this.#responding) return;
    const cuts = this.#items.cut(heardMs);
    this.cmds.clear();
    if (this.#responding) this.#send({ type: 'response.cancel' });
    this.#responding = false;
    for (const c of cuts) {
      const t: ConversationItemTruncateEvent = {
        type: 'conversation.item.truncate',
        item_id: c.itemId,
        content_index: 0,
        audio_end_ms: c.audioEndMs,
      };
      this.#send(t);
    }
  }

  #functionCall(m: Record<string, unknown>): void {
    const p = parseWith(() => ({ callId: str(m, 'call_id', 'call'), name: str(m, 'name', 'call'), args: str(m, 'arguments', 'call') }));
    if (!p.ok) return this.cmds.invalid(p.code, `openai-realtime: ${p.reason}`);
    const { callId, name, args } = p.msg;
    this.callTool(name, args, (output) => {
      const item: ConversationItemCreateEvent = {
        type: 'conversation.item.create',
        item: { type: 'function_call_output', call_id: callId, output },
      };
      this.#send(item);
      this.#send({ type: 'response.create' } satisfies ResponseCreateEvent);
    });
  }

  protected userText(text: string): void {
    this.#send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } });
    if (!this.#responding) this.#send({ type: 'response.create' });
  }

  #error(m: Record<string, unknown>): void {
    const p = parseWith(() => rec(m['error'], 'error'));
    const e = p.ok ? p.msg : {};
    const code = typeof e['code'] === 'string' ? e['code'] : '';
    // A cancel racing the server's own (interrupt_response) is no fault of anyone's.
    if (code === 'response_cancel_not_active') return;
    const text = `${textOf(e['type']) || 'error'}${code ? ` ${code}` : ''}: ${textOf(e['message']) || 'no message'}`;
    this.serviceError(text, e['event_id'] === SESSION_EVENT);
  }

  #send(msg: RealtimeClientEvent): void {
    this.send(msg);
  }
}
