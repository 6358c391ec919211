import { performance } from 'node:perf_hooks';
import { dtmfDigit } from '../../../../codecs/src/index.js';
import type { Edge, EdgeSink, OutboundFrame } from '../Edge.js';
import type { EdgeSocket } from '../WsEdge.js';
import type { StreamFraming } from './StreamFraming.js';

/**
 * ms of audio kept at the platform ahead of real time. The playout tops the far end up each
 * 20 ms tick until more than this is queued, so right after a tick it holds this plus the frame
 * now playing (60 ms), and never less than this minus the tick's lateness: a clear or barge-in
 * is heard within a tick plus this lead, and a late tick does not starve the platform.
 */
export const STREAM_LEAD_MS = 40;

/** Bytes queued to a platform socket that stopped reading before audio is dropped (≈4 s of µ-law JSON). */
const SEND_LIMIT = 64 * 1024;
/** ms of audio between the progress marks that tell how much the platform has played. */
const PROGRESS_MS = 200;

/**
 * A platform's outbound vocabulary, built with its `platforms/*` builders: the one thing that
 * differs between the streams (Twilio `media`/`mark`/`clear`, Plivo `playAudio`/`checkpoint`/
 * `clearAudio`, Vonage binary/`notify`/`clear`, Asterisk binary/`MARK_MEDIA`/`FLUSH_MEDIA`…).
 */
export interface StreamWire {
  /** One 20 ms frame in the stream's codec (a view, reused after this returns). */
  media(payload: Uint8Array): string | Uint8Array;
  /** The platform's mark for `id`, echoed when the audio before it has played; null: it has none. */
  mark(id: string): string | null;
  /** The platform's flush of what it holds; null: it has none (the lead is all it holds). */
  clear(): string | null;
  /** Sent before the socket closes when the gateway ends the call; null: closing says it. */
  hangup(reason: string): string | null;
  /** An outbound DTMF digit, where the platform can play one. */
  dtmf?(digit: string): string | null;
}

/**
 * A platform media stream as the call's edge (Twilio, Telnyx, Plivo, Vobiz, Exotel, Vonage,
 * Asterisk chan_websocket, FreeSWITCH): the platform queues what it is sent and plays it at its
 * own pace ('buffered'). Marks go out under our own ids, and the agent's name is handed back
 * (`EdgeSink.played`) only when the platform confirms; after a clear the old ids are forgotten, so
 * the echoes a platform sends for what it dropped (Twilio, Telnyx) confirm nothing. A platform
 * with no marks (FreeSWITCH) is confirmed by the clock: when everything sent before has played.
 *
 * Every 200 ms of audio a progress mark of our own goes out too: its echo says how far the
 * platform has played, which bounds barge-in's `playedMs` when a platform stalls (`playedMs`).
 */
