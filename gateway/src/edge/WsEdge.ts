import type { Edge, EdgeSink, OutboundFrame } from './Edge.js';
import type { RtcpSession } from './RtcpSession.js';
import type { RtpFraming } from './RtpFraming.js';

/** Bytes queued to a slow edge socket before outbound packets are dropped (≈2 s of G.711). */
const EDGE_SEND_LIMIT = 64 * 1024;

/** The server-side WebSocket under an edge: uWS in production, `ws` for the side-by-side bench. */
export interface EdgeSocket {
  /** Sends one binary message; false when dropped. */
  sendBinary(bytes: Uint8Array): boolean;
  sendText(text: string): void;
  bufferedAmount(): number;
  /** Sends `text` (if any) then closes with `code`. */
  end(code: number, reason: string, text?: string): void;
}

/**
 * RTP inside WebSocket binary messages (one packet per message), for edges that cannot do UDP.
 * The first text message started the call; the gateway ends it with {"event":"stop","reason"}.
 */
export class WsEdge implements Edge {
  readonly kind = 'ws';
  readonly playback = 'clocked';
  readonly leadMs = 0;
  readonly #ws: EdgeSocket;
  readonly #rtp: RtpFraming;
  #sink: EdgeSink | null = null;
  #open = true;

  constructor(ws: EdgeSocket, rtp: RtpFraming) {
    this.#ws = ws;
    this.#rtp = rtp;
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
    this.#rtp.attach(sink);
  }

  get rtcp(): RtcpSession {
    return this.#rtp.rtcp;
  }

  /** The call's RTP rate limit, at a packet's arrival: false when it is dropped (RTP_RATE_LIMITED). */
  admit(arrivalMs: number): boolean {
    return this.#sink !== null && this.#rtp.admit(arrivalMs, this.#sink);
  }

  /** One binary message already admitted: an RTP packet (borrowed: parsed before this returns). */
  receive(message: Uint8Array, arrivalMs: number): void {
    if (this.#sink !== null) this.#rtp.handle(message, arrivalMs, this.#sink);
  }

  /** The socket closed from the edge's side. */
  socketClosed(): void {
    this.#open = false;
    this.#sink?.ended('edge_closed');
  }

  send(frame: OutboundFrame): boolean {
    if (!this.#open) return false;
    if (this.#ws.bufferedAmount() > EDGE_SEND_LIMIT) {
      // A far end that stopped reading: its audio is late already, so it is dropped, not queued.
      this.#sink?.drop('EDGE_BACKPRESSURE');
      return false;
    }
    return this.#ws.sendBinary(this.#rtp.packetize(frame));
  }

  mark(): void {}
  clear(): void {}

  close(reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#sink = null;
    this.#ws.end(1000, reason.slice(0, 120), JSON.stringify({ event: 'stop', reason }));
  }
}
