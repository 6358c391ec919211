import type { Dialog } from '../../sip/dialog.js';
import type { NegotiatedMedia } from '../../sip/sdp.js';
import type { Edge, EdgeSink, OutboundFrame } from '../Edge.js';
import type { RtcpSession } from '../RtcpSession.js';
import type { UdpEdge, UdpRemote } from '../UdpEdge.js';

/** Where RTCP goes for negotiated media: the RTP port with rtcp-mux (RFC 5761), else the next one (RFC 3550 §11). */
export function rtcpDestination(m: NegotiatedMedia): UdpRemote {
  return { address: m.remoteAddress, port: m.rtcpMux ? m.remotePort : m.remotePort + 1 };
}

/**
 * A SIP call's edge: its RTP (a UdpEdge on the negotiated address, strict about the source) and
 * its dialog. The far end's BYE ends the call; the call ending sends BYE. A re-INVITE or UPDATE
 * that moves the media or puts the call on hold (sendonly/inactive, RFC 3264 §8.4) is followed
 * without ending the call: while held, the playout waits. INFO dtmf-relay becomes DTMF.
 */
export class SipCallEdge implements Edge {
  readonly kind = 'sip';
  readonly playback = 'clocked';
  readonly leadMs = 0;
  readonly #rtp: UdpEdge;
  #dialog: Dialog | null = null;
  #sink: EdgeSink | null = null;
  #paused = false;
  #closed = false;

  constructor(rtp: UdpEdge) {
    this.#rtp = rtp;
  }

  /** The far end holds the call. */
  get paused(): boolean {
    return this.#paused;
  }

  /** The RTP port we advertise. */
  get port(): number {
    return this.#rtp.port;
  }

  /** The confirmed dialog (after the 200 for our INVITE, or once we answered). */
  bind(dialog: Dialog): void {
    this.#dialog = dialog;
    dialog.onBye = () => {
      this.#dialog = null; // their BYE ended the dialog: closing must not send one back
      this.#sink?.ended('edge_stop');
    };
    dialog.onEnd = () => this.#sink?.ended('edge_closed');
    dialog.onDtmf = (digit, durationMs) => this.#sink?.dtmf(digit, durationMs);
    if (this.#closed) void dialog.bye().catch(() => undefined);
  }

  /** The media as (re)negotiated: where RTP and RTCP go, and whether the far end holds the call. */
  negotiated(m: NegotiatedMedia): void {
    this.#rtp.setRemote({ address: m.remoteAddress, port: m.remotePort }, rtcpDestination(m));
    this.#paused = m.remoteDirection === 'sendonly' || m.remoteDirection === 'inactive' || m.remoteAddress === '0.0.0.0';
    this.#rtp.hold(this.#paused);
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
    this.#rtp.attach(sink);
  }

  get rtcp(): RtcpSession {
    return this.#rtp.rtcp;
  }

  send(frame: OutboundFrame): boolean {
    return this.#rtp.send(frame);
  }

  mark(): void {}
  clear(): void {}

  /** Asks the far end to call `target` instead (REFER, RFC 3515); resolves with the transfer's final status. */
  async transfer(target: string): Promise<number> {
    if (this.#dialog === null || this.#closed) return 481;
    return this.#dialog.refer(target);
  }

  /** Hangs up (BYE, unless the far end already did) and releases the RTP socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sink = null;
    const d = this.#dialog;
    if (d !== null && d.state === 'confirmed') void d.bye().catch(() => undefined);
    this.#rtp.close();
  }
}
