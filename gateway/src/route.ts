import { GatewayError } from './errors.js';
import { DEFAULT_BARGE_IN, type BargeInOptions } from './media/BargeIn.js';
import { parseServiceOptions, SERVICE_DIALECTS, type ToolOptions } from './agent/services/options.js';

/** Agent rates the native protocol offers (PCM16 mono). */
export const AGENT_RATES = [8000, 16000, 24000, 48000] as const;
export type AgentRate = (typeof AGENT_RATES)[number];
export const DIALECTS = ['native', 'twilio', 'telnyx', 'plivo', 'vobiz', 'exotel', 'vonage', 'jambonz', ...SERVICE_DIALECTS] as const;
export type Dialect = (typeof DIALECTS)[number];

/**
 * PCM rates each dialect can carry, default first: what the emulated CPaaS offers (Twilio and
 * Telnyx: µ-law 8 kHz only; Plivo/Vobiz: µ-law 8 kHz or L16 16 kHz; Exotel and Vonage: L16
 * 8/16/24 kHz; jambonz: L16 up to 48 kHz).
 */
export const DIALECT_RATES: Record<Dialect, readonly AgentRate[]> = {
  native: [24000, 8000, 16000, 48000],
  twilio: [8000],
  telnyx: [8000],
  plivo: [8000, 16000],
  vobiz: [8000, 16000],
  exotel: [8000, 16000, 24000],
  vonage: [16000, 8000, 24000],
  jambonz: [8000, 16000, 24000, 48000],
  // AI services (agent/services/): OpenAI 8000 = G.711 as the edge speaks it, 24000 = its PCM
  'openai-realtime': [8000, 24000],
  'gemini-live': [16000, 8000, 24000],
  elevenlabs: [16000, 8000, 24000, 48000],
  deepgram: [16000, 8000, 24000, 48000],
  ultravox: [16000, 8000, 24000, 48000],
};

/**
 * Rates of the agent's own audio (`outputRate`) where they may differ from `sampleRate` (default:
 * `sampleRate` when listed, else the first): Gemini Live always speaks 24 kHz PCM; ElevenLabs as
 * its agent is set up; Deepgram and Ultravox as asked. Every other dialect speaks as it hears.
 */
export const DIALECT_OUTPUT_RATES: Partial<Record<Dialect, readonly AgentRate[]>> = {
  'gemini-live': [24000],
  elevenlabs: AGENT_RATES,
  deepgram: AGENT_RATES,
  ultravox: AGENT_RATES,
};

export interface AgentTarget {
  /** ws(s)://… (dial-out), 'builtin:echo', or 'dial-in' (the agent attaches to /v1/calls/{id}/agent) */
  url: string;
  dialect: Dialect;
  headers: Readonly<Record<string, string>>;
  /** times to dial again (200 ms, then 400 ms, … apart) when unreachable or closed mid-call, before the fallback */
  retries: number;
  /** AI services: passed into the service's own session setup (agent/services/) */
  session?: Readonly<Record<string, unknown>>;
  /** AI services: the function-call webhook and the built-in tools */
  tools?: ToolOptions;
}

/** Codecs a SIP call may negotiate, the default order of preference (RFC 3264 answer). */
export const DEFAULT_CODECS = ['PCMU', 'PCMA', 'opus'] as const;
export type NegotiableCodec = (typeof DEFAULT_CODECS)[number];

export interface Route {
  agent: AgentTarget;
  /** SIP: the codecs to answer with, in order of preference */
  codecs: readonly NegotiableCodec[];
  /** dialled when the agent (and its retries) fail; then the call hangs up with the reason */
  fallback: AgentTarget | null;
  /** Hz of the PCM16 exchanged with the agent */
  sampleRate: AgentRate;
  /** Hz of the agent's audio when it differs from `sampleRate` (DIALECT_OUTPUT_RATES); absent: `sampleRate` */
  outputRate?: AgentRate;
  /** RNNoise: always (true), never (false), or where the call's measured SNR says it helps ('auto', the default) */
  denoise: boolean | 'auto';
  params: Readonly<Record<string, unknown>>;
  /** barge-in detection; autoClear and duckEvents default on for the native dialect only (others cannot carry them) */
  bargeIn: Readonly<BargeInOptions>;
  /** record the call (call/CallRecorder.ts); null: not recorded (the default) */
  record: Readonly<RecordOptions> | null;
  /** where the end-of-call report is POSTed (api/eventsWebhook.ts); null: none */
  events: Readonly<{ url: string }> | null;
}

/** Recording options: the left channel is the caller before denoise ('raw', as received) or after ('denoised'). */
export interface RecordOptions {
  caller: 'raw' | 'denoised';
}

