import { isIP } from 'node:net';
import type uWS from 'uWebSockets.js';
import type { Guard } from '../api/Guard.js';
import type { DialGuard } from '../agent/dialGuard.js';
import { parseCallRequest } from '../call/callRequest.js';
import { GatewayError } from '../errors.js';
import { isObject } from '../route.js';
import type { SipService } from './sip/SipService.js';
import { readJson, reply, sendJson, upgrader, type Reply } from '../http.js';
import { CODEC_INFO } from '../media/edgeCodecs.js';
import { RtpFraming } from './RtpFraming.js';
import { UdpEdge, type UdpRemote } from './UdpEdge.js';
import { uwsEdgeSocket } from './uwsEdgeSocket.js';
import { EDGE_MAX_MESSAGE, WsEdgeConnection, type EdgeHost } from './WsEdgeConnection.js';

export interface RtpEdgeHost extends EdgeHost {
  guard: Guard;
  /** the SIP endpoint, once started (dial-outs with "sip") */
  sip: () => SipService | null;
  rtpBindHost: string;
  rtpPublicHost: string;
  /** which `remote` addresses are sent to before media came from them (absent: all) */
  dialGuard?: DialGuard;
}

const API_MAX_BODY = 64 * 1024;

/**
 * The RTP edges' entry points on the uWS app: `POST /v1/calls` opens a call with its own UDP
 * port; `/v1/edge` carries RTP inside WebSocket messages.
 */
export function rtpEdgeRoutes(app: uWS.TemplatedApp, host: RtpEdgeHost): void {
  app.post('/v1/calls', (res, req) => {
    // uWS delivers the body only to a handler that asked for it before returning
    const r = reply(res);
    const body = readJson(r, API_MAX_BODY);
    body.catch(() => {}); // awaited (and its error answered) once authorised
    host.guard.authorized(r, req, () => void createUdpCall(r, body, host));
  });
  app.ws<{ conn: WsEdgeConnection | null; open: boolean }>('/v1/edge', {
    maxPayloadLength: EDGE_MAX_MESSAGE,
    idleTimeout: 60,
    maxBackpressure: 256 * 1024,
    upgrade: (res, req, context) => {
      const upgrade = upgrader(res, req, context);
      host.guard.authorized(reply(res), req, () => upgrade({ conn: null, open: false }));
    },
    open: (ws) => {
      const d = ws.getUserData();
      d.open = true;
      d.conn = new WsEdgeConnection(uwsEdgeSocket(ws), host);
    },
    message: (ws, message, isBinary) => ws.getUserData().conn?.message(new Uint8Array(message), isBinary),
    // uWS ends a socket whose message exceeds maxPayloadLength with 1006 and this text.
    close: (ws, code, message) => {
      const d = ws.getUserData();
      d.open = false;
      d.conn?.closed(code === 1006 && Buffer.from(message).toString().includes('too big'));
    },
  });
}

async function createUdpCall(r: Reply, bodyPromise: Promise<unknown>, host: RtpEdgeHost): Promise<void> {
  try {
    const body = await bodyPromise;
    host.registry.admit();
    if (isObject(body) && body['sip'] !== undefined) {
      await dialSip(r, body, host);
      return;
    }
    const req = parseCallRequest(body, host.routing);
    const remote = parseRemote((body as Record<string, unknown>)['remote']);
    const rtp = new RtpFraming(req, host);
    // An inside `remote` DIAL_ALLOW does not open hears nothing until it has sent us media
    // (UdpEdge `confirm`), so `remote` cannot aim our RTP at an inside host that did not ask for it.
    const guard = host.dialGuard;
    const edge = await UdpEdge.open(host.rtpBindHost, rtp, { remote, confirm: (a) => guard !== undefined && !guard.allowsAddress(a) });
    if (r.aborted) {
      edge.close();
      return;
    }
    const call = host.registry.create(req, edge);
    sendJson(r, 201, {
      callId: call.id,
      rtp: { host: host.rtpPublicHost, port: edge.port },
      payloadType: req.payloadType,
      clockRate: CODEC_INFO[req.codec].clockRate,
      ptime: 20,
      dtmfPayloadType: req.dtmfPayloadType,
    });
  } catch (err) {
    host.guard.refuse(r, err);
  }
}

/** A call placed to a SIP URI: answered 201 once the callee answers (the request waits), or refused with why. */
async function dialSip(r: Reply, body: Record<string, unknown>, host: RtpEdgeHost): Promise<void> {
  const sip = host.sip();
  if (sip === null) throw new GatewayError('BAD_REQUEST', 'sip: SIP is off on this gateway (SIP_PORT=off)');
  const abort = new AbortController();
  r.res.onAborted(() => {
    r.aborted = true;
    abort.abort();
  });
  const call = await sip.dial(body, abort.signal);
  sendJson(r, 201, { callId: call.id, codec: call.codec, sip: { callId: call.route.params['sipCallId'] } });
}

function parseRemote(v: unknown): UdpRemote | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', 'remote: must be "host:port"');
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : 0;
  // an address, not a name: media is taken only from this address, which is compared as received
  if (!m || port < 1 || port > 65535 || isIP(m[1]!) === 0)
    throw new GatewayError('BAD_REQUEST', `remote: must be "address:port" with an IP address, got ${JSON.stringify(v)}`);
  return { address: m[1]!, port };
}
