import net from 'node:net';
import type { SipMessage, SipResponse } from '../../../gateway/src/sip/message.js';
import { RawPeer } from './peers.js';

/**
 * Hand-written SIP over UDP for the cases no well-behaved peer produces (floods, stray BYEs,
 * unknown methods, garbage): a RawPeer that places calls with its own INVITE/ACK/BYE.
 */
let n = 0;
const rand = (): string => `${Date.now().toString(36)}${(n++).toString(36)}${Math.random().toString(36).slice(2, 8)}`;

export function sdpOffer(port: number, opts: { pts?: string; extra?: string[]; direction?: string; address?: string } = {}): string {
  return [
    'v=0',
    `o=raw ${port} 1 IN IP4 ${opts.address ?? '127.0.0.1'}`,
    's=-',
    `c=IN IP4 ${opts.address ?? '127.0.0.1'}`,
    't=0 0',
    `m=audio ${port} RTP/AVP ${opts.pts ?? '0 101'}`,
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:101 telephone-event/8000',
    ...(opts.extra ?? []),
    `a=${opts.direction ?? 'sendrecv'}`,
    '',
  ].join('\r\n');
}

export interface RawCall {
  callId: string;
  fromTag: string;
  toTag: string;
  cseq: number;
}

export class RawUac {
  readonly peer: RawPeer;
  readonly gwPort: number;

  private constructor(peer: RawPeer, gwPort: number) {
    this.peer = peer;
    this.gwPort = gwPort;
  }

  /** A UAC on `host` (any loopback address) for the gateway's SIP port on 127.0.0.1. */
  static async open(gwPort: number, host?: string): Promise<RawUac> {
    return new RawUac(await RawPeer.open(host), gwPort);
  }

  /** A request with the usual headers; `body` is SDP unless `type` says otherwise. */
  request(
    method: string,
    c: { callId: string; fromTag: string; toTag?: string; cseq: number },
    body = '',
    type = 'application/sdp',
    extra: string[] = [],
  ): string {
    const p = this.peer.port;
    const me = this.peer.host;
    const lines = [
      `${method} sip:+14155550100@127.0.0.1:${this.gwPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${me}:${p};branch=z9hG4bK${rand()};rport`,
      'Max-Forwards: 70',
      `From: <sip:raw@${me}:${p}>;tag=${c.fromTag}`,
      `To: <sip:+14155550100@127.0.0.1:${this.gwPort}>${c.toTag !== undefined && c.toTag !== '' ? `;tag=${c.toTag}` : ''}`,
      `Call-ID: ${c.callId}`,
      `CSeq: ${c.cseq} ${method}`,
      `Contact: <sip:raw@${me}:${p}>`,
      ...extra,
      ...(body !== '' ? [`Content-Type: ${type}`] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    return lines.join('\r\n');
  }

  /** Sends an INVITE; returns the call's identifiers (the To tag once a response carries it). */
  invite(sdp: string, extra: string[] = []): RawCall {
    const c = { callId: `${rand()}@raw`, fromTag: rand(), toTag: '', cseq: 1 };
    this.peer.send(this.request('INVITE', c, sdp, 'application/sdp', extra), this.gwPort);
    return c;
  }

  /** The final response to `c`'s request `method` (a response with CSeq method and Call-ID). */
  async final(c: RawCall, method = 'INVITE', ms = 10_000): Promise<SipResponse> {
    const res = (await this.peer.next(
      (m) => isResponseTo(m, c.callId, `${c.cseq} ${method}`) && (m as SipResponse).status >= 200,
      ms,
    )) as SipResponse;
    c.toTag = /;tag=([^;\s]+)/.exec(res.headers.get('to') ?? '')?.[1] ?? '';
    return res;
  }

  ack(c: RawCall): void {
    // The ACK of a 2xx carries the INVITE's CSeq number (RFC 3261 §13.2.2.4).
    this.peer.send(this.request('ACK', { ...c, cseq: 1 }), this.gwPort);
  }

  /** An in-dialog request (BYE, INFO, INVITE…); CSeq goes up. */
  inDialog(c: RawCall, method: string, body = '', type = 'application/sdp'): void {
    c.cseq++;
    this.peer.send(this.request(method, c, body, type), this.gwPort);
  }

  /** Places a call through to 200 + ACK. */
  async call(sdp: string): Promise<RawCall> {
    const c = this.invite(sdp);
    const res = await this.final(c);
    if (res.status !== 200) throw new Error(`INVITE answered ${res.status}`);
    this.ack(c);
    return c;
  }

  close(): void {
    this.peer.close();
  }
}

/** A response in the call `callId` to the request with CSeq `cseq` ("2 INVITE"). */
export function isResponseTo(m: SipMessage, callId: string, cseq: string): boolean {
  return m.type === 'response' && m.headers.get('call-id') === callId && (m.headers.get('cseq') ?? '').replace(/\s+/g, ' ').trim() === cseq;
}

/** Writes `data` to the gateway's SIP TCP port and closes; resolves once the gateway closed or 1 s passed. */
export async function sendTcp(port: number, data: Buffer): Promise<void> {
  await new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve();
    };
    const t = setTimeout(done, 1000);
    s.on('close', done);
    s.on('error', done);
  });
}
