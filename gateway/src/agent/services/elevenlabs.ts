import type { Incoming, Outgoing } from '@elevenlabs/types';
import type { Route } from '../../route.js';
import type { AgentSocket } from '../AgentSocket.js';
import { obj, type DialectContext } from '../dialects/Dialect.js';
import { PayloadCodec } from '../dialects/payload.js';
import { ServiceDialect, textOf } from './ServiceDialect.js';

type ElevenLabsOut =
  | Outgoing.ConversationInitiationClientToOrchestratorEvent
  | Outgoing.UserAudio
  | Outgoing.PongClientToOrchestratorEvent
  | Outgoing.ClientToolResultClientToOrchestratorEvent
  | Outgoing.UserMessageClientToOrchestratorEvent;

type AudioFormat = Incoming.ConversationInitiationMetadataEvent['user_input_audio_format'];

/**
 * ElevenLabs Agents (Conversational AI) over WebSocket, the gateway as its client.
 * https://elevenlabs.io/docs/agents-platform/api-reference/agents-platform/websocket
 *
 * Sends `conversation_initiation_client_data` first (the route's `session`: overrides, dynamic
 * variables…) and waits for `conversation_initiation_metadata`, which says the agent's audio
 * formats (set in the agent, not per conversation): they must be the route's rates (`pcm_<rate>`,
 * or `ulaw_8000` at 8 kHz), or the session fails with a reason naming both. Then caller audio as
 * `user_audio_chunk`; `audio` events go to the playout; `ping` is answered `pong` with its id.
 *
 * `interruption` clears the playout and drops audio of the interrupted turn that still arrives:
 * event ids below the interruption's (as ElevenLabs' own client does). After the gateway's own
 * barge-in, audio of the turn being played (event ids up to the last received) is dropped.
 * `client_tool_call` runs the ToolRunner (tools are declared in the agent as client tools: name
 * them `hangup`/`transfer` for the built-ins) and answers `client_tool_result`.
 */
export class ElevenLabsDialect extends ServiceDialect {
  override readonly handshake = true;
  #in: PayloadCodec | null = null;
  #out: PayloadCodec | null = null;
  /** audio with an event id below this is of an interrupted turn */
  #floor = 0;
  #lastEventId = 0;
  /** after the gateway's barge-in: audio of this event id and below is of the interrupted turn */
  #mutedUpTo = -1;

  constructor(route: Route, ctx?: DialectContext) {
    super(route, ctx, 'elevenlabs');
  }

  protected open(): void {
    this.#send({ ...this.session, type: 'conversation_initiation_client_data' });
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    if (this.#in !== null) sock.sendText(JSON.stringify({ user_audio_chunk: this.#in.encode(frame) } satisfies Outgoing.UserAudio));
  }

  protected json(m: Record<string, unknown>): void {
    switch (m['type']) {
      case 'conversation_initiation_metadata':
        return this.#metadata(obj(m['conversation_initiation_metadata_event']));
      case 'audio':
        return this.#audio(obj(m['audio_event']));
      case 'interruption': {
        const id = obj(m['interruption_event'])['event_id'];
        if (typeof id === 'number') this.#floor = Math.max(this.#floor, id);
        this.cmds.clear();
        return;
      }
      case 'ping': {
        const id = obj(m['ping_event'])['event_id'];
        if (typeof id === 'number') this.#send({ type: 'pong', event_id: id });
        return;
      }
      case 'client_tool_call':
        return this.#toolCall(obj(m['client_tool_call']));
      case 'error': {
        const e = obj(m['error_event']);
        return this.serviceError(
          `${textOf(e['error_type']) || 'error'} ${textOf(e['code'])}: ${textOf(e['message'] ?? e['reason'])}`,
          false,
        );
      }
      default:
      // transcripts, agent responses, vad scores…: nothing for the media path
    }
  }

  #metadata(e: Record<string, unknown>): void {
    const input = e['user_input_audio_format'] as AudioFormat | undefined;
    const output = e['agent_output_audio_format'] as AudioFormat | undefined;
    this.#in = codecFor(input, this.inRate);
    this.#out = codecFor(output, this.outRate);
    if (this.#in === null || this.#out === null)
      return this.serviceError(
        `the agent speaks ${String(output)} and hears ${String(input)}; the route has sampleRate ${this.inRate} and outputRate ${this.outRate}`,
        true,
      );
    this.link.sessionReady();
  }

  #audio(e: Record<string, unknown>): void {
    const id = e['event_id'];
    const data = e['audio_base_64'];
    if (typeof id !== 'number' || typeof data !== 'string' || this.#out === null)
      return this.cmds.invalid('CONTROL_INVALID', 'elevenlabs: audio needs audio_event.event_id and audio_base_64');
    if (id < this.#floor || id <= this.#mutedUpTo) return;
    this.#lastEventId = Math.max(this.#lastEventId, id);
    this.play(this.#out.decode(data));
  }

  /** The turn being played (event ids up to the last received) is dropped; a new turn's higher ids play. */
  protected interrupted(): void {
    this.cmds.clear();
    this.#mutedUpTo = this.#lastEventId;
  }

  #toolCall(c: Record<string, unknown>): void {
    const id = c['tool_call_id'];
    const name = c['tool_name'];
    if (typeof id !== 'string' || typeof name !== 'string')
      return this.cmds.invalid('CONTROL_INVALID', 'elevenlabs: client_tool_call needs tool_name and tool_call_id');
    this.callTool(name, c['parameters'] ?? {}, (output) => {
      this.#send({ type: 'client_tool_result', tool_call_id: id, result: output, is_error: output.startsWith('{"error"') });
    });
  }

  protected userText(text: string): void {
    this.#send({ type: 'user_message', text });
  }

  #send(msg: ElevenLabsOut): void {
    this.send(msg);
  }
}

/** The codec of an ElevenLabs audio format at the route's rate, or null when they differ. */
function codecFor(format: AudioFormat | undefined, rate: number): PayloadCodec | null {
  if (format === `pcm_${rate}`) return new PayloadCodec('l16le');
  if (format === 'ulaw_8000' && rate === 8000) return new PayloadCodec('mulaw');
  return null;
}
