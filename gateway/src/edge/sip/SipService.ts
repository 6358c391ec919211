import dgram from 'node:dgram';
import net from 'node:net';
import type { Call } from '../../call/Call.js';
import type { CallRequest } from '../../call/callRequest.js';
import { toE164 } from '../../e164.js';
import { GatewayError } from '../../errors.js';
import { log } from '../../log.js';
import type { Route } from '../../route.js';
import { answerOffer } from '../../sip/sdp.js';
import { parseUri } from '../../sip/uri.js';
import type { ListenOptions } from '../../sip/transport.js';
import { UserAgent, type IncomingCall } from '../../sip/UserAgent.js';
import { RtpFraming } from '../RtpFraming.js';
import { bindRtpSocket, UdpEdge } from '../UdpEdge.js';
import { dialOut, parseSipDial } from './dialOut.js';
import type { SipHost } from './SipHost.js';
import { rtcpDestination, SipCallEdge } from './SipCallEdge.js';
import { trunksFor, type SipTrunk } from './trunks.js';

/** RFC 3261 §20.33: how long a refused caller should wait before trying again, s. */
const RETRY_AFTER_S = 5;
/** The digest realm we challenge in. */
const REALM = 'voice-gateway';

/** An IPv4 address as a dual-stack socket reports it (`::ffff:a.b.c.d`), in its IPv4 form. */
const unmapped = (address: string): string => (address.startsWith('::ffff:') ? address.slice(7) : address);

/**
 * The gateway as a SIP endpoint for trunks (carriers, PBXs, SBCs, softphones): each INVITE is
 * checked (trunk by source address and/or digest, RFC 8760), routed by the called number, its
 * SDP offer answered (RFC 3264: the route's codec preference, telephone-event as offered, ptime
 * 20), and becomes a call on a SipCallEdge. The 200 is sent once the call's agent can hear the
 * caller; until then the caller hears ringing (180), and may CANCEL.
 */
export class SipService {
  readonly ua: UserAgent;
  readonly #h: SipHost;

  private constructor(ua: UserAgent, host: SipHost) {
    this.ua = ua;
    this.#h = host;
  }

  static async start(host: SipHost): Promise<SipService> {
    const s = host.sip;
    // UDP and TCP share one port (what a trunk is pointed at); 0 asks for a free one (tests).
    const port = s.port === 0 ? await freePort(s.host) : s.port;
    const listen: ListenOptions[] = [
      { protocol: 'udp', host: s.host, port },
      { protocol: 'tcp', host: s.host, port },
    ];
    if (s.tlsPort !== null && host.tls !== null)
      listen.push({ protocol: 'tls', host: s.host, port: s.tlsPort, tls: { certPath: host.tls.certFile, keyPath: host.tls.keyFile } });
    let onInvite: (inc: IncomingCall) => Promise<void> = (inc) => {
      inc.reject(503, 'Service Unavailable');
      return Promise.resolve();
    };
    const ua = await UserAgent.create({
      listen,
      publicHost: s.publicHost,
      // The nonce key is shared by every instance behind one balancer (the INVITE answering a 401 may
      // reach another one), so it comes from the settings; one random per process otherwise.
      digest: { realm: REALM, secret: s.digestSecret ?? randomSecret(), algorithms: s.digestAlgorithms },
      onInvite: (inc) => onInvite(inc),
      // OPTIONS is the load balancer's health probe (Kamailio's dispatcher, OpenSIPS' load
      // balancer): 503 while draining or at capacity (MAX_CALLS, no DSP headroom) takes us out of
      // rotation until a probe is answered 200 again, so new calls go where they can be taken.
      onOptions: () => (host.registry.draining || host.registry.atCapacity() !== null ? 503 : 200),
      onDrop: (reason) => {
        host.metrics.drops.inc({ reason });
      },
    });
    const svc = new SipService(ua, host);
    onInvite = (inc) => svc.#onInvite(inc);
    return svc;
  }

  /** Where we listen: [{protocol, host, port}]. */
  get addresses(): { protocol: string; host: string; port: number }[] {
    return this.ua.addresses;
  }

