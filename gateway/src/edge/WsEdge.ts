import type { EdgeTransport } from './EdgeTransport.js';

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
export class WsEdge implements EdgeTransport {
  readonly kind = 'ws';
  readonly #ws: EdgeSocket;
  #open = true;

  constructor(ws: EdgeSocket) {
    this.#ws = ws;
  }

  /** The socket closed from the edge's side. */
  socketClosed(): void {
    this.#open = false;
  }

  send(pkt: Uint8Array): boolean {
    if (!this.#open || this.#ws.bufferedAmount() > EDGE_SEND_LIMIT) return false;
    return this.#ws.sendBinary(pkt);
  }

  close(reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.#ws.end(1000, reason.slice(0, 120), JSON.stringify({ event: 'stop', reason }));
  }
}
