import { readFileSync } from 'node:fs';
import os from 'node:os';
import { toE164 } from './e164.js';
import { GatewayError } from './errors.js';
import { DEFAULT_BARGE_IN, type BargeInOptions } from './media/BargeIn.js';

/** Agent rates the native protocol offers (PCM16 mono). */
export const AGENT_RATES = [8000, 16000, 24000, 48000] as const;
export type AgentRate = (typeof AGENT_RATES)[number];
export const DIALECTS = ['native', 'twilio', 'telnyx', 'plivo', 'vobiz', 'exotel', 'vonage', 'jambonz'] as const;
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
};

export interface AgentTarget {
  /** ws(s)://… (dial-out), 'builtin:echo', or 'dial-in' (the agent attaches to /v1/calls/{id}/agent) */
  url: string;
  dialect: Dialect;
  headers: Readonly<Record<string, string>>;
  /** times to dial again (200 ms, then 400 ms, … apart) when unreachable or closed mid-call, before the fallback */
  retries: number;
}

export interface Route {
  agent: AgentTarget;
  /** dialled when the agent (and its retries) fail; then the call hangs up with the reason */
  fallback: AgentTarget | null;
  /** Hz of the PCM16 exchanged with the agent */
  sampleRate: AgentRate;
  denoise: boolean;
  params: Readonly<Record<string, unknown>>;
  /** barge-in detection; autoClear defaults on for the native dialect only (others cannot say "cleared") */
  bargeIn: Readonly<BargeInOptions>;
}

export const ECHO_ROUTE: Route = Object.freeze({
  agent: Object.freeze({ url: 'builtin:echo', dialect: 'native', headers: Object.freeze({}), retries: 0 }),
  fallback: null,
  sampleRate: 24000,
  denoise: true,
  params: Object.freeze({}),
  bargeIn: Object.freeze({ ...DEFAULT_BARGE_IN }),
});

