import os from 'node:os';
import { fail, isObject } from './route.js';
import { parseTrunks, type SipTrunk } from './edge/sip/trunks.js';
import { readConfigFile, RoutingTable } from './routing.js';
import { instanceTag } from './call/callId.js';

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
  /** ms inbound audio may wait for a DSP worker before it is dropped (DSP_OVERLOAD); a third of it makes the call bypass RNNoise */
  dspDeadlineMs: number;
  routing: RoutingTable;
  /** HS256 secret for JWTs on /v1/calls, /v1/edge and agent dial-in, and for dial-out signatures; null = open */
  authSecret: string | null;
  /** when set, JWTs must carry `exp`, at most this many seconds after `iat` (AUTH_MAX_TOKEN_LIFETIME_S) */
  maxTokenLifetimeS: number | null;
  /** PEM files for TLS (uWS SSLApp); both or neither */
  tls: { certFile: string; keyFile: string } | null;
  /** calls at once; more are answered 503 AT_CAPACITY */
  maxCalls: number;
  /** measured load (0..1, see call/Headroom.ts) at which new calls are answered 503 AT_CAPACITY and /readyz 503 (ADMIT_MAX_LOAD; 1: off) */
  admitMaxLoad: number;
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
  /**
   * Inside addresses (CIDRs, addresses, host names) that agent and webhook dial-outs may reach;
   * loopback, link-local, private and metadata addresses are refused otherwise
   */
  dialAllow: readonly string[];
  /** SIP trunks (UDP and TCP on `port`, TLS on `tlsPort`); null: no SIP */
  sip: SipSettings | null;
  /** this instance's name, which its call ids carry (GATEWAY_INSTANCE; default hostname:PORT) */
  instance: string;
  /** the other instances, where API requests for their calls are forwarded (GATEWAY_PEERS) */
  peers: readonly Peer[];
  /** call recordings (routes with `record`): where, and how long they are kept */
  recordings: RecordingSettings;
  /** end-of-call reports (routes with `events.url`): delivery limits */
  events: EventsSettings;
}

export interface RecordingSettings {
  /** RECORDINGS_DIR: one file per call, named by its id */
  dir: string;
  /** RECORDINGS_MAX_AGE_S: older recordings are deleted by the sweep; 0 keeps them */
  maxAgeS: number;
  /** RECORDINGS_MAX_BYTES: beyond this total the oldest are deleted; 0: no limit */
  maxBytes: number;
}

export interface EventsSettings {
  /** EVENTS_TIMEOUT_MS: one POST's time to answer */
  timeoutMs: number;
  /** EVENTS_MAX_ATTEMPTS: POSTs per report before it is given up (and counted) */
  maxAttempts: number;
  /** EVENTS_RETRY_MS: the first retry's wait; each next one doubles it */
  retryMs: number;
  /** EVENTS_QUEUE: reports waiting at once; beyond, new ones are dropped (and counted) */
  queueLimit: number;
}

/** Another gateway instance: its name (as in its GATEWAY_INSTANCE) and its HTTP API base URL. */
export interface Peer {
  name: string;
  url: string;
}

export interface SipSettings {
  host: string;
  /** 0: an ephemeral port (tests) */
  port: number;
  /** TLS listener (needs the TLS files), or null */
  tlsPort: number | null;
  /** address we advertise in Via, Contact and SDP (behind NAT: the public one) */
  publicHost: string;
  /** who may send calls */
  trunks: SipTrunk[];
  /** key of the stateless digest nonces: the same on every instance of a cluster (SIP_DIGEST_SECRET, else GATEWAY_AUTH_SECRET) */
  digestSecret: string | null;
  /** digest algorithms offered, in order (SIP_DIGEST_ALGORITHMS; default SHA-256 then MD5, RFC 8760 §2.4; `MD5` alone for old PBXs) */
  digestAlgorithms: ('SHA-256' | 'MD5')[];
}

