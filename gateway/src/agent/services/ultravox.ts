import type { Route } from '../../route.js';
import type { AgentSocket } from '../AgentSocket.js';
import { obj, type DialectContext, type DialTarget } from '../dialects/Dialect.js';
import { PayloadCodec } from '../dialects/payload.js';
import { postJson } from './httpPost.js';
import { ServiceDialect } from './ServiceDialect.js';
import type { ToolSpec } from './tools.js';

/**
 * Ultravox publishes no type package: its messages, by hand from https://docs.ultravox.ai
 * (apps/websockets, apps/datamessages, api-reference/calls/calls-post).
 */
interface UltravoxServerWebSocket {
  inputSampleRate: number;
  outputSampleRate?: number;
  clientBufferSizeMs?: number;
}
interface UltravoxCreateCall {
  medium: { serverWebSocket: UltravoxServerWebSocket };
  selectedTools?: unknown[];
  [field: string]: unknown;
}
interface UltravoxCreatedCall {
  callId?: string;
  joinUrl: string;
}
interface UltravoxTemporaryTool {
  temporaryTool: {
    modelToolName: string;
    description: string;
    dynamicParameters: { name: string; location: 'PARAMETER_LOCATION_BODY'; schema: unknown; required: boolean }[];
    client: Record<string, never>;
  };
}
type UltravoxOut =
  | { type: 'client_tool_result'; invocationId: string; result: string; responseType?: string }
  | { type: 'user_text_message'; text: string }
  | { type: 'ping'; timestamp: number };

/**
 * The agent buffers this much of the model's audio, ms: Ultravox then streams faster than real
 * time, and says `playback_clear_buffer` when the caller interrupts (its docs' advice).
 */
const CLIENT_BUFFER_MS = 30_000;

/**
 * Ultravox Realtime, the gateway as a `serverWebSocket` client. The route's URL is where calls
 * are created (`POST https://api.ultravox.ai/api/calls`, or an agent's `…/agents/{id}/calls`),
 * with its headers (`X-API-Key`); the body is the route's `session` (systemPrompt, voice, model,
 * selectedTools…) with `medium.serverWebSocket` at the route's rates and the built-in tools as
 * client tools. The `joinUrl` it answers is checked by the dial guard and dialled.
 *
 * Audio is binary s16le both ways. `playback_clear_buffer` clears the playout; after the
 * gateway's own barge-in the rest of the turn is dropped until the agent leaves `speaking`.
 * `client_tool_invocation` runs the ToolRunner and answers `client_tool_result`; keypad digits
 * go as `user_text_message`.
 */
export class UltravoxDialect extends ServiceDialect {
  readonly #codec = new PayloadCodec('l16le');
  /** the agent's last `state`: while `speaking`, its turn is still streaming */
  #state = '';

  constructor(route: Route, ctx?: DialectContext) {
    super(route, ctx, 'ultravox');
  }

  async prepare(dial: DialTarget): Promise<DialTarget> {
    const s = this.session;
    const tools = this.builtinTools().map(clientTool);
    const body: UltravoxCreateCall = {
      ...s,
      medium: { serverWebSocket: { inputSampleRate: this.inRate, outputSampleRate: this.outRate, clientBufferSizeMs: CLIENT_BUFFER_MS } },
      ...(tools.length > 0
        ? { selectedTools: [...(Array.isArray(s['selectedTools']) ? (s['selectedTools'] as unknown[]) : []), ...tools] }
        : {}),
    };
    const res = await postJson(dial.url, dial.headers, body, { guard: this.ctx.guard, timeoutMs: this.ctx.connectTimeoutMs });
    if (res.status < 200 || res.status > 299)
      throw new Error(`ultravox: creating the call answered HTTP ${res.status}: ${res.body.slice(0, 200).replace(/\s+/g, ' ')}`);
    let created: Partial<UltravoxCreatedCall>;
    try {
      created = JSON.parse(res.body) as Partial<UltravoxCreatedCall>;
    } catch {
      throw new Error('ultravox: the created call is not JSON');
    }
    const join = created.joinUrl;
    if (typeof join !== 'string' || !/^wss?:\/\//.test(join) || !URL.canParse(join))
      throw new Error('ultravox: the created call has no ws(s):// joinUrl');
    return { url: join, headers: {} };
  }

  protected open(): void {}

  audio(sock: AgentSocket, frame: Int16Array): void {
    sock.sendBinary(this.#codec.bytes(frame));
  }

  protected override binary(data: Uint8Array): void {
    this.play(data);
  }

  protected json(m: Record<string, unknown>): void {
    switch (m['type']) {
      case 'playback_clear_buffer':
        this.cmds.clear();
        return this.unmute();
      case 'state':
        this.#state = typeof m['state'] === 'string' ? m['state'] : '';
        if (this.#state !== 'speaking') this.unmute();
        return;
      case 'client_tool_invocation':
        return this.#toolCall(m);
      default:
      // call_started, transcript, pong, debug…: nothing for the media path
    }
  }

  #toolCall(m: Record<string, unknown>): void {
    const id = m['invocationId'];
    const name = m['toolName'];
    if (typeof id !== 'string' || typeof name !== 'string')
      return this.cmds.invalid('CONTROL_INVALID', 'ultravox: client_tool_invocation needs toolName and invocationId');
    this.callTool(name, m['parameters'] ?? {}, (result) => this.#send({ type: 'client_tool_result', invocationId: id, result }));
  }

  protected interrupted(): void {
    this.cmds.clear();
    this.muted = this.#state === 'speaking';
  }

  protected userText(text: string): void {
    this.#send({ type: 'user_text_message', text });
  }

  #send(msg: UltravoxOut): void {
    this.send(msg);
  }
}

/** A built-in tool as an Ultravox client tool: its JSON Schema properties become body parameters. */
function clientTool(t: ToolSpec): UltravoxTemporaryTool {
  const props = obj(t.parameters['properties']);
  const required = Array.isArray(t.parameters['required']) ? (t.parameters['required'] as unknown[]) : [];
  return {
    temporaryTool: {
      modelToolName: t.name,
      description: t.description,
      dynamicParameters: Object.entries(props).map(([name, schema]) => ({
        name,
        location: 'PARAMETER_LOCATION_BODY',
        schema,
        required: required.includes(name),
      })),
      client: {},
    },
  };
}
