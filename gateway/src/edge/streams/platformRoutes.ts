import type uWS from 'uWebSockets.js';
import type { Guard } from '../../api/Guard.js';
import { GatewayError } from '../../errors.js';
import { readBody, reply, sendText, upgrader, type Reply } from '../../http.js';
import { log } from '../../log.js';
import { uwsEdgeSocket } from '../uwsEdgeSocket.js';
import type { EdgeHost } from '../WsEdgeConnection.js';
import { answerDocument, callFields, verifyWebhook, webhookParams, type WebhookRequest } from './answers.js';
import { asteriskProtocol } from './asteriskStream.js';
import { exotelProtocol } from './exotelStream.js';
import { freeswitchProtocol } from './freeswitchStream.js';
import { PendingCalls } from './PendingCalls.js';
import { publicBase, type PlatformSettings } from './platformSettings.js';
import { plivoProtocol } from './plivoStream.js';
import { CPAAS_PLATFORMS, type CpaasPlatform, type StreamPlatform, type StreamProtocol } from './protocol.js';
import { e164OrRaw, StreamConnection, type StreamHost } from './StreamConnection.js';
import { telnyxProtocol } from './telnyxStream.js';
import { twilioProtocol } from './twilioStream.js';
import { vonageProtocol } from './vonageStream.js';

/** What the platform entry points need of the gateway. */
export interface PlatformHost extends EdgeHost {
  guard: Guard;
  settings: PlatformSettings;
  /** the listener serves TLS: the scheme of URLs derived from a request's Host when PUBLIC_URL is unset */
  tls: boolean;
}

export const PROTOCOLS: Record<StreamPlatform, () => StreamProtocol> = {
  twilio: twilioProtocol,
  telnyx: telnyxProtocol,
  plivo: () => plivoProtocol(false),
  vobiz: () => plivoProtocol(true),
  exotel: exotelProtocol,
  vonage: vonageProtocol,
  asterisk: asteriskProtocol,
  freeswitch: freeswitchProtocol,
};

/** Largest stream message: Asterisk's own cap is 65 500 B; a 20 ms JSON media message is < 1 KiB. */
export const STREAM_MAX_MESSAGE = 64 * 1024;
const WEBHOOK_MAX_BODY = 64 * 1024;

/**
 * The platforms' entry points on the uWS app (register before the API's catch-all 404):
 * - `POST|GET /v1/edges/{platform}/answer`: the voice webhook of Twilio, Plivo, Vobiz, Telnyx,
 *   Exotel, Vonage. Signature checked when the platform's secret is set (403, nothing created,
 *   otherwise); the route found by the called number; answered with the platform's document
 *   pointing its bidirectional stream at `/v1/edges/{platform}/stream` with a one-time token.
 * - `/v1/edges/{platform}/stream`: that stream (the token makes it a call of ours).
 * - `/v1/edges/asterisk` (chan_websocket) and `/v1/edges/freeswitch` (mod_audio_stream): PBX
 *   streams, authorised like `/v1/edge` (a JWT when GATEWAY_AUTH_SECRET is set).
 */
export function platformRoutes(app: uWS.TemplatedApp, host: PlatformHost): void {
  const streams: StreamHost = { ...host, pending: new PendingCalls() };
  for (const platform of CPAAS_PLATFORMS) {
    const path = `/v1/edges/${platform}/answer`;
    app.post(path, (res, req) => {
      answerRequest(res, req, 'POST', platform, host, streams.pending);
    });
    app.get(path, (res, req) => {
      answerRequest(res, req, 'GET', platform, host, streams.pending);
    });
    streamRoute(app, `/v1/edges/${platform}/stream`, platform, streams, null);
  }
  streamRoute(app, '/v1/edges/asterisk', 'asterisk', streams, host.guard);
  streamRoute(app, '/v1/edges/freeswitch', 'freeswitch', streams, host.guard);
}

