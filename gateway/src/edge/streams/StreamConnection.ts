import { performance } from 'node:perf_hooks';
import type { CallRequest } from '../../call/callRequest.js';
import { toE164 } from '../../e164.js';
import { GatewayError, type GatewayErrorCode } from '../../errors.js';
import { log } from '../../log.js';
import { TokenBucket } from '../../rateLimit.js';
import { bytesInbox, type SocketInbox } from '../../SocketInbox.js';
import { CODEC_INFO, DTMF_PAYLOAD_TYPE } from '../../media/edgeCodecs.js';
import type { EdgeHost } from '../WsEdgeConnection.js';
import type { EdgeSocket } from '../WsEdge.js';
import type { PendingCalls } from './PendingCalls.js';
import { CPAAS_PLATFORMS, type CpaasPlatform, type StreamPlatform, type StreamProtocol, type StreamStart } from './protocol.js';
import { StreamEdge } from './StreamEdge.js';
import { BACKLOG_FRAMES, StreamFraming } from './StreamFraming.js';

export interface StreamHost extends EdgeHost {
  pending: PendingCalls;
}

/** Messages refused before a stream starts, after which its socket is closed. */
const MAX_EARLY_INVALID = 50;
/**
 * Control events (everything but media: mark echoes, DTMF, platform status): ours are a mark
 * per 200 ms plus the agent's (at most 256 outstanding), so 100/s and 500 at once are plenty.
 * Beyond, dropped (EDGE_FLOOD); a stream 500 messages over either budget is closed (1008).
 */
export const CONTROL_RATE = 100;
export const CONTROL_BURST = 500;

const utf8 = new TextDecoder();

/**
 * One platform stream socket: reads the platform's messages (its StreamProtocol), creates the
 * call at its start, and from then on hands media, DTMF, mark confirmations and the end to the
 * call's StreamEdge. A CPaaS stream must present the token its answer webhook minted (else:
 * "unknown call", refused); a PBX stream (Asterisk, FreeSWITCH) was authorised at the upgrade.
 * Bad input is counted and refused, never thrown: one stream cannot disturb another.
 */
export class StreamConnection {
  readonly #platform: StreamPlatform;
  readonly #proto: StreamProtocol;
  readonly #sock: EdgeSocket;
  readonly #host: StreamHost;
  readonly #query: URLSearchParams;
  #edge: StreamEdge | null = null;
  #early = 0;
  #closed = false;
  readonly #inbox: SocketInbox<Uint8Array>;
  readonly #control = new TokenBucket(CONTROL_RATE, CONTROL_BURST);

