import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import uWS from 'uWebSockets.js';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import type { Agent } from './agent/Agent.js';
import { AgentLink } from './agent/AgentLink.js';
import { uwsAgentSocket } from './agent/AgentSocket.js';
import { DIALECT_FACTORIES } from './agent/dialects/index.js';
import { callIdOfTwilioSid } from './agent/dialects/twilio.js';
import { EchoAgent } from './agent/EchoAgent.js';
import { Call, type CloseReason } from './call/Call.js';
import { parseRoute, type AgentTarget, type Route, type Settings } from './config.js';
import { toE164 } from './e164.js';
import { UdpEdge, type UdpRemote } from './edge/UdpEdge.js';
import { WsEdge, type EdgeSocket } from './edge/WsEdge.js';
import { startWsEdgeServer, type WsEdgeServer } from './edge/wsEdgeServer.js';
import { Auth, SIGNATURE_HEADER, signDial } from './auth.js';
import { GatewayError } from './errors.js';
import { TokenBucket } from './rateLimit.js';
import { readBody, readJson, reply, sendError, sendJson, sendText, type Reply } from './http.js';
import { log } from './log.js';
import { CODEC_INFO, DTMF_PAYLOAD_TYPE, parseCodecName, type EdgeCodecName } from './media/edgeCodecs.js';
import { DspPool } from './media/DspPool.js';
import type { SpeexModule } from './media/InboundDsp.js';
import { PlayoutClock } from './media/PlayoutClock.js';
import { Metrics } from './metrics.js';

/** Largest RTP packet accepted over WebSocket, bytes (a jumbo Opus packet fits many times over). */
const EDGE_MAX_MESSAGE = 16 * 1024;
/** Largest message from an agent, bytes (≈21 s of 24 kHz PCM16 in one burst). */
const AGENT_MAX_MESSAGE = 1024 * 1024;
const API_MAX_BODY = 64 * 1024;
/** First retry of a failed agent after this, ms; each further retry waits twice as long. */
const AGENT_RETRY_MS = 200;

interface CallRequest {
  codec: EdgeCodecName;
  payloadType: number;
  from: string;
  to: string;
  route: Route;
}

/** Per edge WebSocket: its call once started, and the socket as the edge transport sees it. */
export interface EdgeSocketData {
  call: Call | null;
  edge: WsEdge | null;
  sock: EdgeSocket | null;
  open: boolean;
}

interface AgentSocketData {
  callId: string;
  link: AgentLink | null;
  open: boolean;
}

/**
 * The composition root of a running gateway: one uWS app (HTTP API, edge and agent WebSockets),
 * the call registry, the shared playout clock, metrics, and the DSP modules. Owns every call;
 * `close()` ends them all.
 */
export class Gateway {
  readonly settings: Settings;
  readonly metrics = new Metrics();
  readonly calls = new Map<string, Call>();
  readonly #clock: PlayoutClock;
  readonly #dialIns = new Map<string, { link: AgentLink; timer: NodeJS.Timeout }>();
  #speex: SpeexModule | null = null;
  #pool: DspPool | null = null;
  #listen: uWS.us_listen_socket | null = null;
  #wsEdge: WsEdgeServer | null = null;
  /** port of the `ws` edge server when EDGE_WS_SERVER=ws (bench comparison), else 0 */
  wsEdgePort = 0;

  readonly #auth: Auth | null;
  readonly #callRate: TokenBucket;
  #housekeeping: NodeJS.Timeout | null = null;
  #draining = false;
  port = 0;

