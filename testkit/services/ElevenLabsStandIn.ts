import type { ConversationMetadata, Incoming, Interruption, Outgoing, Ping } from '@elevenlabs/types';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type http from 'node:http';
import { g711DecodeInto, g711EncodeInto } from '../../codecs/src/index.js';
import { b64, StandIn, StandInSession, type Turn } from './StandIn.js';

type Format = Incoming.ConversationInitiationMetadataEvent['user_input_audio_format'];
type ServerEvent =
  | Incoming.AudioClientEvent
  | Interruption
  | Ping
  | Incoming.ErrorClientEvent
  | Incoming.ClientToolCallClientEvent
  | Incoming.AgentResponseClientEvent
  | ConversationMetadata;

/**
 * ElevenLabs Agents over WebSocket as its docs describe it
 * (elevenlabs.io/docs/agents-platform/api-reference/agents-platform/websocket): the client's
 * `conversation_initiation_client_data` is answered `conversation_initiation_metadata`, naming the
 * agent's audio formats (set in the agent); `user_audio_chunk` is read in the input format; a turn
 * is `audio` events sharing the turn's event id; `interruption` carries the id from which audio
 * is current again; `ping` expects `pong` with its id; `client_tool_call` expects `client_tool_result`.
 */
export class ElevenLabsSession extends StandInSession {
  readonly formats: { input: Format; output: Format };
  initiation: Outgoing.ConversationInitiationClientToOrchestratorEvent | null = null;
  #eventId = 1;

  constructor(ws: WebSocket, req: http.IncomingMessage, formats: { input: Format; output: Format }) {
    super(ws, req);
    this.formats = formats;
  }

  get inRate(): number {
    return Number(this.formats.input.split('_')[1]);
  }

  get outRate(): number {
    return Number(this.formats.output.split('_')[1]);
  }

  #send(ev: ServerEvent): void {
    this.json(ev);
  }

  protected onJson(m: Record<string, unknown>, atMs: number): void {
    if (m['type'] === 'conversation_initiation_client_data') {
      this.initiation = m as unknown as Outgoing.ConversationInitiationClientToOrchestratorEvent;
      this.#send({
        type: 'conversation_initiation_metadata',
        conversation_initiation_metadata_event: {
          conversation_id: `conv_${randomUUID()}`,
          user_input_audio_format: this.formats.input,
          agent_output_audio_format: this.formats.output,
        },
      });
      return;
    }
    if (typeof m['user_audio_chunk'] === 'string') {
      const raw = Buffer.from(m['user_audio_chunk'], 'base64');
      if (this.formats.input === 'ulaw_8000') {
        const pcm = new Int16Array(raw.length);
        g711DecodeInto('ulaw', raw, pcm);
        this.record(pcm, atMs);
      } else this.record(new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)), atMs);
    }
  }

  protected beginTurn(): Turn {
    return { id: String(++this.#eventId), stopped: false };
  }

  protected sendChunk(turn: Turn, pcm: Int16Array): void {
    let bytes: Uint8Array = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    if (this.formats.output === 'ulaw_8000') {
      bytes = new Uint8Array(pcm.length);
      g711EncodeInto('ulaw', pcm, bytes);
    }
    this.#send({ type: 'audio', audio_event: { audio_base_64: b64(bytes), event_id: Number(turn.id) } });
  }

  protected endTurn(turn: Turn): void {
    this.#send({ type: 'agent_response', agent_response_event: { agent_response: 'Hello.', event_id: Number(turn.id) } });
  }

  /** The agent heard the caller: `interruption`; audio with lower event ids is stale from now on. */
  interrupt(): void {
    this.stopTurn();
    this.#send({ type: 'interruption', interruption_event: { event_id: ++this.#eventId } });
  }

  /** Audio of an interrupted turn arriving late (a lagging server): the client must drop it. */
  staleAudio(turnId: string, pcm: Int16Array): void {
    this.sendChunk({ id: turnId, stopped: false }, pcm);
  }

  ping(): number {
    const id = ++this.#eventId;
    this.#send({ type: 'ping', ping_event: { event_id: id, ping_ms: 12 } });
    return id;
  }

  callTool(name: string, parameters: Record<string, unknown>): string {
    const id = `toolu_${randomUUID()}`;
    this.#send({
      type: 'client_tool_call',
      client_tool_call: { tool_name: name, tool_call_id: id, parameters, event_id: ++this.#eventId },
    });
    return id;
  }

  /** An `error` event, then the close its code names. */
  fail(): void {
    this.#send({ type: 'error', error_event: { code: 1011, error_type: 'llm_error', message: 'The LLM did not answer.' } });
    this.ws.close(1011, 'llm_error');
  }
}

export class ElevenLabsStandIn extends StandIn<ElevenLabsSession> {
  /** the audio formats of the agent that new sessions speak */
  formats: { input: Format; output: Format } = { input: 'pcm_16000', output: 'pcm_16000' };

  static async listen(): Promise<ElevenLabsStandIn> {
    const standIn: ElevenLabsStandIn = new ElevenLabsStandIn((ws, req) => new ElevenLabsSession(ws, req, { ...standIn.formats }));
    return standIn.start();
  }

  get conversationUrl(): string {
    return this.url('/v1/convai/conversation?agent_id=agent_7101k0example');
  }
}