export const ECHO_ROUTE: Route = Object.freeze({
  codecs: DEFAULT_CODECS,
  agent: Object.freeze({ url: 'builtin:echo', dialect: 'native', headers: Object.freeze({}), retries: 0 }),
  fallback: null,
  sampleRate: 24000,
  denoise: 'auto',
  params: Object.freeze({}),
  bargeIn: Object.freeze({ ...DEFAULT_BARGE_IN }),
  record: null,
  events: null,
});

/** Hz of the agent's audio on a route. */
export function outputRateOf(route: Route): AgentRate {
  return route.outputRate ?? route.sampleRate;
}

/** Throws CONFIG_INVALID naming the field. */
export function fail(field: string, why: string): never {
  throw new GatewayError('CONFIG_INVALID', `${field}: ${why}`);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseAgentTarget(agent: unknown, field: string): AgentTarget {
  if (!isObject(agent)) fail(field, 'must be an object with a url');
  const url = agent['url'];
  if (typeof url !== 'string') fail(`${field}.url`, 'must be a string');
  if (url !== 'builtin:echo' && url !== 'dial-in') {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      fail(`${field}.url`, `not a URL: ${JSON.stringify(url)}`);
    }
    // Ultravox's URL is where its calls are created (HTTP); the WebSocket comes back from it.
    const http = agent['dialect'] === 'ultravox' && (u.protocol === 'https:' || u.protocol === 'http:');
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:' && !http)
      fail(`${field}.url`, `must be ws://, wss://, builtin:echo or dial-in, got ${u.protocol}`);
  }
  const dialect = agent['dialect'] ?? 'native';
  if (!(DIALECTS as readonly unknown[]).includes(dialect)) fail(`${field}.dialect`, `must be one of ${DIALECTS.join(', ')}`);
  const headers = agent['headers'] ?? {};
  if (!isObject(headers) || !Object.values(headers).every((h) => typeof h === 'string'))
    fail(`${field}.headers`, 'must map names to strings');
  const retries = agent['retries'] ?? 0;
  if (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 5)
    fail(`${field}.retries`, 'must be an integer 0..5');
  return Object.freeze({
    url,
    dialect: dialect as Dialect,
    headers: Object.freeze({ ...(headers as Record<string, string>) }),
    retries,
    ...parseServiceOptions(agent, dialect as Dialect, field),
  });
}

/** Whether a dialect's agent speaks at `rate` on a route whose caller audio is at `sampleRate`. */
function speaks(dialect: Dialect, rate: unknown, sampleRate: AgentRate): boolean {
  const allowed = DIALECT_OUTPUT_RATES[dialect];
  return allowed === undefined ? rate === sampleRate : (allowed as readonly unknown[]).includes(rate);
}

/** The rate of the agent's audio on a route: `outputRate` where the dialect allows one, else `sampleRate`. */
function parseOutputRate(v: unknown, agent: AgentTarget, fallback: AgentTarget | null, sampleRate: AgentRate, field: string): AgentRate {
  const allowed = DIALECT_OUTPUT_RATES[agent.dialect];
  const out = v ?? (allowed?.includes(sampleRate) === false ? allowed[0] : sampleRate);
  if (!speaks(agent.dialect, out, sampleRate))
    fail(
      `${field}.outputRate`,
      `must be ${allowed === undefined ? sampleRate : `one of ${allowed.join(', ')}`} for the ${agent.dialect} dialect`,
    );
  if (fallback !== null && !speaks(fallback.dialect, out, sampleRate))
    fail(`${field}.fallback.dialect`, `${fallback.dialect} cannot speak the route's ${JSON.stringify(out)} Hz`);
  return out as AgentRate;
}

