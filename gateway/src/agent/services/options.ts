import { GatewayError } from '../../errors.js';
import type { Dialect } from '../../route.js';

/**
 * The route options of the AI-service dialects (the gateway is the service's client): `session`,
 * passed into the service's own session setup, and `tools`, the function-call webhook and the
 * built-in tools. Parsed here, not in route.ts, which only spreads the result into the agent.
 * (No value imports from route.ts: it imports this module, and a cycle must not reach its constants.)
 */
export const SERVICE_DIALECTS = ['openai-realtime', 'gemini-live', 'elevenlabs', 'deepgram', 'ultravox'] as const;
export type ServiceDialectName = (typeof SERVICE_DIALECTS)[number];

export function isServiceDialect(d: string): d is ServiceDialectName {
  return (SERVICE_DIALECTS as readonly string[]).includes(d);
}

export interface ToolOptions {
  /** http(s) URL each function call is POSTed to (signed like agent dial-outs); absent: no webhook */
  url?: string;
  /** headers of the webhook request (`${NAME}` read from the environment, as for the agent) */
  headers: Readonly<Record<string, string>>;
  /** the built-in `hangup` tool: the model may end the call (after what it said has played) */
  hangup: boolean;
  /** the built-in `transfer` tool: names the model may choose → SIP URIs (SIP calls only); null: off */
  transfer: Readonly<Record<string, string>> | null;
  /** ms the webhook has to answer */
  timeoutMs: number;
}

/** A `${NAME}` placeholder: read from the gateway's environment at dial time (secrets.ts). */
export const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function fail(field: string, why: string): never {
  throw new GatewayError('CONFIG_INVALID', `${field}: ${why}`);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Refuses a `${` that is not a well-formed placeholder (a typo would otherwise go out verbatim). */
export function checkPlaceholders(headers: Readonly<Record<string, string>>, field: string): void {
  for (const [k, v] of Object.entries(headers))
    if (v.replace(PLACEHOLDER, '').includes('${')) fail(`${field}.${k}`, 'a placeholder must read ${NAME} (letters, digits, _)');
}

function stringMap(v: unknown, field: string): Record<string, string> {
  if (!isObj(v) || !Object.values(v).every((x) => typeof x === 'string')) fail(field, 'must map names to strings');
  return { ...(v as Record<string, string>) };
}

function parseTools(v: unknown, field: string): ToolOptions {
  if (!isObj(v)) fail(field, 'must be an object');
  const known = ['url', 'headers', 'hangup', 'transfer', 'timeoutMs'];
  for (const k of Object.keys(v)) if (!known.includes(k)) fail(`${field}.${k}`, `unknown option (known: ${known.join(', ')})`);
  const url = v['url'];
  if (url !== undefined && (typeof url !== 'string' || !/^https?:\/\//.test(url) || !URL.canParse(url)))
    fail(`${field}.url`, 'must be an http:// or https:// URL');
  const headers = stringMap(v['headers'] ?? {}, `${field}.headers`);
  checkPlaceholders(headers, `${field}.headers`);
  const hangup = v['hangup'] ?? false;
  if (typeof hangup !== 'boolean') fail(`${field}.hangup`, 'must be a boolean');
  let transfer: Record<string, string> | null = null;
  if (v['transfer'] !== undefined) {
    transfer = stringMap(v['transfer'], `${field}.transfer`);
    const names = Object.keys(transfer);
    if (names.length === 0) fail(`${field}.transfer`, 'must name at least one target');
    for (const [name, to] of Object.entries(transfer)) {
      if (!/^[\w-]{1,64}$/.test(name)) fail(`${field}.transfer.${name}`, 'target names are letters, digits, _ and -');
      if (!/^sips?:/.test(to)) fail(`${field}.transfer.${name}`, 'must be a sip: URI');
    }
  }
  const timeoutMs = v['timeoutMs'] ?? 10_000;
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 60_000)
    fail(`${field}.timeoutMs`, 'must be an integer 100..60000');
  return Object.freeze({
    ...(url !== undefined ? { url } : {}),
    headers: Object.freeze(headers),
    hangup,
    transfer: transfer && Object.freeze(transfer),
    timeoutMs,
  });
}

/** `session` and `tools` of an agent target (AI services only), and the placeholders of its headers. */
export function parseServiceOptions(
  agent: Record<string, unknown>,
  dialect: Dialect,
  field: string,
): { session?: Readonly<Record<string, unknown>>; tools?: ToolOptions } {
  checkPlaceholders((agent['headers'] ?? {}) as Record<string, string>, `${field}.headers`);
  const service = isServiceDialect(dialect);
  const out: { session?: Readonly<Record<string, unknown>>; tools?: ToolOptions } = {};
  for (const k of ['session', 'tools'] as const)
    if (agent[k] !== undefined && !service) fail(`${field}.${k}`, `applies to the AI service dialects (${SERVICE_DIALECTS.join(', ')})`);
  const session = agent['session'];
  if (session !== undefined) {
    if (!isObj(session)) fail(`${field}.session`, 'must be an object');
    // A deep copy, frozen at the top: it is merged into each call's setup message.
    out.session = Object.freeze(JSON.parse(JSON.stringify(session)) as Record<string, unknown>);
  }
  if (dialect === 'gemini-live' && typeof out.session?.['model'] !== 'string')
    fail(`${field}.session.model`, 'Gemini Live needs the model, e.g. "models/gemini-2.5-flash-native-audio-preview-09-2025"');
  if (agent['tools'] !== undefined) out.tools = parseTools(agent['tools'], `${field}.tools`);
  return out;
}
