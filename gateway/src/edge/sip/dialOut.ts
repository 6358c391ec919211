import type { DialGuard } from '../../agent/dialGuard.js';
import type { Call } from '../../call/Call.js';
import { toE164 } from '../../e164.js';
import { GatewayError } from '../../errors.js';
import { log } from '../../log.js';
import { isObject, parseRoute, type Route } from '../../route.js';
import type { RoutingTable } from '../../routing.js';
import { SipError } from '../../sip/errors.js';
import { createOffer, parseAnswer } from '../../sip/sdp.js';
import type { Remote } from '../../sip/transport.js';
import { parseUri, uriDestination, type SipUri } from '../../sip/uri.js';
import type { UserAgent } from '../../sip/UserAgent.js';
import { RtpFraming } from '../RtpFraming.js';
import { bindRtpSocket, UdpEdge } from '../UdpEdge.js';
import { rtcpDestination, SipCallEdge } from './SipCallEdge.js';
import type { SipHost } from './SipHost.js';

/** `POST /v1/calls` with `"sip"`: whom to call and as whom. */
export interface SipDial {
  uri: string;
  /** our identity, a sip: URI (From) */
  from: string;
  auth: { username: string; password: string } | null;
  /** extra headers (X-…) on the INVITE */
  headers: Record<string, string>;
  route: Route;
  /** E.164 numbers of the two ends, where the URIs carry them ('' otherwise) */
  fromNumber: string;
  toNumber: string;
}

/** Validates the `sip` part of a call request; errors name the field. */
export function parseSipDial(body: Record<string, unknown>, routing: RoutingTable, publicHost: string): SipDial {
  const sip = body['sip'];
  if (!isObject(sip)) throw new GatewayError('BAD_REQUEST', 'sip: must be an object with a "uri"');
  const uri = sip['uri'];
  const target = sipUri(uri, 'sip.uri');
  const from = sip['from'] ?? `sip:gateway@${publicHost}`;
  const caller = sipUri(from, 'sip.from');
  let auth: SipDial['auth'] = null;
  if (sip['auth'] !== undefined) {
    const a = sip['auth'];
    if (!isObject(a) || typeof a['username'] !== 'string' || typeof a['password'] !== 'string')
      throw new GatewayError('BAD_REQUEST', 'sip.auth: must be {"username", "password"}');
    auth = { username: a['username'], password: a['password'] };
  }
  const headers = sip['headers'] ?? {};
  if (!isObject(headers) || !Object.entries(headers).every(([k, v]) => /^x-[\w-]+$/i.test(k) && typeof v === 'string'))
    throw new GatewayError('BAD_REQUEST', 'sip.headers: must map X- header names to strings');
  const toNumber = e164OrEmpty(target.user);
  let route: Route;
  try {
    route = body['route'] !== undefined ? parseRoute(body['route']) : routing.lookup(toNumber === '' ? undefined : toNumber);
  } catch (err) {
    throw new GatewayError('BAD_REQUEST', (err as Error).message);
  }
  return {
    uri: target.text,
    from: caller.text,
    auth,
    headers: headers as Record<string, string>,
    route,
    fromNumber: e164OrEmpty(caller.user),
    toNumber,
  };
}

/** A sip:/sips: URI field, parsed once; errors name the field. */
function sipUri(v: unknown, field: string): SipUri & { text: string } {
  if (typeof v !== 'string' || !/^sips?:/.test(v)) throw new GatewayError('BAD_REQUEST', `${field}: must be a sip: or sips: URI`);
  try {
    return { ...parseUri(v), text: v };
  } catch (err) {
    throw new GatewayError('BAD_REQUEST', `${field}: ${(err as Error).message}`);
  }
}

function e164OrEmpty(user: string | undefined): string {
  if (user === undefined) return '';
  try {
    return toE164(user);
  } catch {
    return '';
  }
}

