import type { agent, ThinkSettingsV1 } from '@deepgram/sdk';
import { log } from '../../log.js';
import type { Route } from '../../route.js';
import type { AgentSocket } from '../AgentSocket.js';
import { obj, type DialectContext } from '../dialects/Dialect.js';
import { PayloadCodec } from '../dialects/payload.js';
import { ServiceDialect, textOf } from './ServiceDialect.js';

type DeepgramOut = agent.AgentV1Settings | agent.AgentV1KeepAlive | agent.AgentV1SendFunctionCallResponse | agent.AgentV1InjectUserMessage;
type Think = NonNullable<agent.AgentV1Settings.Agent['think']>;

/**
 * `KeepAlive` this often, ms: the agent closes a connection that has carried nothing for about
 * 10 s, as a caller on hold or behind silence suppression sends nothing.
 */
const KEEPALIVE_MS = 5000;

/**
 * Deepgram Voice Agent API, the gateway as its WebSocket client.
 * https://developers.deepgram.com/docs/voice-agent (and its API reference)
 *
 * Waits for `Welcome`, sends `Settings` (the route's `session`: `agent.listen/think/speak`,
 * greeting…, with the audio formats the route chose: `linear16` at the route's rates, or `mulaw`
 * at 8 kHz, `container: "none"`, and the built-in tools added to `agent.think.functions` as
 * client-side functions), then waits for `SettingsApplied` before any audio. Audio is binary
 * both ways. `UserStartedSpeaking` (the agent heard the caller over itself) clears the playout;
 * after the gateway's own barge-in the rest of the turn is dropped until the agent's next
 * `AgentStartedSpeaking`. `FunctionCallRequest` for client-side functions runs the ToolRunner
 * and answers `FunctionCallResponse`. `Error` ends the session (the route's failover decides).
 */
export class DeepgramDialect extends ServiceDialect {
  override readonly handshake = true;
  readonly #in: PayloadCodec;
  readonly #out: PayloadCodec;
  #keepAlive: NodeJS.Timeout | null = null;
  /** between AgentStartedSpeaking and AgentAudioDone: the agent's turn is still streaming */
  #speaking = false;

  constructor(route: Route, ctx?: DialectContext) {
    super(route, ctx, 'deepgram');
    this.#in = new PayloadCodec(this.inRate === 8000 ? 'mulaw' : 'l16le');
    this.#out = new PayloadCodec(this.outRate === 8000 ? 'mulaw' : 'l16le');
  }

  /** Settings wait for the agent's Welcome. */
  protected open(): void {}

  audio(sock: AgentSocket, frame: Int16Array): void {
    sock.sendBinary(this.#in.bytes(frame));
  }

  protected override binary(data: Uint8Array): void {
    this.play(this.#out.decodeBytes(data));
  }

  protected json(m: Record<string, unknown>): void {
    switch (m['type']) {
      case 'Welcome':
        return this.#settings();
      case 'SettingsApplied':
        this.#keepAlive ??= setInterval(() => this.#send({ type: 'KeepAlive' }), KEEPALIVE_MS);
        return this.link.sessionReady();
      case 'UserStartedSpeaking':
        this.cmds.clear();
        this.#speaking = false;
        return this.unmute();
      case 'AgentStartedSpeaking':
        this.#speaking = true;
        return this.unmute();
      case 'AgentAudioDone':
        this.#speaking = false;
        return;
      case 'FunctionCallRequest':
        if (Array.isArray(m['functions'])) for (const f of m['functions']) this.#functionCall(obj(f));
        return;
      case 'Error':
        return this.serviceError(`${textOf(m['code']) || 'error'}: ${textOf(m['description'])}`, true);
      case 'Warning':
        log('warn', 'agent_service_warning', { callId: this.ctx.callId, dialect: this.name, warning: textOf(m['description']) });
        return;
      default:
      // ConversationText, AgentThinking, History…: nothing for the media path
    }
  }

  #settings(): void {
    const s = this.session as Partial<agent.AgentV1Settings>;
    const functions = this.builtinTools();
    const addFunctions = (t: ThinkSettingsV1): ThinkSettingsV1 => ({ ...t, functions: [...(t.functions ?? []), ...functions] });
    const think = s.agent?.think;
    const withTools: Think | undefined =
      think === undefined || functions.length === 0 ? think : Array.isArray(think) ? think.map(addFunctions) : addFunctions(think);
    const settings: agent.AgentV1Settings = {
      ...s,
      type: 'Settings',
      audio: {
        input: { encoding: this.#in.g711 ? 'mulaw' : 'linear16', sample_rate: this.inRate },
        output: { encoding: this.#out.g711 ? 'mulaw' : 'linear16', sample_rate: this.outRate, container: 'none' },
      },
      agent: { ...s.agent, ...(withTools !== undefined ? { think: withTools } : {}) },
    };
    this.#send(settings);
  }

  #functionCall(f: Record<string, unknown>): void {
    const { id, name } = f;
    if (typeof id !== 'string' || typeof name !== 'string')
      return this.cmds.invalid('CONTROL_INVALID', 'deepgram: a function call needs id and name');
    if (f['client_side'] === false) return; // the agent calls its own endpoint
    this.callTool(name, f['arguments'] ?? '{}', (content) => this.#send({ type: 'FunctionCallResponse', id, name, content }));
  }

  protected interrupted(): void {
    this.cmds.clear();
    this.muted = this.#speaking;
  }

  protected userText(text: string): void {
    this.#send({ type: 'InjectUserMessage', content: text });
  }

  override dispose(): void {
    super.dispose();
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  #send(msg: DeepgramOut): void {
    this.send(msg);
  }
}