function fail(field: string, why: string): never {
  throw new GatewayError('CONFIG_INVALID', `${field}: ${why}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
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
    if (u.protocol !== 'ws:' && u.protocol !== 'wss:')
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
  return Object.freeze({ url, dialect: dialect as Dialect, headers: Object.freeze({ ...(headers as Record<string, string>) }), retries });
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
  const denoise = v['denoise'] ?? true;
  if (typeof denoise !== 'boolean') fail(`${field}.denoise`, 'must be a boolean');
  const params = v['params'] ?? {};
  if (!isObject(params)) fail(`${field}.params`, 'must be an object');
  const bargeIn = parseBargeIn(v['bargeIn'], `${field}.bargeIn`, agent.dialect === 'native');
  return Object.freeze({
    agent,
    fallback,
    sampleRate: sampleRate as AgentRate,
    denoise,
    params: Object.freeze({ ...params }),
    bargeIn,
  });
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
};

function parseBargeIn(v: unknown, field: string, native: boolean): Readonly<BargeInOptions> {
  const out: BargeInOptions = { ...DEFAULT_BARGE_IN, autoClear: native };
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

/**
 * Routing config (file named by GATEWAY_CONFIG):
 *   { "numbers": { "+14155550100": Route, "+4420*": Route }, "default": Route }
 * A key ending in '*' is a prefix; the longest matching prefix wins, exact numbers first.
 */
export class RoutingTable {
  readonly #exact = new Map<string, Route>();
  readonly #prefixes: [string, Route][] = [];
  readonly #default: Route;

  constructor(raw: unknown) {
    if (!isObject(raw)) fail('config', 'must be a JSON object');
    const numbers = raw['numbers'] ?? {};
    if (!isObject(numbers)) fail('config.numbers', 'must map E.164 numbers (or prefixes ending in *) to routes');
    for (const [key, route] of Object.entries(numbers)) {
      const field = `config.numbers[${JSON.stringify(key)}]`;
      const prefix = key.endsWith('*');
      const digits = prefix ? key.slice(0, -1) : key;
      let norm: string;
      if (prefix) {
        if (!/^\+?[0-9]{1,15}$/.test(digits.replace(/[\s-]/g, ''))) fail(field, 'prefix must be + and digits, then *');
        norm = digits.startsWith('+') ? digits : '+' + digits;
      } else {
        try {
          norm = toE164(digits);
        } catch (err) {
          fail(field, (err as Error).message);
        }
      }
      const r = parseRoute(route, field);
      if (prefix) this.#prefixes.push([norm, r]);
      else this.#exact.set(norm, r);
    }
    this.#prefixes.sort((a, b) => b[0].length - a[0].length);
    this.#default = raw['default'] === undefined ? ECHO_ROUTE : parseRoute(raw['default'], 'config.default');
  }

  /** The route for a called number (already E.164), or the default. */
  lookup(to: string | undefined): Route {
    if (to === undefined) return this.#default;
    const exact = this.#exact.get(to);
    if (exact) return exact;
    for (const [p, r] of this.#prefixes) if (to.startsWith(p)) return r;
    return this.#default;
  }

  static fromFile(path: string): RoutingTable {
    return new RoutingTable(readConfigFile(path));
  }
}

/** The JSON of the config file named by GATEWAY_CONFIG (routing, and optionally `auth.secret`). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail('GATEWAY_CONFIG', `cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail('GATEWAY_CONFIG', `${path} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) fail('config', 'must be a JSON object');
  return json;
}

/** Process settings from the environment, parsed once. */
export interface Settings {
  port: number;
  /** address the HTTP/WS server binds */
  host: string;
  /** address RTP sockets bind */
  rtpBindHost: string;
  /** address advertised to edges in `rtp.host` */
  rtpPublicHost: string;
  /** speex quality of the resamplers (0..10) */
  resampleQuality: number;
  /** ms a dial-in agent has to attach */
  agentAttachTimeoutMs: number;
  /** ms to wait for live calls on SIGTERM */
  drainTimeoutMs: number;
  /** seconds of agent audio a call may queue */
  playoutMaxSeconds: number;
  /** inbound DSP worker threads (0 = on the main thread) */
  dspWorkers: number;
  routing: RoutingTable;
  /** HS256 secret for JWTs on /v1/calls, /v1/edge and agent dial-in, and for dial-out signatures; null = open */
  authSecret: string | null;
  /** PEM files for TLS (uWS SSLApp); both or neither */
  tls: { certFile: string; keyFile: string } | null;
  /** calls at once; more are answered 503 AT_CAPACITY */
  maxCalls: number;
  /** new calls per second, sustained (bursts of twice that); more are answered 429 RATE_LIMITED */
  callsPerSecond: number;
  /** RTP packets per second per call beyond which packets are dropped (RTP_RATE_LIMITED); 50 is nominal */
  rtpPacketsPerSecond: number;
  /** ms without a packet after which an edge is gone and its call ends */
  mediaTimeoutMs: number;
  /** ms a dial-out agent has to accept the WebSocket */
  agentConnectTimeoutMs: number;
  /** 'ws': also serve /v1/edge with the `ws` library on its own port (for the bench's side-by-side) */
  edgeWsServer: 'uws' | 'ws';
}

/** Defaults of the limits above, for embedders and tests that build Settings by hand. */
export const DEFAULT_LIMITS = {
  authSecret: null,
  tls: null,
  maxCalls: 1000,
  callsPerSecond: 100,
  rtpPacketsPerSecond: 150,
  mediaTimeoutMs: 30_000,
  agentConnectTimeoutMs: 5000,
  edgeWsServer: 'uws',
} as const satisfies Partial<Settings>;

function intEnv(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(name, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const cfgPath = env['GATEWAY_CONFIG'];
  const cfg = cfgPath ? readConfigFile(cfgPath) : {};
  const rtpBindHost = env['RTP_BIND_HOST'] ?? '0.0.0.0';
  const auth = cfg['auth'];
  if (auth !== undefined && !(isObject(auth) && typeof auth['secret'] === 'string' && auth['secret'].length >= 16))
    fail('config.auth.secret', 'must be a string of at least 16 characters');
  const secret = env['GATEWAY_AUTH_SECRET'] || (auth?.['secret'] as string | undefined) || null;
  if (secret !== null && secret.length < 16) fail('GATEWAY_AUTH_SECRET', 'must be at least 16 characters');
  const cert = env['TLS_CERT_FILE'];
  const key = env['TLS_KEY_FILE'];
  if (Boolean(cert) !== Boolean(key)) fail(cert ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', 'TLS needs both TLS_CERT_FILE and TLS_KEY_FILE');
  return {
    port: intEnv(env, 'PORT', 8080, 0, 65535),
    host: env['HOST'] ?? '0.0.0.0',
    rtpBindHost,
    rtpPublicHost: env['RTP_PUBLIC_HOST'] ?? (rtpBindHost === '0.0.0.0' ? '127.0.0.1' : rtpBindHost),
    resampleQuality: intEnv(env, 'RESAMPLE_QUALITY', 3, 0, 10),
    agentAttachTimeoutMs: intEnv(env, 'AGENT_ATTACH_TIMEOUT_MS', 10_000, 100, 600_000),
    drainTimeoutMs: intEnv(env, 'DRAIN_TIMEOUT_MS', 30_000, 0, 3_600_000),
    playoutMaxSeconds: intEnv(env, 'PLAYOUT_MAX_SECONDS', 120, 60, 3600),
    // Default: one worker per core; the main thread keeps sockets, playout and control.
    dspWorkers: intEnv(env, 'DSP_WORKERS', os.availableParallelism(), 0, 64),
    routing: new RoutingTable(cfg),
    authSecret: secret,
    tls: cert && key ? { certFile: cert, keyFile: key } : null,
    maxCalls: intEnv(env, 'MAX_CALLS', DEFAULT_LIMITS.maxCalls, 1, 100_000),
    callsPerSecond: intEnv(env, 'CALL_RATE_LIMIT', DEFAULT_LIMITS.callsPerSecond, 1, 100_000),
    rtpPacketsPerSecond: intEnv(env, 'RTP_RATE_LIMIT', DEFAULT_LIMITS.rtpPacketsPerSecond, 50, 10_000),
    mediaTimeoutMs: intEnv(env, 'MEDIA_TIMEOUT_MS', DEFAULT_LIMITS.mediaTimeoutMs, 1000, 3_600_000),
    agentConnectTimeoutMs: intEnv(env, 'AGENT_CONNECT_TIMEOUT_MS', DEFAULT_LIMITS.agentConnectTimeoutMs, 100, 60_000),
    edgeWsServer: env['EDGE_WS_SERVER'] === 'ws' ? 'ws' : 'uws',
  };
}