/**
 * Where the INVITE goes, checked before anything is sent: the URI's host resolved here, and
 * refused (SIP_URI_FORBIDDEN) when it is loopback, link-local, private or metadata and not in
 * DIAL_ALLOW. UDP and TCP go to the checked address (a name cannot resolve elsewhere a moment
 * later); TLS keeps the name, whose certificate the handshake verifies. Null: unguarded.
 */
async function guardedDestination(guard: DialGuard | undefined, uri: string): Promise<Remote | null> {
  if (guard === undefined) return null;
  const dest = uriDestination(uri, 'udp');
  let address: string;
  try {
    address = await guard.address(dest.address, 'SIP_URI_FORBIDDEN');
  } catch (err) {
    if (err instanceof GatewayError) throw new GatewayError(err.code, `sip.uri: ${err.message}`, { status: 403 });
    throw new GatewayError('SIP_CALL_FAILED', `sip.uri: ${dest.address} does not resolve (${(err as Error).message})`, { status: 502 });
  }
  return dest.protocol === 'tls' ? null : { ...dest, address };
}

/**
 * Places a call (UAC): INVITE with our offer (the route's codecs, telephone-event), one retry
 * with digest on 401/407, provisional responses, then on 200 the ACK, and the call with its agent.
 * Resolves with the call once the callee answered; `signal` aborts a ringing call (CANCEL).
 * Rejects with SIP_REJECTED (the callee's status) or SIP_TIMEOUT.
 */
export async function dialOut(ua: UserAgent, h: SipHost, d: SipDial, signal: AbortSignal): Promise<Call> {
  const destination = await guardedDestination(h.dialGuard, d.uri);
  const sock = await bindRtpSocket(h.rtpBindHost);
  try {
    const offer = createOffer({ address: h.sip.publicHost, port: sock.address().port, codecs: d.route.codecs });
    const dialog = await ua.invite(d.uri, offer, {
      from: d.from,
      headers: d.headers,
      signal,
      ...(d.auth !== null ? { auth: d.auth } : {}),
      ...(destination !== null ? { destination } : {}),
    });
    // A BYE read with the callee's 200 (one TCP read) has ended the dialog already.
    if (dialog.state === 'terminated') throw new GatewayError('SIP_CALL_FAILED', 'the SIP callee hung up as it answered', { status: 502 });
    const m = parseAnswer(dialog.remoteSdp, d.route.codecs);
    if (m === null) {
      void dialog.bye().catch(() => undefined);
      throw new GatewayError('CODEC_UNSUPPORTED', 'the callee answered with no codec we offered');
    }
    const dtmfPayloadType = m.dtmfPayloadType ?? 101;
    const rtp = new RtpFraming({ codec: m.codec, payloadType: m.payloadType, dtmfPayloadType }, h);
    // The callee's SDP may name any address: an inside one the guard refuses gets nothing until
    // media has come from it (UdpEdge `confirm`), so a dial-out cannot aim our RTP inside.
    const guard = h.dialGuard;
    const udp = new UdpEdge(sock, rtp, {
      remote: { address: m.remoteAddress, port: m.remotePort },
      confirm: (a) => guard !== undefined && !guard.allowsAddress(a),
      rtcp: rtcpDestination(m),
      kind: 'sip',
    });
    const edge = new SipCallEdge(udp);
    edge.negotiated(m);
    edge.bind(dialog);
    const params = { ...d.route.params, sipCallId: dialog.callId, sipTo: d.uri };
    const call = h.registry.create(
      { codec: m.codec, payloadType: m.payloadType, dtmfPayloadType, from: d.fromNumber, to: d.toNumber, route: { ...d.route, params } },
      edge,
    );
    log('info', 'sip_dialled', { callId: call.id, sipCallId: dialog.callId, codec: m.codec });
    return call;
  } catch (err) {
    sock.close();
    if (err instanceof SipError) {
      const status = err.status ?? 0;
      throw new GatewayError('SIP_CALL_FAILED', `the SIP call failed: ${err.code}${status ? ` ${status}` : ''} (${err.message})`, {
        status: 502,
      });
    }
    throw err;
  }
}
