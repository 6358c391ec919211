import { performance } from 'node:perf_hooks';
import { parseCallRequest } from '../call/callRequest.js';
import type { CallRegistry } from '../call/CallRegistry.js';
import type { RoutingTable } from '../routing.js';
import { GatewayError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { CODEC_INFO } from '../media/edgeCodecs.js';
import { bytesInbox, type SocketInbox } from '../SocketInbox.js';
import { RtpFraming } from './RtpFraming.js';
import { WsEdge, type EdgeSocket } from './WsEdge.js';

/** What an edge connection needs of the gateway. */
export interface EdgeHost {
  registry: CallRegistry;
  routing: RoutingTable;
  metrics: Metrics;
  rtpPacketsPerSecond: number;
}

/** Largest RTP packet accepted over WebSocket, bytes (a jumbo Opus packet fits many times over). */
export const EDGE_MAX_MESSAGE = 16 * 1024;
/**
 * Control messages (text, and binary before the start) a /v1/edge may send: a call needs two
 * (start, stop), so 5/s and 20 at once leave room for any client; beyond, dropped unread
 * (EDGE_FLOOD), and 100 over closes the socket (1008). RTP is limited per call (RTP_RATE_LIMIT).
 */
const CONTROL_RATE = 5;
const CONTROL_BURST = 20;
const CONTROL_CUTOFF = 100;

const utf8 = new TextDecoder();

/**
 * One `/v1/edge` WebSocket, on whichever server accepted it (uWS, or `ws` for the bench): a text
 * `start` creates the call and its WsEdge, binary messages are its RTP, `stop` ends it.
 */
export class WsEdgeConnection {
  readonly #sock: EdgeSocket;
  readonly #host: EdgeHost;
  #edge: WsEdge | null = null;
  #callClose: ((reason: 'edge_stop') => void) | null = null;
  readonly #inbox: SocketInbox<Uint8Array>;

  constructor(sock: EdgeSocket, host: EdgeHost) {
    this.#sock = sock;
    this.#host = host;
    this.#inbox = bytesInbox({
      rate: CONTROL_RATE,
      burst: CONTROL_BURST,
      cutoffAfter: CONTROL_CUTOFF,
      handle: (m, isBinary, arrivalMs) => {
        this.#handle(m, isBinary, arrivalMs);
      },
      flooded: (n) => {
        host.metrics.drops.inc({ reason: 'EDGE_FLOOD' }, n);
      },
      cutoff: () => {
        sock.end(1008, 'EDGE_FLOOD', JSON.stringify({ event: 'error', code: 'EDGE_FLOOD', message: 'control message flood' }));
      },
    });
  }

  /** One message (borrowed): RTP admitted by its call's rate limit, control by the budget above; handled in order, a batch per turn. */
  message(message: Uint8Array, isBinary: boolean): void {
    const now = performance.now();
    const edge = this.#edge;
    if (!isBinary || edge === null) this.#inbox.push(message, isBinary, now);
    else if (edge.admit(now)) this.#inbox.pass(message, true, now);
  }

  #handle(message: Uint8Array, isBinary: boolean, arrivalMs: number): void {
    if (isBinary) {
      if (this.#edge === null) this.#host.metrics.drops.inc({ reason: 'BAD_REQUEST' });
      else this.#edge.receive(message, arrivalMs);
      return;
    }
    let msg: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(utf8.decode(message));
      if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch {
      return this.#invalid('text message must be a JSON object with an "event"');
    }
    if (msg['event'] === 'start' && this.#edge === null) return this.#start(msg);
    if (msg['event'] === 'stop' && this.#callClose !== null) return this.#callClose('edge_stop');
    this.#invalid(`unexpected event ${JSON.stringify(msg['event'])}`);
  }

  #start(msg: Record<string, unknown>): void {
    const { registry } = this.#host;
    try {
      registry.admit();
      const req = parseCallRequest(msg, this.#host.routing);
      const edge = new WsEdge(this.#sock, new RtpFraming(req, this.#host));
      this.#edge = edge;
      const call = registry.create(req, edge);
      this.#callClose = (reason) => {
        call.close(reason);
      };
      this.#sock.sendText(
        JSON.stringify({
          event: 'started',
          callId: call.id,
          payloadType: req.payloadType,
          clockRate: CODEC_INFO[req.codec].clockRate,
          ptime: 20,
          dtmfPayloadType: req.dtmfPayloadType,
        }),
      );
    } catch (err) {
      const e = err instanceof GatewayError ? err : new GatewayError('BAD_REQUEST', String(err));
      this.#host.metrics.rejected.inc({ reason: e.code });
      this.#sock.end(e.status === 503 ? 1013 : 1008, e.code, JSON.stringify({ event: 'error', code: e.code, message: e.message }));
    }
  }

  #invalid(message: string): void {
    this.#host.metrics.drops.inc({ reason: 'CONTROL_INVALID' });
    this.#sock.sendText(JSON.stringify({ event: 'error', code: 'CONTROL_INVALID', message }));
  }

  /** The socket closed (from the edge's side, or for a too-large message): its call ends. */
  closed(tooLarge: boolean): void {
    if (tooLarge) this.#host.metrics.drops.inc({ reason: 'FRAME_TOO_LARGE' });
    this.#inbox.end(() => {
      this.#inbox.close();
      this.#edge?.socketClosed();
    });
  }
}
