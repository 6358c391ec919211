import type uWS from 'uWebSockets.js';
import { callIdOfTwilioSid } from '../agent/dialects/twilio.js';
import type { CallRegistry } from '../call/CallRegistry.js';
import { GatewayError } from '../errors.js';
import { readBody, reply, sendError, sendJson, sendText, type Reply } from '../http.js';
import type { Metrics } from '../metrics.js';
import type { Settings } from '../settings.js';
import { PeerForwarder, requestMeta, type RequestMeta } from './forward.js';
import type { Guard } from './Guard.js';

const API_MAX_BODY = 64 * 1024;

/**
 * The HTTP API: probes and metrics (open), the call resource (authorised), and the Twilio-style
 * REST hang-up. Routes that start calls belong to their edges (edge/edgeRoutes.ts). A request for
 * a call another instance holds is forwarded to it (forward.ts), so any instance answers for any call.
 */
export function apiRoutes(
  app: uWS.TemplatedApp,
  registry: CallRegistry,
  guard: Guard,
  metrics: Metrics,
  cluster: Pick<Settings, 'instance' | 'peers'> = { instance: 'gateway', peers: [] },
): void {
  const peers = new PeerForwarder(cluster.instance, cluster.peers);
  const notFound = () => new GatewayError('NOT_FOUND', 'no such call', { status: 404 });
  app.get('/healthz', (res) => {
    sendText(reply(res), 200, 'ok\n');
  });
  // Ready = would take a call now: not draining, and capacity left (MAX_CALLS, measured DSP headroom).
  app.get('/readyz', (res) => {
    const full = registry.draining ? 'draining' : registry.atCapacity();
    sendText(reply(res), full === null ? 200 : 503, full === null ? 'ready\n' : `${full}\n`);
  });
  app.get('/metrics', (res) => {
    const r = reply(res);
    metrics.registry.metrics().then(
      (text) => {
        sendText(r, 200, text, metrics.registry.contentType);
      },
      (err: unknown) => {
        sendError(r, err);
      },
    );
  });
  app.get('/v1/calls', (res, req) => {
    guard.authorized(reply(res), req, (r) => {
      sendJson(r, 200, { calls: [...registry.all()].map((c) => c.snapshot()) });
    });
  });
  app.get('/v1/calls/:id', (res, req) => {
    const id = req.getParameter(0);
    const meta = requestMeta(req);
    guard.authorized(reply(res), req, (r) => {
      const call = registry.get(id);
      if (call !== undefined) sendJson(r, 200, call.snapshot());
      else if (!peers.relay(r, id, meta)) sendError(r, notFound());
    });
  });
  app.del('/v1/calls/:id', (res, req) => {
    const id = req.getParameter(0);
    const meta = requestMeta(req);
    guard.authorized(reply(res), req, (r) => {
      const call = registry.get(id);
      if (call === undefined) {
        if (!peers.relay(r, id, meta)) sendError(r, notFound());
        return;
      }
      call.close('api_delete');
      sendJson(r, 200, call.snapshot());
    });
  });
  // Twilio-compatible hang-up (what Pipecat's serializer calls when its base URL points here).
  app.post('/2010-04-01/Accounts/:account/Calls/:sid', (res, req) => {
    const r = reply(res);
    const callSid = req.getParameter(1).replace(/\.json$/, '');
    const meta = requestMeta(req);
    const body = readBody(r, API_MAX_BODY);
    body.catch(() => {});
    // Twilio's REST API authenticates with Basic AccountSid:AuthToken: with a secret set, the AuthToken is a JWT.
    guard.authorized(r, req, () => void twilioCallUpdate(r, callSid, body, registry, peers, meta), { basic: true });
  });
  app.any('/*', (res) => {
    sendError(reply(res), new GatewayError('NOT_FOUND', 'no such endpoint', { status: 404 }));
  });
}

async function twilioCallUpdate(
  r: Reply,
  callSid: string,
  raw: Promise<Buffer>,
  registry: CallRegistry,
  peers: PeerForwarder,
  meta: RequestMeta,
): Promise<void> {
  try {
    const buf = await raw;
    const body = new URLSearchParams(buf.toString('utf8'));
    const id = callIdOfTwilioSid(callSid);
    const call = id === null ? undefined : registry.get(id);
    if (call === undefined && id !== null && peers.relay(r, id, meta, buf)) return;
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