  constructor(platform: StreamPlatform, proto: StreamProtocol, sock: EdgeSocket, host: StreamHost, query: URLSearchParams) {
    this.#platform = platform;
    this.#proto = proto;
    this.#sock = sock;
    this.#host = host;
    this.#query = query;
    this.#inbox = bytesInbox({
      ...streamBudget(host),
      handle: (data, isBinary, arrivalMs) => {
        this.#handle(data, isBinary, arrivalMs);
      },
      flooded: (n) => {
        host.metrics.drops.inc({ reason: 'EDGE_FLOOD' }, n);
      },
      cutoff: () => {
        log('warn', 'stream_refused', { platform, code: 'EDGE_FLOOD', reason: 'message flood' });
        this.#closed = true;
        sock.end(1008, 'EDGE_FLOOD');
      },
    });
  }

  /** One message (borrowed): counted against the stream's budget, handled in order, a batch per event-loop turn. */
  message(data: Uint8Array, isBinary: boolean): void {
    if (!this.#closed) this.#inbox.push(data, isBinary, performance.now());
  }

  #handle(data: Uint8Array, isBinary: boolean, now: number): void {
    if (this.#closed) return;
    if (isBinary) {
      if (!this.#proto.binaryMedia) return this.#invalid('CONTROL_INVALID', 'binary message on a JSON stream');
      if (this.#edge === null && this.#proto.implicitStart !== undefined) {
        const ev = this.#proto.implicitStart(this.#query);
        if (ev.kind === 'start') this.#start(ev.start);
      }
      if (this.#edge === null) return this.#invalid('CONTROL_INVALID', 'media before start');
      this.#edge.framing.push(data, now);
      return;
    }
    const ev = this.#proto.text(utf8.decode(data), this.#query);
    const edge = this.#edge;
    if (ev.kind !== 'media' && !this.#control.take(now)) return this.#inbox.over();
    switch (ev.kind) {
      case 'ignore':
        return;
      case 'invalid':
        return this.#invalid(ev.code, ev.reason);
      case 'start':
        if (edge !== null) return this.#invalid('CONTROL_INVALID', 'second start');
        return this.#start(ev.start);
      case 'stop':
        if (edge === null) return this.#refuse(new GatewayError('CONTROL_INVALID', 'stop before start'));
        return edge.stop();
    }
    if (edge === null) return this.#invalid('CONTROL_INVALID', `${ev.kind} before start`);
    switch (ev.kind) {
      case 'media':
        edge.framing.pushBase64(ev.b64, now);
        return;
      case 'dtmf':
        return edge.sink?.dtmf(ev.digit, ev.durationMs);
      case 'played':
        return edge.echo(ev.id);
    }
  }

  /** The socket closed (the platform hung up, or a message was too large). */
  closed(tooLarge: boolean): void {
    if (tooLarge) this.#host.metrics.drops.inc({ reason: 'FRAME_TOO_LARGE' });
    // what the platform sent before it closed (its stop, the last media) is handled first
    this.#inbox.end(() => {
      this.#closed = true;
      this.#inbox.close();
      this.#edge?.socketClosed();
    });
  }

  #start(s: StreamStart): void {
    const { registry, routing } = this.#host;
    try {
      let req: CallRequest;
      const info = CODEC_INFO[s.codec];
      const base = { codec: s.codec, payloadType: info.payloadType, dtmfPayloadType: DTMF_PAYLOAD_TYPE };
      if ((CPAAS_PLATFORMS as readonly string[]).includes(this.#platform)) {
        // admitted when its answer was: the token is the admission
        const p = this.#host.pending.take(this.#platform as CpaasPlatform, s.token);
        if (p === null) throw new GatewayError('NOT_FOUND', 'stream for an unknown call (no live token from an answer)', { status: 404 });
        req = { ...base, from: p.from, to: p.to, route: p.route };
      } else {
        registry.admit();
        const to = e164OrRaw(s.to ?? '');
        req = { ...base, from: e164OrRaw(s.from ?? ''), to, route: routing.lookup(to === '' ? undefined : to) };
      }
      const edge = new StreamEdge(this.#platform, this.#sock, s.wire, new StreamFraming(s.codec, info.payloadType));
      this.#edge = edge;
      registry.create(req, edge);
    } catch (err) {
      this.#edge = null;
      this.#refuse(err instanceof GatewayError ? err : new GatewayError('INTERNAL', String(err)));
    }
  }

  /** Counts a refused message; before the start, too many of them close the socket. */
  #invalid(code: GatewayErrorCode, reason: string): void {
    const sink = this.#edge?.sink;
    if (sink) return sink.drop(code);
    this.#host.metrics.drops.inc({ reason: code });
    if (++this.#early === 1) log('warn', 'stream_invalid', { platform: this.#platform, code, reason });
    if (this.#early >= MAX_EARLY_INVALID) this.#refuse(new GatewayError(code, `${MAX_EARLY_INVALID} invalid messages before start`));
  }

  #refuse(e: GatewayError): void {
    this.#host.metrics.rejected.inc({ reason: e.code });
    log('warn', 'stream_refused', { platform: this.#platform, code: e.code, reason: e.message });
    this.#closed = true;
    this.#inbox.close();
    this.#sock.end(e.status === 503 || e.status === 429 ? 1013 : 1008, e.code);
  }
}

/**
 * Every message (or AudioSocket frame) a stream may send, before it is read: media at
 * RTP_RATE_LIMIT (50/s nominal) plus control, and at once the 20 s of audio a platform may release
 * after a stall (StreamFraming paces it) plus control. Beyond, dropped unread (EDGE_FLOOD).
 */
export function streamBudget(host: EdgeHost): { rate: number; burst: number; cutoffAfter: number } {
  return { rate: host.rtpPacketsPerSecond + CONTROL_RATE, burst: BACKLOG_FRAMES + CONTROL_BURST, cutoffAfter: CONTROL_BURST };
}

/** A number in E.164 when it reads as one, else as given (Exotel's 0-prefixed national numbers). */
export function e164OrRaw(v: string): string {
  if (v === '') return '';
  try {
    return toE164(v);
  } catch {
    return v;
  }
}