/** Validates a Route (inline in a request, or from the routing config). Errors name the field. */
export function parseRoute(v: unknown, field = 'route'): Route {
  if (!isObject(v)) fail(field, 'must be an object');
  const agent = parseAgentTarget(v['agent'], `${field}.agent`);
  const rates = DIALECT_RATES[agent.dialect];
  const sampleRate = v['sampleRate'] ?? rates[0];
  if (!(rates as readonly unknown[]).includes(sampleRate))
    fail(`${field}.sampleRate`, `must be one of ${rates.join(', ')} for the ${agent.dialect} dialect`);
  const fallback = v['fallback'] === undefined ? null : parseAgentTarget(v['fallback'], `${field}.fallback`);
  if (fallback !== null && !(DIALECT_RATES[fallback.dialect] as readonly unknown[]).includes(sampleRate)) {
    fail(`${field}.fallback.dialect`, `${fallback.dialect} cannot carry the route's ${JSON.stringify(sampleRate)} Hz`);
  }
  const outputRate = parseOutputRate(v['outputRate'], agent, fallback, sampleRate as AgentRate, field);
  // OpenAI Realtime takes the caller's G.711 codes straight through by default (bench/README.md#ai-services);
  // every other route denoises where the call's measured SNR says it helps.
  const denoise = v['denoise'] ?? (agent.dialect === 'openai-realtime' && sampleRate === 8000 ? false : 'auto');
  if (typeof denoise !== 'boolean' && denoise !== 'auto') fail(`${field}.denoise`, 'must be true, false or "auto"');
  const params = v['params'] ?? {};
  if (!isObject(params)) fail(`${field}.params`, 'must be an object');
  const bargeIn = parseBargeIn(v['bargeIn'], `${field}.bargeIn`, agent.dialect === 'native');
  const codecs = v['codecs'] ?? DEFAULT_CODECS;
  if (!Array.isArray(codecs) || codecs.length === 0 || !codecs.every((c) => (DEFAULT_CODECS as readonly unknown[]).includes(c)))
    fail(`${field}.codecs`, `must list codecs in order of preference, from ${DEFAULT_CODECS.join(', ')}`);
  return Object.freeze({
    codecs: Object.freeze([...(codecs as NegotiableCodec[])]),
    agent,
    fallback,
    sampleRate: sampleRate as AgentRate,
    ...(outputRate !== sampleRate ? { outputRate } : {}),
    denoise,
    params: Object.freeze({ ...params }),
    bargeIn,
    record: parseRecord(v['record'], `${field}.record`),
    events: parseEvents(v['events'], `${field}.events`),
  });
}

/** `record`: true/false, or {"caller": "raw"|"denoised"}. */
function parseRecord(v: unknown, field: string): Readonly<RecordOptions> | null {
  if (v === undefined || v === false) return null;
  if (v === true) return Object.freeze({ caller: 'raw' });
  if (!isObject(v)) fail(field, 'must be a boolean or {"caller": "raw"|"denoised"}');
  for (const k of Object.keys(v)) if (k !== 'caller') fail(`${field}.${k}`, 'unknown option (known: caller)');
  const caller = v['caller'] ?? 'raw';
  if (caller !== 'raw' && caller !== 'denoised') fail(`${field}.caller`, 'must be "raw" or "denoised"');
  return Object.freeze({ caller });
}

/** `events`: {"url": "https://…"}, where the end-of-call report goes. */
function parseEvents(v: unknown, field: string): Readonly<{ url: string }> | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail(field, 'must be {"url": "https://…"}');
  const url = v['url'];
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    fail(`${field}.url`, `must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  return Object.freeze({ url });
}

const BARGE_IN_RANGES: Record<keyof BargeInOptions, [number, number] | 'boolean'> = {
  enabled: 'boolean',
  autoClear: 'boolean',
  vadThreshold: [0, 1],
  minSpeechMs: [10, 2000],
  onsetMs: [10, 2000],
  echoMarginDb: [0, 30],
  erlPriorDb: [0, 60],
  minLevelDb: [-90, 0],
  echoWindowMs: [50, 1000],
  noiseMarginDb: [0, 40],
  silero: 'boolean',
  sileroThreshold: [0, 1],
  duckDb: [0, 40],
  duckMs: [0, 2000],
  shortUtteranceMs: [0, 3000],
  gapMs: [0, 1000],
  duckEvents: 'boolean',
};

function parseBargeIn(v: unknown, field: string, native: boolean): Readonly<BargeInOptions> {
  const out: BargeInOptions = { ...DEFAULT_BARGE_IN, autoClear: native, duckEvents: native };
  if (v === undefined) return Object.freeze(out);
  if (!isObject(v)) fail(field, 'must be an object');
  for (const [k, x] of Object.entries(v)) {
    const range = (BARGE_IN_RANGES as Partial<Record<string, (typeof BARGE_IN_RANGES)[keyof BargeInOptions]>>)[k];
    if (range === undefined) fail(`${field}.${k}`, `unknown option (known: ${Object.keys(BARGE_IN_RANGES).join(', ')})`);
    if (range === 'boolean') {
      if (typeof x !== 'boolean') fail(`${field}.${k}`, 'must be a boolean');
    } else if (typeof x !== 'number' || !(x >= range[0] && x <= range[1]))
      fail(`${field}.${k}`, `must be a number in ${range[0]}..${range[1]}`);
    (out as unknown as Record<string, unknown>)[k] = x;
  }
  return Object.freeze(out);
}
