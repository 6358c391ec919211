import type { FunctionResponse, GenerationConfig, LiveClientMessage, LiveClientSetup, Modality, Tool } from '@google/genai';
import { log } from '../../log.js';
import type { Route } from '../../route.js';
import type { GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';
import type { DialectContext } from '../dialects/Dialect.js';
import { PayloadCodec } from '../dialects/payload.js';
import { ServiceDialect } from './ServiceDialect.js';

/** What the gateway sends: the SDK's message shapes, with enums as their JSON strings and plain objects for its classes. */
type Setup = Omit<LiveClientSetup, 'generationConfig'> & {
  generationConfig?: Omit<GenerationConfig, 'responseModalities'> & { responseModalities?: `${Modality}`[] };
};
type GeminiOut =
  | { setup: Setup }
  | Pick<LiveClientMessage, 'realtimeInput'>
  | { toolResponse: { functionResponses: Pick<FunctionResponse, 'id' | 'name' | 'response'>[] } };

/** Resume this long before the server's deadline at the latest, ms (a turn still playing out waits until then). */
const GO_AWAY_MARGIN_MS = 1000;

/**
 * Gemini Live API (BidiGenerateContent), the gateway as its WebSocket client.
 * https://ai.google.dev/api/live
 *
 * Sends `setup` first (the form of the API reference and of the @google/genai SDK: the route's
 * `session` with `model`, `generationConfig.responseModalities` AUDIO, the built-in tools as
 * function declarations, and `sessionResumption`) and waits for `setupComplete` before any audio.
 * Caller audio goes as `realtimeInput.audio` (`audio/pcm;rate=16000` by default); the model
 * speaks `serverContent.modelTurn.parts[].inlineData` at 24 kHz (the route's output rate).
 * `serverContent.interrupted` clears the playout. With automatic activity detection disabled in
 * the session, the gateway's own speech detection sends `activityStart`/`activityEnd`.
 *
 * `goAway`: the server will close soon. The gateway reconnects with the last resumable handle
 * (`sessionResumptionUpdate`) once the current turn has played out (or just before the
 * deadline): the call goes on, caller audio is held meanwhile, queued audio keeps playing.
 */
export class GeminiLiveDialect extends ServiceDialect {
  override readonly handshake = true;
  readonly #codec = new PayloadCodec('l16le');
  readonly #mime: string;
  #handle: string | null = null;
  #generating = false;
  #resumePending = false;
  #resumeTimer: NodeJS.Timeout | null = null;
  /** the session turned automatic activity detection off: the gateway's VAD marks the caller's turns */
  readonly #manualActivity: boolean;

  constructor(route: Route, ctx?: DialectContext) {
    super(route, ctx, 'gemini-live');
    this.#mime = `audio/pcm;rate=${this.inRate}`;
    const s = this.session as LiveClientSetup;
    this.#manualActivity = s.realtimeInputConfig?.automaticActivityDetection?.disabled === true;
  }

  protected open(): void {
    const s = this.session as Setup;
    const builtins = this.builtinTools().map(({ name, description, parameters }) => ({
      name,
      description,
      parametersJsonSchema: parameters,
    }));
    const tools: Tool[] = [...((s.tools ?? []) as Tool[]), ...(builtins.length > 0 ? [{ functionDeclarations: builtins }] : [])];
    const setup: Setup = {
      ...s,
      generationConfig: { ...s.generationConfig, responseModalities: ['AUDIO'] },
      ...(tools.length > 0 ? { tools } : {}),
      sessionResumption: { ...s.sessionResumption, ...(this.#handle !== null ? { handle: this.#handle } : {}) },
    };
    this.#send({ setup });
    this.#generating = false;
  }

  audio(sock: AgentSocket, frame: Int16Array): void {
    sock.sendText(
      JSON.stringify({ realtimeInput: { audio: { data: this.#codec.encode(frame), mimeType: this.#mime } } } satisfies GeminiOut),
    );
  }

  override event(sock: AgentSocket, ev: GatewayEvent): void {
    super.event(sock, ev);
    if (!this.#manualActivity) return;
    if (ev.type === 'speech_started') this.#send({ realtimeInput: { activityStart: {} } });
    else if (ev.type === 'speech_stopped') this.#send({ realtimeInput: { activityEnd: {} } });
  }

  protected json(m: Record<string, unknown>): void {
    if (m['setupComplete'] !== undefined) {
      if (this.#handle !== null) log('info', 'agent_session_resumed', { callId: this.ctx.callId, dialect: this.name });
      return this.link.sessionReady();
    }
    const content = m['serverContent'];
    if (isObj(content)) this.#content(content);
    const call = m['toolCall'];
    if (isObj(call) && Array.isArray(call['functionCalls'])) for (const f of call['functionCalls']) this.#functionCall(f);
    const update = m['sessionResumptionUpdate'];
    if (isObj(update) && update['resumable'] === true && typeof update['newHandle'] === 'string' && update['newHandle'] !== '')
      this.#handle = update['newHandle'];
    const goAway = m['goAway'];
    if (isObj(goAway)) this.#goAway(goAway['timeLeft']);
  }

  #content(c: Record<string, unknown>): void {
    const turn = c['modelTurn'];
    const parts = isObj(turn) && Array.isArray(turn['parts']) ? (turn['parts'] as unknown[]) : [];
    for (const part of parts) {
      const data = isObj(part) ? part['inlineData'] : undefined;
      if (!isObj(data) || typeof data['data'] !== 'string') continue;
      const mime = typeof data['mimeType'] === 'string' ? data['mimeType'] : '';
      const rate = Number(/rate=(\d+)/.exec(mime)?.[1] ?? 24000);
      if (!mime.startsWith('audio/pcm') || rate !== this.outRate) {
        this.cmds.invalid('CONTROL_INVALID', `gemini-live: audio ${JSON.stringify(mime)} is not PCM at the route's ${this.outRate} Hz`);
        continue;
      }
      this.#generating = true;
      this.play(this.#codec.decode(data['data']));
    }
    if (c['interrupted'] === true) {
      this.cmds.clear();
      this.unmute();
    }
    if (c['interrupted'] === true || c['turnComplete'] === true) {
      this.#generating = false;
      this.unmute();
      if (this.#resumePending) this.#resume();
    }
  }

  #functionCall(f: unknown): void {
    if (!isObj(f) || typeof f['name'] !== 'string')
      return this.cmds.invalid('CONTROL_INVALID', 'gemini-live: a function call without a name');
    const { name } = f;
    const id = typeof f['id'] === 'string' ? f['id'] : undefined;
    this.callTool(name, f['args'] ?? {}, (output) => {
      let v: unknown = output;
      try {
        v = JSON.parse(output);
      } catch {
        // a plain-text answer stays text
      }
      const response = isObj(v) && 'error' in v ? { error: v['error'] } : { output: v };
      const r: Pick<FunctionResponse, 'id' | 'name' | 'response'> = { name, response, ...(id !== undefined ? { id } : {}) };
      this.#send({ toolResponse: { functionResponses: [r] } });
    });
  }

  protected interrupted(): void {
    // No client cancel in this protocol: the playout is cleared, and the rest of a turn still
    // streaming is muted until the server says `interrupted` (it heard the caller too) or `turnComplete`.
    this.cmds.clear();
    this.muted = this.#generating;
  }

  protected userText(text: string): void {
    this.#send({ realtimeInput: { text } });
  }

  /** The server will close within `timeLeft` (a protobuf Duration, "12.5s"). */
  #goAway(timeLeft: unknown): void {
    if (this.#handle === null) {
      this.serviceError('goAway with no resumable session handle: the session will end', false);
      return;
    }
    this.#resumePending = true;
    if (!this.#generating) return this.#resume();
    const s = Number(/^(\d+(?:\.\d+)?)s$/.exec(typeof timeLeft === 'string' ? timeLeft : '')?.[1] ?? 0);
    this.#resumeTimer = setTimeout(() => this.#resume(), Math.max(0, s * 1000 - GO_AWAY_MARGIN_MS));
  }

  #resume(): void {
    if (this.#resumeTimer !== null) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = null;
    if (!this.#resumePending || this.disposed) return;
    this.#resumePending = false;
    log('info', 'agent_session_resuming', { callId: this.ctx.callId, dialect: this.name });
    this.link.reconnect();
  }

  override dispose(): void {
    super.dispose();
    if (this.#resumeTimer !== null) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = null;
  }

  #send(msg: GeminiOut): void {
    this.send(msg);
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