  constructor(settings: Settings) {
    this.settings = settings;
    this.#auth = settings.authSecret === null ? null : new Auth(settings.authSecret);
    this.#callRate = new TokenBucket(settings.callsPerSecond, 2 * settings.callsPerSecond);
    this.#clock = new PlayoutClock(
      (ms) => this.metrics.tickLateness.observe(Math.max(0, ms) / 1000),
      (t, err) => {
        // A failing call must not stop the clock for the others.
        const call = t as Call;
        log('error', 'call_failed', { callId: call.id, error: String(err) });
        call.close('error');
      },
    );
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Loads the DSP modules and starts listening. Resolves with the bound port. */
  async start(): Promise<number> {
    const [speex, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
    this.#speex = speex;
    this.#pool = await DspPool.create({ speex, rnnoise }, this.settings.dspWorkers);
    const pool = this.#pool;
    this.metrics.workerStats = () => pool.stats();
    const tls = this.settings.tls;
    const app = tls === null ? uWS.App() : uWS.SSLApp({ cert_file_name: tls.certFile, key_file_name: tls.keyFile });
    this.#routes(app);
    this.port = await new Promise<number>((resolve, reject) => {
      app.listen(this.settings.host, this.settings.port, (token) => {
        if (!token) return reject(new Error(`cannot listen on ${this.settings.host}:${this.settings.port}`));
        this.#listen = token;
        resolve(uWS.us_socket_local_port(token as unknown as uWS.us_socket));
      });
    });
    if (this.settings.edgeWsServer === 'ws') {
      this.#wsEdge = await startWsEdgeServer<EdgeSocketData>(this.settings.host, 0, EDGE_MAX_MESSAGE, {
        newSocketData: (sock) => ({ call: null, edge: null, sock, open: true }),
        authorize: (authorization, query) =>
          this.#auth === null ? Promise.resolve() : this.#auth.verify(Auth.tokenOf(authorization, query)),
        edgeMessage: (d, m, b) => this.edgeMessage(d, m, b),
        edgeClosed: (d, tooLarge) => this.edgeClosed(d, tooLarge),
      });
      this.wsEdgePort = this.#wsEdge.port;
    }
    this.#housekeeping = setInterval(() => this.#housekeep(), 1000);
    log('info', 'gateway_started', { port: this.port, dspWorkers: this.#pool.workers, wsEdgePort: this.wsEdgePort });
    return this.port;
  }

  /** Stops taking calls; live calls may finish for up to `timeoutMs`, then are ended. */
  async drain(timeoutMs = this.settings.drainTimeoutMs): Promise<void> {
    this.#draining = true;
    log('info', 'drain_started', { calls: this.calls.size, timeoutMs });
    const deadline = performance.now() + timeoutMs;
    while (this.calls.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await this.close();
  }

  /** Ends every call and stops listening. Idempotent. */
  async close(): Promise<void> {
    for (const call of [...this.calls.values()]) call.close('shutdown');
    if (this.#listen !== null) {
      uWS.us_listen_socket_close(this.#listen);
      this.#listen = null;
    }
    await this.#wsEdge?.close();
    this.#wsEdge = null;
    if (this.#housekeeping !== null) clearInterval(this.#housekeeping);
    this.#housekeeping = null;
    this.#clock.stop();
    await this.#pool?.close();
    this.#pool = null;
    log('info', 'gateway_stopped');
  }

  #housekeep(): void {
    const now = performance.now();
    for (const call of this.calls.values()) {
      this.metrics.queueDepth.observe(call.playout.queuedMs / 1000);
      if (call.idleMs(now) > this.settings.mediaTimeoutMs) call.close('media_timeout');
    }
  }

  // ---- call setup ----------------------------------------------------------------------

  /** Validates a start request (POST body or WS start message); errors name the field. */
  #parseCallRequest(body: unknown): CallRequest {
    if (typeof body !== 'object' || body === null) throw new GatewayError('BAD_REQUEST', 'body must be a JSON object');
    const b = body as Record<string, unknown>;
    const codec = parseCodecName(b['codec']);
    if (codec === null)
      throw new GatewayError('CODEC_UNSUPPORTED', `codec: must be one of PCMU, PCMA, opus (got ${JSON.stringify(b['codec'])})`);
    const pt = b['payloadType'] ?? CODEC_INFO[codec].payloadType;
    if (typeof pt !== 'number' || !Number.isInteger(pt) || pt < 0 || pt > 127 || pt === DTMF_PAYLOAD_TYPE) {
      throw new GatewayError('BAD_REQUEST', `payloadType: must be an integer 0..127 other than ${DTMF_PAYLOAD_TYPE} (telephone-event)`);
    }
    const clockRate = b['clockRate'];
    if (clockRate !== undefined && clockRate !== CODEC_INFO[codec].clockRate) {
      throw new GatewayError('CODEC_UNSUPPORTED', `clockRate: ${codec} runs at ${CODEC_INFO[codec].clockRate} Hz`);
    }
    const number = (field: string): string => {
      const v = b[field];
      if (v === undefined || v === null || v === '') return '';
      if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', `${field}: must be a string`);
      try {
        return toE164(v);
      } catch (err) {
        throw new GatewayError('INVALID_NUMBER', `${field}: ${(err as Error).message}`);
      }
    };
    const from = number('from');
    const to = number('to');
    let route: Route;
    try {
      route = b['route'] !== undefined ? parseRoute(b['route']) : this.settings.routing.lookup(to === '' ? undefined : to);
    } catch (err) {
      if (err instanceof GatewayError) throw new GatewayError('BAD_REQUEST', err.message);
      throw err;
    }
    return { codec, payloadType: pt, from, to, route };
  }

  /** May a new call start now? Draining and capacity answer 503, a setup flood 429. */
  #admit(): void {
    if (this.#draining) throw new GatewayError('DRAINING', 'gateway is draining: no new calls', { status: 503 });
    // The rate first: a setup flood is refused for what it is, before any other check.
    if (!this.#callRate.take(performance.now()))
      throw new GatewayError('RATE_LIMITED', `more than ${this.settings.callsPerSecond} new calls per second (CALL_RATE_LIMIT)`, {
        status: 429,
      });
    if (this.calls.size >= this.settings.maxCalls)
      throw new GatewayError(
        'AT_CAPACITY',
        `gateway is at its maximum of ${this.settings.maxCalls} calls (MAX_CALLS): try again later or another instance`,
        { status: 503 },
      );
  }

  /**
   * Runs `then` once the request is authorised: at once when no secret is set, else after its JWT
   * verified (the token is read now: uWS request objects die when the handler returns). A refusal
   * answers 401 and is counted.
   */
  #authorized(r: Reply, req: uWS.HttpRequest, then: (r: Reply) => void): void {
    if (this.#auth === null) return then(r);
    const token = Auth.tokenOf(req.getHeader('authorization'), req.getQuery() ?? '');
    this.#auth.verify(token).then(
      () => {
        if (!r.aborted) r.res.cork(() => then(r));
      },
      (err: unknown) => this.#refuse(r, err),
    );
  }

  /** Answers an error, counting refusals (401, 429, 503) by code. */
  #refuse(r: Reply, err: unknown): void {
    if (err instanceof GatewayError) this.metrics.rejected.inc({ reason: err.code });
    sendError(r, err);
  }

  #newCall(req: CallRequest, transport: 'udp' | 'ws'): Call {
    const call = new Call(
      {
        metrics: this.metrics,
        dspPool: this.#pool!,
        speex: this.#speex!,
        resampleQuality: this.settings.resampleQuality,
        playoutMaxSeconds: this.settings.playoutMaxSeconds,
        rtpPacketsPerSecond: this.settings.rtpPacketsPerSecond,
      },
      {
        id: randomUUID(),
        from: req.from,
        to: req.to,
        route: req.route,
        codec: req.codec,
        payloadType: req.payloadType,
        dtmfPayloadType: DTMF_PAYLOAD_TYPE,
      },
    );
    this.calls.set(call.id, call);
    this.metrics.callsActive.inc();
    this.metrics.callsTotal.inc({ transport });
    call.onClosed = (c) => {
      this.calls.delete(c.id);
      this.#clock.delete(c);
      const d = this.#dialIns.get(c.id);
      if (d !== undefined) clearTimeout(d.timer);
      this.#dialIns.delete(c.id);
      this.metrics.callsActive.dec();
    };
    log('info', 'call_started', {
      callId: call.id,
      transport,
      codec: req.codec,
      from: req.from,
      to: req.to,
      agent: req.route.agent.url,
      dialect: req.route.agent.dialect,
    });
    return call;
  }

