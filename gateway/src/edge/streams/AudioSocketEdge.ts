import type net from 'node:net';
import { AUDIOSOCKET_HANGUP } from '../../platforms/asterisk.js';
import type { Edge, EdgeSink, OutboundFrame } from '../Edge.js';
import type { StreamFraming } from './StreamFraming.js';

/** Frame buffers in rotation: the socket may still hold the previous few (see `send`). */
const RING = 8;
/** AudioSocket slin type codes by rate. */
const SLIN_TYPE: Readonly<Record<number, number>> = { 8000: 0x10, 16000: 0x12 };

/**
 * Asterisk AudioSocket (TCP, `type | length (BE) | payload`), one call per connection. Asterisk
 * plays each slin frame as it arrives and queues nothing we could flush, so this edge is
 * 'clocked': the playout sends a frame every 20 ms (silence when the agent is quiet), marks are
 * reached when their audio has gone out, and a clear is simply the next frame being silence.
 * https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/
 */
export class AudioSocketEdge implements Edge {
  readonly kind = 'audiosocket';
  readonly playback = 'clocked';
  readonly leadMs = 0;
  readonly framing: StreamFraming;
  readonly #sock: net.Socket;
  readonly #ring: Uint8Array[];
  readonly #type: number;
  #next = 0;
  #sink: EdgeSink | null = null;
  #open = true;

  constructor(sock: net.Socket, framing: StreamFraming, rate: 8000 | 16000) {
    this.#sock = sock;
    this.framing = framing;
    this.#type = SLIN_TYPE[rate]!;
    this.#ring = Array.from({ length: RING }, () => new Uint8Array(3 + framing.frameBytes));
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
    this.framing.attach(sink);
  }

  get sink(): EdgeSink | null {
    return this.#sink;
  }

  send(frame: OutboundFrame): boolean {
    if (!this.#open || frame.kind !== 'audio') return false;
    // A buffer is reused RING frames later; a socket holding that much unsent is not reading,
    // and its audio is late already: dropped, not queued (and no buffer still queued is reused).
    if (this.#sock.writableLength > (RING - 2) * (3 + this.framing.frameBytes)) {
      this.#sink?.drop('EDGE_BACKPRESSURE');
      return false;
    }
    const out = this.#ring[this.#next]!;
    this.#next = (this.#next + 1) % RING;
    const n = frame.payload.length;
    out[0] = this.#type;
    out[1] = n >> 8;
    out[2] = n & 0xff;
    out.set(frame.payload, 3);
    this.#sock.write(out.subarray(0, 3 + n));
    return true;
  }

  // Nothing held at the far end: marks and clears are the playout's own (clocked) business.
  mark(): void {}
  clear(): void {}

  /** Asterisk hung up (a hangup frame, an error frame, or the socket closed). */
  ended(reason: 'edge_stop' | 'edge_closed'): void {
    if (reason === 'edge_closed') this.#open = false;
    this.#sink?.ended(reason);
  }

  close(): void {
    if (!this.#open) {
      this.#release();
      return;
    }
    this.#open = false;
    this.#release();
    this.#sock.end(Uint8Array.of(AUDIOSOCKET_HANGUP, 0, 0));
  }

  #release(): void {
    this.#sink = null;
    this.framing.close();
  }
}