  async #onInvite(inc: IncomingCall): Promise<void> {
    const h = this.#h;
    const trunk = this.#authorize(inc);
    if (trunk === null) return;
    try {
      h.registry.admit();
    } catch (err) {
      const e = err as GatewayError;
      h.metrics.rejected.inc({ reason: e.code });
      inc.reject(503, 'Service Unavailable', { 'retry-after': String(RETRY_AFTER_S), reason: `SIP;cause=503;text="${e.code}"` });
      return;
    }
    const to = numberOf(userOf(inc.request.uri) ?? userOf(inc.to.uri));
    const route = h.routing.find(to);
    // An offerless INVITE (the offer in our 200, the answer in the ACK) is not supported: 488.
    if (route === null || inc.offer === '') {
      inc.reject(route === null ? 404 : 488);
      return;
    }
    // The SDP answer names our RTP port, so the socket is bound first (and closed on a 488).
    const sock = await bindRtpSocket(h.rtpBindHost);
    const answer = answerOffer(inc.offer, { address: h.sip.publicHost, port: sock.address().port, codecs: route.codecs });
    if (answer === null) {
      sock.close();
      inc.reject(488);
      return;
    }
    const m = answer.media;
    const dtmfPayloadType = m.dtmfPayloadType ?? 101;
    const rtp = new RtpFraming({ codec: m.codec, payloadType: m.payloadType, dtmfPayloadType }, h);
    // The caller's SDP may name any address for our RTP. An inside one that DIAL_ALLOW does not
    // open, other than the address the INVITE came from (a PBX on the LAN names itself), gets
    // nothing until media has come from it (UdpEdge `confirm`), so an INVITE cannot aim our RTP
    // at an inside host that never spoke to us. (Dial-outs and the API's `remote` do the same.)
    const guard = h.dialGuard;
    const signalling = unmapped(inc.remote.address);
    const udp = new UdpEdge(sock, rtp, {
      remote: { address: m.remoteAddress, port: m.remotePort },
      confirm: (a) => guard !== undefined && unmapped(a) !== signalling && !guard.allowsAddress(a),
      behindNat: trunk.behindNat,
      rtcp: rtcpDestination(m),
      kind: 'sip',
    });
    const edge = new SipCallEdge(udp);
    edge.negotiated(m);
    const req: CallRequest = {
      codec: m.codec,
      payloadType: m.payloadType,
      dtmfPayloadType,
      from: numberOf(userOf(inc.from.uri)),
      to,
      route: withSipParams(route, inc, trunk),
    };
    const call = h.registry.create(req, edge);
    inc.onCancel = () => {
      call.close('edge_stop');
    };
    inc.ringing();
    if (!(await call.whenAgentReady())) {
      if (inc.state === 'pending') inc.reject(480, 'Temporarily Unavailable');
      return;
    }
    if (inc.state !== 'pending') return;
    try {
      // Bound as the 200 goes out: a caller who hangs up at once may send its BYE before the ACK,
      // or in the same TCP read.
      await inc.answer(answer.sdp, {
        onDialog: (dialog) => {
          edge.bind(dialog);
          dialog.onReoffer = (offer) => {
            const a = answerOffer(offer, { address: h.sip.publicHost, port: udp.port, codecs: [m.codec] });
            if (a === null) return null;
            edge.negotiated(a.media);
            return a.sdp;
          };
        },
      });
      log('info', 'sip_answered', {
        callId: call.id,
        sipCallId: inc.callId,
        trunk: trunk.name,
        codec: m.codec,
        remote: `${m.remoteAddress}:${m.remotePort}`,
      });
    } catch (err) {
      // A caller who hung up before its ACK has ended the call already: the 200 given up on 64·T1
      // later is no failure.
      if (call.state === 'closed') return;
      log('warn', 'sip_answer_failed', { callId: call.id, error: String(err) });
      call.close('edge_closed');
    }
  }

  /** Places a call to a SIP URI (`POST /v1/calls` with `"sip"`); resolves once answered. */
  dial(body: Record<string, unknown>, signal: AbortSignal): Promise<Call> {
    return dialOut(this.ua, this.#h, parseSipDial(body, this.#h.routing, this.#h.sip.publicHost), signal);
  }

  /** The trunk this INVITE comes from, or null once it has been refused (403) or challenged (401). */
  #authorize(inc: IncomingCall): SipTrunk | null {
    const trunks = trunksFor(this.#h.sip.trunks, inc.remote.address);
    if (trunks.length === 0) {
      this.#h.metrics.rejected.inc({ reason: 'UNAUTHORIZED' });
      inc.reject(403, 'Forbidden');
      return null;
    }
    const open = trunks.find((t) => t.auth === null);
    if (open !== undefined) return open;
    const verdict = inc.authenticate((user) => trunks.find((t) => t.auth?.username === user)?.auth?.password);
    if (verdict.result === 'ok') return trunks.find((t) => t.auth?.username === verdict.username) ?? null;
    if (verdict.result === 'invalid') this.#h.metrics.rejected.inc({ reason: 'UNAUTHORIZED' });
    inc.challenge({ stale: verdict.result === 'stale' });
    return null;
  }

  async close(): Promise<void> {
    await this.ua.close();
  }
}

/** The user part of a sip:/tel: URI, or undefined. */
function userOf(uri: string): string | undefined {
  try {
    return parseUri(uri).user || undefined;
  } catch {
    return undefined;
  }
}

/** A URI user as E.164 when it is a number, else '' (routing then uses the default). */
function numberOf(user: string | undefined): string {
  if (user === undefined) return '';
  try {
    return toE164(user);
  } catch {
    return '';
  }
}

/** The route, its params extended with what the agent should know of the SIP call (start.params). */
function withSipParams(route: Route, inc: IncomingCall, trunk: SipTrunk): Route {
  const params: Record<string, unknown> = {
    ...route.params,
    sipCallId: inc.callId,
    sipFrom: inc.from.uri,
    sipTo: inc.to.uri,
    sipTrunk: trunk.name,
  };
  for (const [name, values] of inc.request.headers.entries()) if (/^x-/i.test(name) && values[0] !== undefined) params[name] = values[0];
  return { ...route, params: Object.freeze(params) };
}

/** A port free for both UDP and TCP on `host` right now. */
async function freePort(host: string): Promise<number> {
  for (;;) {
    const server = net.createServer();
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
    });
    await new Promise((r) => server.close(r));
    const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, host, () => resolve(true));
    });
    if (ok) udp.close();
    if (ok) return port;
  }
}

function randomSecret(): string {
  return crypto.randomUUID() + crypto.randomUUID();
}