/** Defaults of the limits above, for embedders and tests that build Settings by hand. */
export const DEFAULT_LIMITS = {
  authSecret: null,
  maxTokenLifetimeS: null,
  tls: null,
  maxCalls: 1000,
  admitMaxLoad: 0.85,
  dspDeadlineMs: 60,
  callsPerSecond: 100,
  rtpPacketsPerSecond: 150,
  mediaTimeoutMs: 30_000,
  agentConnectTimeoutMs: 5000,
  edgeWsServer: 'uws',
  sip: null,
  dialAllow: [],
  instance: 'gateway',
  peers: [],
  recordings: { dir: 'recordings', maxAgeS: 7 * 86_400, maxBytes: 10 * 2 ** 30 },
  events: { timeoutMs: 5000, maxAttempts: 6, retryMs: 1000, queueLimit: 1000 },
} as const satisfies Partial<Settings>;

function intEnv(env: NodeJS.ProcessEnv, name: string, dflt: number, min: number, max: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) fail(name, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return n;
}

function fractionEnv(env: NodeJS.ProcessEnv, name: string, dflt: number): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) fail(name, `must be a number in 0..1, got ${JSON.stringify(v)}`);
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
    dspDeadlineMs: intEnv(env, 'DSP_DEADLINE_MS', DEFAULT_LIMITS.dspDeadlineMs, 20, 10_000),
    routing: new RoutingTable(cfg),
    authSecret: secret,
    maxTokenLifetimeS: env['AUTH_MAX_TOKEN_LIFETIME_S'] ? intEnv(env, 'AUTH_MAX_TOKEN_LIFETIME_S', 3600, 1, 31_536_000) : null,
    tls: cert && key ? { certFile: cert, keyFile: key } : null,
    maxCalls: intEnv(env, 'MAX_CALLS', DEFAULT_LIMITS.maxCalls, 1, 100_000),
    admitMaxLoad: fractionEnv(env, 'ADMIT_MAX_LOAD', DEFAULT_LIMITS.admitMaxLoad),
    callsPerSecond: intEnv(env, 'CALL_RATE_LIMIT', DEFAULT_LIMITS.callsPerSecond, 1, 100_000),
    rtpPacketsPerSecond: intEnv(env, 'RTP_RATE_LIMIT', DEFAULT_LIMITS.rtpPacketsPerSecond, 50, 10_000),
    mediaTimeoutMs: intEnv(env, 'MEDIA_TIMEOUT_MS', DEFAULT_LIMITS.mediaTimeoutMs, 1000, 3_600_000),
    agentConnectTimeoutMs: intEnv(env, 'AGENT_CONNECT_TIMEOUT_MS', DEFAULT_LIMITS.agentConnectTimeoutMs, 100, 60_000),
    edgeWsServer: env['EDGE_WS_SERVER'] === 'ws' ? 'ws' : 'uws',
    dialAllow: dialAllow(env, cfg),
    sip: sipSettings(env, cfg, cert && key ? { certFile: cert, keyFile: key } : null),
    instance: env['GATEWAY_INSTANCE'] || `${os.hostname()}:${env['PORT'] || 8080}`,
    peers: parsePeers(env['GATEWAY_PEERS'] ?? ''),
    recordings: {
      dir: env['RECORDINGS_DIR'] || DEFAULT_LIMITS.recordings.dir,
      maxAgeS: intEnv(env, 'RECORDINGS_MAX_AGE_S', DEFAULT_LIMITS.recordings.maxAgeS, 0, 10 * 365 * 86_400),
      maxBytes: intEnv(env, 'RECORDINGS_MAX_BYTES', DEFAULT_LIMITS.recordings.maxBytes, 0, Number.MAX_SAFE_INTEGER),
    },
    events: {
      timeoutMs: intEnv(env, 'EVENTS_TIMEOUT_MS', DEFAULT_LIMITS.events.timeoutMs, 100, 60_000),
      maxAttempts: intEnv(env, 'EVENTS_MAX_ATTEMPTS', DEFAULT_LIMITS.events.maxAttempts, 1, 20),
      retryMs: intEnv(env, 'EVENTS_RETRY_MS', DEFAULT_LIMITS.events.retryMs, 10, 600_000),
      queueLimit: intEnv(env, 'EVENTS_QUEUE', DEFAULT_LIMITS.events.queueLimit, 1, 100_000),
    },
  };
}

