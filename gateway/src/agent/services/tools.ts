import { performance } from 'node:perf_hooks';
import { SIGNATURE_HEADER, signDial } from '../../auth.js';
import { log } from '../../log.js';
import type { DialGuard } from '../dialGuard.js';
import { postJson } from './httpPost.js';
import type { ToolOptions } from './options.js';
import type { Secrets } from './secrets.js';

/** A tool as every service declares one: a name, what it is for, its parameters (JSON Schema). */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** What the model is told a call returned, and what the call does next. */
export interface ToolOutcome {
  /** the function's output, as the service takes it (a string; JSON for the webhook's answers) */
  output: string;
  then?: { hangup: true } | { transfer: string };
}

export interface ToolContext {
  callId: string;
  dialect: string;
  /** where the webhook may be reached (the agents' dial guard) */
  guard?: DialGuard | undefined;
  /** the gateway's signing secret (auth.ts signDial), or null */
  secret: string | null;
  secrets: Secrets;
  /** whether the call's edge can transfer (SIP) */
  canTransfer: boolean;
}

const HANGUP = 'hangup';
const TRANSFER = 'transfer';

/**
 * A call's function calls, whatever the service: the built-in `hangup` and `transfer` tools
 * (when the route switches them on), else a POST to the route's webhook, signed as agent
 * dial-outs are (`X-Gateway-Signature` over the call id and the webhook URL, auth.ts), checked
 * by the dial guard. Never throws: a failure is an `{"error"}` output the model can speak about.
 */
export class ToolRunner {
  readonly #o: ToolOptions | undefined;
  readonly #ctx: ToolContext;

  constructor(opts: ToolOptions | undefined, ctx: ToolContext) {
    this.#o = opts;
    this.#ctx = ctx;
  }

  /** The built-in tools this route switches on, to declare in the service's session. */
  builtins(): ToolSpec[] {
    const out: ToolSpec[] = [];
    if (this.#o?.hangup === true)
      out.push({
        name: HANGUP,
        description: 'End the phone call. Say goodbye first: the line is closed once that has been heard.',
        parameters: { type: 'object', properties: { reason: { type: 'string', description: 'why the call ends' } } },
      });
    const targets = this.#o?.transfer;
    if (targets)
      out.push({
        name: TRANSFER,
        description: `Transfer the caller to another party: ${Object.keys(targets).join(', ')}.`,
        parameters: {
          type: 'object',
          properties: { target: { type: 'string', enum: Object.keys(targets) } },
          required: ['target'],
        },
      });
    return out;
  }

  /** Runs one function call; `args` is the model's arguments (a JSON string, or an object). */
  async run(name: string, args: unknown): Promise<ToolOutcome> {
    const parsed = typeof args === 'string' ? safeParse(args) : args;
    if (name === HANGUP && this.#o?.hangup === true) return { output: '{"ok":true}', then: { hangup: true } };
    const targets = this.#o?.transfer;
    if (name === TRANSFER && targets) {
      const target = (parsed as { target?: unknown } | null)?.target;
      const to = typeof target === 'string' && Object.hasOwn(targets, target) ? targets[target] : undefined;
      if (to === undefined) return { output: JSON.stringify({ error: `unknown target; one of ${Object.keys(targets).join(', ')}` }) };
      if (!this.#ctx.canTransfer) return { output: '{"error":"this call cannot be transferred"}' };
      return { output: '{"ok":true}', then: { transfer: to } };
    }
    const url = this.#o?.url;
    if (url === undefined) return { output: JSON.stringify({ error: `no tool named ${name}` }) };
    return this.#webhook(url, name, parsed);
  }

  async #webhook(url: string, name: string, args: unknown): Promise<ToolOutcome> {
    const { callId, dialect, secret, secrets } = this.#ctx;
    const t0 = performance.now();
    try {
      const headers: Record<string, string> = { ...secrets.headers(this.#o?.headers ?? {}, 'tools'), 'x-gateway-call-id': callId };
      if (secret !== null) headers[SIGNATURE_HEADER] = signDial(secret, url, callId);
      const res = await postJson(
        url,
        headers,
        { callId, dialect, name, arguments: args },
        { guard: this.#ctx.guard, timeoutMs: this.#o!.timeoutMs },
      );
      log('info', 'tool_call', { callId, name, status: res.status, ms: Math.round(performance.now() - t0) });
      if (res.status < 200 || res.status > 299)
        return { output: JSON.stringify({ error: `the tool service answered HTTP ${res.status}` }) };
      return { output: res.body.trim() === '' ? '{"ok":true}' : res.body };
    } catch (err) {
      const message = secrets.redact((err as Error).message);
      log('warn', 'tool_call_failed', { callId, name, message, ms: Math.round(performance.now() - t0) });
      return { output: JSON.stringify({ error: `the tool failed: ${message}` }) };
    }
  }
}

function safeParse(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