  /** Creates the call's agent per its route, with its failover policy, and starts the media clock. */
  #connect(call: Call): void {
    call.onAgentGone = (code, reason) => this.#failover(call, code, reason);
    call.attachAgent(this.#agentFor(call, call.route.agent, 0, []));
    this.#clock.add(call);
  }

  /** An agent for `target`, dialled after `delayMs`, starting with `held` caller frames to deliver. */
  #agentFor(call: Call, target: AgentTarget, delayMs: number, held: Int16Array[]): Agent {
    if (target.url === 'builtin:echo') return new EchoAgent(call);
    const link = new AgentLink(call, {
      dialect: DIALECT_FACTORIES[target.dialect](call.route),
      drop: (reason) => this.metrics.drops.inc({ reason }),
      maxPayload: AGENT_MAX_MESSAGE,
      connectTimeoutMs: this.settings.agentConnectTimeoutMs,
      held,
    });
    if (target.url === 'dial-in') {
      const timer = setTimeout(
        () => call.gone('AGENT_TIMEOUT', `no agent attached within ${this.settings.agentAttachTimeoutMs} ms`),
        this.settings.agentAttachTimeoutMs,
      );
      this.#dialIns.set(call.id, { link, timer });
    } else {
      // Signed so the agent can tell the dial is ours, for this call (see auth.ts verifyDial).
      const secret = this.settings.authSecret;
      const headers =
        secret === null
          ? target.headers
          : { ...target.headers, [SIGNATURE_HEADER]: signDial(secret, target.url, call.id), 'x-gateway-call-id': call.id };
      link.dial(target.url, headers, delayMs);
    }
    return link;
  }

  /**
   * The route's policy when its agent fails: dial it again `retries` times (200 ms, 400 ms, …
   * apart), then the fallback (with its own retries); then give up and let the call hang up.
   * A dial-in agent that never came is not retried.
   */
  #failover(call: Call, code: string, reason: string): boolean {
    if (code === 'AGENT_TIMEOUT' || call.state !== 'active') return false;
    const { agent, fallback } = call.route;
    const n = ++call.agentFailures;
    const primary = 1 + agent.retries;
    let target: AgentTarget;
    let delayMs: number;
    if (n < primary) {
      target = agent;
      delayMs = AGENT_RETRY_MS * 2 ** (n - 1);
    } else if (fallback !== null && n < primary + 1 + fallback.retries) {
      target = fallback;
      delayMs = n === primary ? 0 : AGENT_RETRY_MS * 2 ** (n - primary - 1);
    } else return false;
    this.metrics.agentFailovers.inc({ reason: code, to: target === agent ? 'retry' : 'fallback' });
    log('warn', 'agent_failover', { callId: call.id, code, reason, attempt: n + 1, url: target.url, delayMs });
    const d = this.#dialIns.get(call.id);
    if (d !== undefined) clearTimeout(d.timer);
    this.#dialIns.delete(call.id);
    // The caller's words since the failure are passed on, not lost (≤ 1 s, as before connecting).
    const held = call.agent instanceof AgentLink ? call.agent.takeHeld() : [];
    call.replaceAgent(this.#agentFor(call, target, delayMs, held));
    return true;
  }

  // ---- routes ----------------------------------------------------------------------------

  #routes(app: uWS.TemplatedApp): void {
    app.get('/healthz', (res) => sendText(reply(res), 200, 'ok\n'));
    app.get('/readyz', (res) => sendText(reply(res), this.#draining ? 503 : 200, this.#draining ? 'draining\n' : 'ready\n'));
    app.get('/metrics', (res) => {
      const r = reply(res);
      this.metrics.registry.metrics().then(
        (text) => sendText(r, 200, text, this.metrics.registry.contentType),
        (err: unknown) => sendError(r, err),
      );
    });
    app.post('/v1/calls', (res, req) => {
      // uWS delivers the body only to a handler that asked for it before returning
      const r = reply(res);
      const body = readJson(r, API_MAX_BODY);
      body.catch(() => {}); // awaited (and its error answered) once authorised
      this.#authorized(r, req, () => void this.#createUdpCall(r, body));
    });
    app.get('/v1/calls', (res, req) =>
      this.#authorized(reply(res), req, (r) => sendJson(r, 200, { calls: [...this.calls.values()].map((c) => c.snapshot()) })),
    );
    app.get('/v1/calls/:id', (res, req) => {
      const id = req.getParameter(0);
      this.#authorized(reply(res), req, (r) => {
        const call = this.calls.get(id);
        if (call === undefined) sendError(r, new GatewayError('NOT_FOUND', 'no such call', { status: 404 }));
        else sendJson(r, 200, call.snapshot());
      });
    });
    app.del('/v1/calls/:id', (res, req) => {
      const id = req.getParameter(0);
      this.#authorized(reply(res), req, (r) => {
        const call = this.calls.get(id);
        if (call === undefined) return sendError(r, new GatewayError('NOT_FOUND', 'no such call', { status: 404 }));
        call.close('api_delete');
        sendJson(r, 200, call.snapshot());
      });
    });
    app.ws<EdgeSocketData>('/v1/edge', {
      maxPayloadLength: EDGE_MAX_MESSAGE,
      idleTimeout: 60,
      maxBackpressure: 256 * 1024,
      upgrade: (res, req, context) => {
        const key = req.getHeader('sec-websocket-key');
        const proto = req.getHeader('sec-websocket-protocol');
        const ext = req.getHeader('sec-websocket-extensions');
        this.#authorized(reply(res), req, () =>
          res.upgrade<EdgeSocketData>({ call: null, edge: null, sock: null, open: false }, key, proto, ext, context),
        );
      },
      open: (ws) => {
        const d = ws.getUserData();
        d.open = true;
        d.sock = {
          sendBinary: (bytes) => d.open && ws.send(bytes, true) !== 2,
          sendText: (text) => {
            if (d.open) ws.send(text, false);
          },
          bufferedAmount: () => ws.getBufferedAmount(),
          end: (code, reason, text) => {
            if (!d.open) return;
            ws.cork(() => {
              if (text !== undefined) ws.send(text, false);
              ws.end(code, reason);
            });
          },
        };
      },
      message: (ws, message, isBinary) => this.edgeMessage(ws.getUserData(), new Uint8Array(message), isBinary),
      // uWS ends a socket whose message exceeds maxPayloadLength with 1006 and this text.
      close: (ws, code, message) => this.edgeClosed(ws.getUserData(), code === 1006 && Buffer.from(message).toString().includes('too big')),
    });
    app.ws<AgentSocketData>('/v1/calls/:id/agent', {
      maxPayloadLength: AGENT_MAX_MESSAGE,
      idleTimeout: 60,
      maxBackpressure: 2 * 1024 * 1024,
      upgrade: (res, req, context) => {
        const callId = req.getParameter(0);
        const key = req.getHeader('sec-websocket-key');
        const proto = req.getHeader('sec-websocket-protocol');
        const ext = req.getHeader('sec-websocket-extensions');
        this.#authorized(reply(res), req, (r) => {
          if (!this.#dialIns.has(callId))
            sendError(r, new GatewayError('NOT_FOUND', 'no call awaiting a dial-in agent with this id', { status: 404 }));
          else res.upgrade<AgentSocketData>({ callId, link: null, open: false }, key, proto, ext, context);
        });
      },
      open: (ws) => {
        const d = ws.getUserData();
        const pending = this.#dialIns.get(d.callId);
        if (pending === undefined) return ws.end(4404, 'call gone');
        clearTimeout(pending.timer);
        this.#dialIns.delete(d.callId);
        d.open = true;
        d.link = pending.link;
        pending.link.attach(uwsAgentSocket(ws, () => d.open));
      },
      message: (ws, message, isBinary) => ws.getUserData().link?.message(new Uint8Array(message), isBinary),
      close: (ws, code, message) => {
        const d = ws.getUserData();
        d.open = false;
        const text = Buffer.from(message).toString();
        if (code === 1006 && text.includes('too big')) this.metrics.drops.inc({ reason: 'FRAME_TOO_LARGE' });
        d.link?.closed(code, text);
      },
    });
    // Twilio-compatible hang-up (what Pipecat's serializer calls when its base URL points here).
    app.post('/2010-04-01/Accounts/:account/Calls/:sid', (res, req) => {
      const r = reply(res);
      const callSid = req.getParameter(1).replace(/\.json$/, '');
      const body = readBody(r, API_MAX_BODY);
      body.catch(() => {});
      // Twilio's REST API authenticates with Basic AccountSid:AuthToken: with a secret set, the AuthToken is a JWT.
      this.#authorized(r, req, () => void this.#twilioCallUpdate(r, callSid, body));
    });
    app.any('/*', (res) => sendError(reply(res), new GatewayError('NOT_FOUND', 'no such endpoint', { status: 404 })));
  }

  async #createUdpCall(r: Reply, bodyPromise: Promise<unknown>): Promise<void> {
    try {
      const body = await bodyPromise;
      this.#admit();
      const req = this.#parseCallRequest(body);
      const remote = parseRemote((body as Record<string, unknown>)['remote']);
      const edge = await UdpEdge.open(this.settings.rtpBindHost, remote);
      if (r.aborted) {
        edge.close('aborted');
        return;
      }
      const call = this.#newCall(req, 'udp');
      edge.onPacket = (buf, arrival) => call.onRtp(buf, arrival);
      edge.onForeign = () => this.metrics.drops.inc({ reason: 'RTP_FOREIGN_SOURCE' });
      call.attachEdge(edge);
      this.#connect(call);
      sendJson(r, 201, {
        callId: call.id,
        rtp: { host: this.settings.rtpPublicHost, port: edge.port },
        payloadType: req.payloadType,
        clockRate: CODEC_INFO[req.codec].clockRate,
        ptime: 20,
        dtmfPayloadType: DTMF_PAYLOAD_TYPE,
      });
    } catch (err) {
      this.#refuse(r, err);
    }
  }

  /**
   * One message on an edge WebSocket (either server): binary = one RTP packet of its call (borrowed:
   * the call parses it synchronously), text = control JSON (start, stop).
   */
  edgeMessage(d: EdgeSocketData, message: Uint8Array, isBinary: boolean): void {
    const ws = d.sock!;
    if (isBinary) {
      if (d.call === null) {
        this.metrics.drops.inc({ reason: 'BAD_REQUEST' });
        return;
      }
      d.call.onRtp(message, performance.now());
      return;
    }
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch {
      this.metrics.drops.inc({ reason: 'CONTROL_INVALID' });
      ws.sendText(
        JSON.stringify({ event: 'error', code: 'CONTROL_INVALID', message: 'text message must be a JSON object with an "event"' }),
      );
      return;
    }
    if (msg['event'] === 'start' && d.call === null) {
      try {
        this.#admit();
        const req = this.#parseCallRequest(msg);
        const call = this.#newCall(req, 'ws');
        const edge = new WsEdge(ws);
        d.call = call;
        d.edge = edge;
        call.attachEdge(edge);
        ws.sendText(
          JSON.stringify({
            event: 'started',
            callId: call.id,
            payloadType: req.payloadType,
            clockRate: CODEC_INFO[req.codec].clockRate,
            ptime: 20,
            dtmfPayloadType: DTMF_PAYLOAD_TYPE,
          }),
        );
        this.#connect(call);
      } catch (err) {
        const e = err instanceof GatewayError ? err : new GatewayError('BAD_REQUEST', String(err));
        this.metrics.rejected.inc({ reason: e.code });
        ws.end(e.status === 503 ? 1013 : 1008, e.code, JSON.stringify({ event: 'error', code: e.code, message: e.message }));
      }
      return;
    }
    if (msg['event'] === 'stop' && d.call !== null) {
      d.call.close('edge_stop');
      return;
    }
    this.metrics.drops.inc({ reason: 'CONTROL_INVALID' });
    ws.sendText(JSON.stringify({ event: 'error', code: 'CONTROL_INVALID', message: `unexpected event ${JSON.stringify(msg['event'])}` }));
  }

  /** An edge WebSocket closed (from its side, or for a too-large message): its call ends. */
  edgeClosed(d: EdgeSocketData, tooLarge: boolean): void {
    d.open = false;
    if (tooLarge) this.metrics.drops.inc({ reason: 'FRAME_TOO_LARGE' });
    d.edge?.socketClosed();
    d.call?.close('edge_closed');
  }

  async #twilioCallUpdate(r: Reply, callSid: string, raw: Promise<Buffer>): Promise<void> {
    try {
      const body = new URLSearchParams((await raw).toString('utf8'));
      const id = callIdOfTwilioSid(callSid);
      const call = id === null ? undefined : this.calls.get(id);
      if (call === undefined) throw new GatewayError('NOT_FOUND', `no live call with CallSid ${callSid}`, { status: 404 });
      const status = body.get('Status');
      if (status !== 'completed' && status !== 'canceled')
        throw new GatewayError('BAD_REQUEST', 'Status: only "completed" (or "canceled") is supported');
      call.close('agent_hangup');
      sendJson(r, 200, { sid: callSid, status: 'completed' });
    } catch (err) {
      sendError(r, err);
    }
  }

  /** Ends one call (API and tests). */
  endCall(id: string, reason: CloseReason): boolean {
    const call = this.calls.get(id);
    call?.close(reason);
    return call !== undefined;
  }
}

function parseRemote(v: unknown): UdpRemote | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', 'remote: must be "host:port"');
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) throw new GatewayError('BAD_REQUEST', `remote: must be "host:port", got ${JSON.stringify(v)}`);
  return { address: m[1]!, port };
}