/** GATEWAY_PEERS: `name=http://host:port,…` (this instance may be listed too: it is skipped when forwarding). */
export function parsePeers(raw: string): Peer[] {
  const peers: Peer[] = [];
  const tags = new Map<string, string>();
  for (const entry of raw.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const name = entry.slice(0, Math.max(eq, 0)).trim();
    const url = entry.slice(eq + 1).trim();
    if (eq <= 0 || name === '' || !/^https?:\/\/[^/]+/.test(url) || !URL.canParse(url))
      fail('GATEWAY_PEERS', `each entry must be name=http(s)://host:port, got ${JSON.stringify(entry)}`);
    const other = tags.get(instanceTag(name));
    if (other !== undefined)
      fail('GATEWAY_PEERS', `${JSON.stringify(name)} is listed twice or its tag collides with ${JSON.stringify(other)}`);
    tags.set(instanceTag(name), name);
    peers.push({ name, url: url.replace(/\/+$/, '') });
  }
  return peers;
}

/** SIP_PORT (default 5060; "off" disables SIP), SIP_HOST, SIP_TLS_PORT, SIP_PUBLIC_HOST; trunks from the config's `sip`. */
function sipSettings(env: NodeJS.ProcessEnv, cfg: Record<string, unknown>, tls: Settings['tls']): SipSettings | null {
  if (env['SIP_PORT'] === 'off') return null;
  const tlsPort = env['SIP_TLS_PORT'] === undefined || env['SIP_TLS_PORT'] === '' ? null : intEnv(env, 'SIP_TLS_PORT', 5061, 0, 65535);
  if (tlsPort !== null && tls === null) fail('SIP_TLS_PORT', 'SIP over TLS needs TLS_CERT_FILE and TLS_KEY_FILE');
  const host = env['SIP_HOST'] ?? env['HOST'] ?? '0.0.0.0';
  return {
    host,
    port: intEnv(env, 'SIP_PORT', 5060, 0, 65535),
    tlsPort,
    publicHost: env['SIP_PUBLIC_HOST'] ?? env['RTP_PUBLIC_HOST'] ?? (host === '0.0.0.0' ? '127.0.0.1' : host),
    trunks: parseTrunks(cfg['sip']),
    digestSecret: env['SIP_DIGEST_SECRET'] || env['GATEWAY_AUTH_SECRET'] || null,
    digestAlgorithms: digestAlgorithms(env['SIP_DIGEST_ALGORITHMS']),
  };
}

/** DIAL_ALLOW (comma-separated) and the config's `dial.allow`: where dial-outs may reach although inside. */
function dialAllow(env: NodeJS.ProcessEnv, cfg: Record<string, unknown>): string[] {
  const fromEnv = (env['DIAL_ALLOW'] ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const dial = cfg['dial'];
  if (dial === undefined) return fromEnv;
  if (!isObject(dial) || !Array.isArray(dial['allow']) || !dial['allow'].every((a) => typeof a === 'string'))
    fail('config.dial.allow', 'must be an array of CIDRs, addresses or host names');
  return [...fromEnv, ...dial['allow']];
}

function digestAlgorithms(v: string | undefined): ('SHA-256' | 'MD5')[] {
  if (v === undefined || v === '') return ['SHA-256', 'MD5'];
  const list = v.split(',').map((a) => a.trim().toUpperCase());
  if (!list.every((a): a is 'SHA-256' | 'MD5' => a === 'SHA-256' || a === 'MD5'))
    fail('SIP_DIGEST_ALGORITHMS', 'must list SHA-256 and/or MD5');
  return list;
}
