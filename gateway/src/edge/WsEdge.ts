import type uWS from 'uWebSockets.js';
import type { EdgeTransport } from './EdgeTransport.js';

/** Bytes queued to a slow edge socket before outbound packets are dropped (≈2 s of G.711). */
const EDGE_SEND_LIMIT = 64 * 1024;

/**
 * RTP inside WebSocket binary messages (one packet per message), for edges that cannot do UDP.
 * The first text message started the call; the gateway ends it with {"event":"stop","reason"}.
 */
export class WsEdge<T> implements EdgeTransport {
  readonly kind = 'ws';
  readonly #ws: uWS.WebSocket<T>;
  #open = true;

  constructor(ws: uWS.WebSocket<T>) {
    this.#ws = ws;
  }

  /** The socket closed from the edge's side. */
  socketClosed(): void {
    this.#open = false;
  }

  send(pkt: Uint8Array): boolean {
    if (!this.#open || this.#ws.getBufferedAmount() > EDGE_SEND_LIMIT) return false;
    return this.#ws.send(pkt, true) !== 2;
  }

  close(reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ws.cork(() => {
      this.#ws.send(JSON.stringify({ event: 'stop', reason }), false);
      this.#ws.end(1000, reason.slice(0, 120));
    });
  }
}