function answerRequest(
  res: uWS.HttpResponse,
  req: uWS.HttpRequest,
  method: 'GET' | 'POST',
  platform: CpaasPlatform,
  host: PlatformHost,
  pending: PendingCalls,
): void {
  // uWS request objects die when the handler returns: read everything now
  const r = reply(res);
  const headers: Record<string, string> = {};
  req.forEach((k, v) => {
    headers[k.toLowerCase()] = v;
  });
  const path = req.getUrl();
  const query = queryOf(req);
  const body = method === 'POST' ? readBody(r, WEBHOOK_MAX_BODY) : Promise.resolve(Buffer.alloc(0));
  body.catch(() => {}); // awaited (and its error answered) below
  void answer(r, { platform, method, path, query, headers, body }, host, pending);
}

async function answer(
  r: Reply,
  a: {
    platform: CpaasPlatform;
    method: 'GET' | 'POST';
    path: string;
    query: string;
    headers: Record<string, string>;
    body: Promise<Buffer>;
  },
  host: PlatformHost,
  pending: PendingCalls,
): Promise<void> {
  const { platform } = a;
  try {
    const base = publicBase(host.settings, a.headers['host'] ?? 'localhost', host.tls);
    const w: WebhookRequest = {
      method: a.method,
      url: `${base.http}${a.path}${a.query === '' ? '' : `?${a.query}`}`,
      query: a.query,
      headers: a.headers,
      body: await a.body,
    };
    const { form, all } = webhookParams(w);
    if ((await verifyWebhook(platform, host.settings, w, form)) === false) {
      host.guard.count(new GatewayError('UNAUTHORIZED', 'bad webhook signature'));
      log('warn', 'webhook_refused', { platform, reason: 'bad or missing signature' });
      forbidden(r);
      return;
    }
    const f = callFields(platform, all);
    const to = e164OrRaw(f.to);
    const route = to === '' ? host.routing.lookup(undefined) : host.routing.find(to);
    if (route === null) throw new GatewayError('NOT_FOUND', `no route for the called number ${to}`, { status: 404 });
    host.registry.admit();
    const token = pending.issue({ platform, from: e164OrRaw(f.from), to, platformCallId: f.callId, route });
    const doc = answerDocument(platform, `${base.ws}/v1/edges/${platform}/stream`, token);
    log('info', 'platform_answered', { platform, platformCallId: f.callId, from: f.from, to });
    sendText(r, 200, doc.body, doc.contentType);
  } catch (err) {
    host.guard.refuse(r, err);
  }
}

/** The raw query string: uWS returns undefined when there is none, whatever its typings say. */
function queryOf(req: uWS.HttpRequest): string {
  const q: unknown = req.getQuery();
  return typeof q === 'string' ? q : '';
}

function forbidden(r: Reply): void {
  if (r.aborted) return;
  r.res.cork(() => {
    r.res
      .writeStatus('403 Forbidden')
      .writeHeader('content-type', 'application/json')
      .end(JSON.stringify({ error: { code: 'UNAUTHORIZED', message: 'webhook signature missing or invalid' } }));
  });
}

interface SocketData {
  conn: StreamConnection | null;
  open: boolean;
  query: string;
}

function streamRoute(app: uWS.TemplatedApp, pattern: string, platform: StreamPlatform, host: StreamHost, guard: Guard | null): void {
  app.ws<SocketData>(pattern, {
    maxPayloadLength: STREAM_MAX_MESSAGE,
    idleTimeout: 60,
    maxBackpressure: 256 * 1024,
    upgrade: (res, req, context) => {
      const upgrade = upgrader(res, req, context);
      const data: SocketData = { conn: null, open: false, query: queryOf(req) };
      if (guard === null) return upgrade(data);
      guard.authorized(reply(res), req, () => upgrade(data));
    },
    open: (ws) => {
      const d = ws.getUserData();
      d.open = true;
      d.conn = new StreamConnection(platform, PROTOCOLS[platform](), uwsEdgeSocket(ws), host, new URLSearchParams(d.query));
    },
    message: (ws, message, isBinary) => {
      ws.getUserData().conn?.message(new Uint8Array(message), isBinary);
    },
    // uWS ends a socket whose message exceeds maxPayloadLength with 1006 and this text.
    close: (ws, code, message) => {
      const d = ws.getUserData();
      d.open = false;
      d.conn?.closed(code === 1006 && Buffer.from(message).toString().includes('too big'));
    },
  });
}