export class StreamEdge implements Edge {
  readonly kind: string;
  readonly playback = 'buffered';
  readonly leadMs = STREAM_LEAD_MS;
  readonly framing: StreamFraming;
  readonly #sock: EdgeSocket;
  readonly #wire: StreamWire;
  #sink: EdgeSink | null = null;
  #open = true;
  #remoteEnded = false;
  /** our mark id → the agent's mark name (null: a progress mark) and the ms sent before it */
  readonly #marks = new Map<string, { name: string | null; atMs: number }>();
  #markSeq = 0;
  /** ms of audio sent since the last clear; where the next progress mark goes */
  #sentMs = 0;
  #nextProgress = PROGRESS_MS;
  /** the platform can confirm (it has marks); the furthest point it confirmed, and when */
  #confirms = true;
  #confirmedMs = 0;
  #confirmedAt = performance.now();
  /** when the audio sent so far will have played (for marks confirmed by the clock) */
  #playsUntil = 0;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(kind: string, sock: EdgeSocket, wire: StreamWire, framing: StreamFraming) {
    this.kind = kind;
    this.#sock = sock;
    this.#wire = wire;
    this.framing = framing;
  }

  attach(sink: EdgeSink): void {
    this.#sink = sink;
    this.framing.attach(sink);
  }

  get sink(): EdgeSink | null {
    return this.#sink;
  }

  // --- from the platform -----------------------------------------------------------------------

  /** The platform confirmed our mark `id` (an echo of one a clear dropped is ignored). */
  echo(id: string): void {
    const m = this.#marks.get(id);
    if (m === undefined) return;
    this.#marks.delete(id);
    if (m.atMs >= this.#confirmedMs) {
      this.#confirmedMs = m.atMs;
      this.#confirmedAt = performance.now();
    }
    if (m.name !== null) this.#sink?.played(m.name);
  }

  /** The platform ended the stream (stop event, hang-up). */
  stop(): void {
    this.#remoteEnded = true;
    this.#sink?.ended('edge_stop');
  }

  /** The socket closed from the platform's side. */
  socketClosed(): void {
    this.#open = false;
    this.#remoteEnded = true;
    this.#sink?.ended('edge_closed');
  }

  // --- Edge ----------------------------------------------------------------------------------

  send(frame: OutboundFrame): boolean {
    if (!this.#open) return false;
    if (this.#sock.bufferedAmount() > SEND_LIMIT) {
      this.#sink?.drop('EDGE_BACKPRESSURE');
      return false;
    }
    if (frame.kind === 'tone') {
      // One command per digit where the platform has one; tones are not sent as audio.
      const digit = frame.first ? dtmfDigit(frame.event) : null;
      const msg = digit === null ? null : (this.#wire.dtmf?.(digit) ?? null);
      if (msg !== null) this.#sock.sendText(msg);
      return msg !== null;
    }
    const now = performance.now();
    this.#playsUntil = Math.max(this.#playsUntil, now) + 20 * frame.slots;
    const msg = this.#wire.media(frame.payload);
    let sent = true;
    if (typeof msg === 'string') this.#sock.sendText(msg);
    else sent = this.#sock.sendBinary(msg);
    this.#sentMs += 20;
    if (this.#confirms && this.#sentMs >= this.#nextProgress) {
      this.#nextProgress = this.#sentMs + PROGRESS_MS;
      this.#sendMark(null);
    }
    return sent;
  }

  mark(name: string): void {
    if (this.#open) this.#sendMark(name);
  }

  /**
   * The most of the audio sent since the last clear the platform can have played: up to its
   * latest confirmation plus the time since, never past a mark it has not confirmed yet.
   */
  playedMs(nowMs: number): number {
    if (!this.#confirms) return Infinity;
    let bound = Math.min(this.#sentMs, this.#confirmedMs + Math.max(0, nowMs - this.#confirmedAt));
    for (const m of this.#marks.values()) bound = Math.min(bound, m.atMs);
    return bound;
  }

  #sendMark(name: string | null): void {
    const id = `gw${++this.#markSeq}`;
    const msg = this.#wire.mark(id);
    if (msg === null) this.#confirms = false;
    if (msg === null && name === null) return;
    this.#marks.set(id, { name, atMs: this.#sentMs });
    if (msg !== null) return this.#sock.sendText(msg);
    const t = setTimeout(
      () => {
        this.#timers.delete(t);
        this.echo(id);
      },
      Math.max(0, this.#playsUntil - performance.now()),
    );
    this.#timers.add(t);
  }

  clear(): void {
    this.#marks.clear();
    this.#cancelTimers();
    this.#playsUntil = 0;
    this.#sentMs = 0;
    this.#nextProgress = PROGRESS_MS;
    this.#confirmedMs = 0;
    this.#confirmedAt = performance.now();
    const msg = this.#open ? this.#wire.clear() : null;
    if (msg !== null) this.#sock.sendText(msg);
  }

  close(reason: string): void {
    if (!this.#open) {
      this.#release();
      return;
    }
    this.#open = false;
    this.#release();
    const text = this.#remoteEnded ? null : this.#wire.hangup(reason);
    this.#sock.end(1000, reason.slice(0, 120), text ?? undefined);
  }

  #release(): void {
    this.#sink = null;
    this.framing.close();
    this.#marks.clear();
    this.#cancelTimers();
  }

  #cancelTimers(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
