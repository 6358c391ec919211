import { TokenBucket } from './rateLimit.js';

/** Messages one socket may have handled in one event-loop turn: a few dozen cost well under 1 ms. */
export const MESSAGES_PER_TURN = 32;
/** Bytes one socket may have handled in one turn (a larger message still goes, alone). */
const BYTES_PER_TURN = 256 * 1024;

export interface InboxOptions<M> {
  /** messages/s the socket may send, and at once; beyond, they are dropped unread (`flooded`) */
  rate: number;
  burst: number;
  /** messages over the budget (in all) at which the socket is cut off; default `burst` */
  cutoffAfter?: number;
  /** bytes that may wait (beyond, messages are dropped as a flood); default 8 MiB */
  maxQueuedBytes?: number;
  /** One message, in order; `flag` is the caller's (WebSocket: binary). */
  handle(msg: M, flag: boolean, arrivalMs: number): void;
  /** A copy of `msg` that outlives the socket's callback (uWS lends its buffers only for the call). */
  keep(msg: M): M;
  size(msg: M): number;
  /** `n` messages dropped since the last report (told once per turn, not per message) */
  flooded(n: number): void;
  /** The socket went `cutoffAfter` messages over: close it. What waits is dropped. */
  cutoff(): void;
  /** TCP: stop reading while messages wait (the kernel holds the rest), and start again. */
  pause?(): void;
  resume?(): void;
}

/**
 * The event-loop turn, as a number: one setImmediate per turn shared by every socket (armed by the
 * first message of a turn), not one per message, so RTP carried over WebSocket costs no timer.
 */
let turn = 0;
let turnArmed = false;
function currentTurn(): number {
  if (!turnArmed) {
    turnArmed = true;
    setImmediate(() => {
      turn++;
      turnArmed = false;
    });
  }
  return turn;
}

interface Waiting<M> {
  msg: M;
  flag: boolean;
  arrivalMs: number;
}

/**
 * What one connection's messages may cost the event loop that every call's 20 ms clock shares.
 *
 * - A budget (token bucket): beyond `rate` and `burst`, messages are dropped before they are
 *   read, counted in batches; a socket `cutoffAfter` messages over is cut off.
 * - A bound per event-loop turn: at most MESSAGES_PER_TURN messages (and 256 KiB) of one socket
 *   are handled per turn. uWS and `ws` hand over everything one read brought (hundreds of small
 *   messages) at once; the rest wait here, in order, and are handled a batch per turn from
 *   setImmediate, so timers (the playout clock) run between batches and a flood from one socket
 *   delays the other calls by a batch or two at most (one as a read arrives, one from the queue
 *   in the same loop iteration's check phase).
 * - Ordering: a socket's close is handled after what it sent before (`end`).
 */
export class SocketInbox<M> {
  readonly #o: InboxOptions<M>;
  readonly #budget: TokenBucket;
  readonly #cutoffAfter: number;
  readonly #maxQueuedBytes: number;
  readonly #queue: Waiting<M>[] = [];
  #head = 0;
  #queuedBytes = 0;
  /** handled in turn `#turn` (reset when a message arrives in a later turn, and by each drain) */
  #turn = -1;
  #turnCount = 0;
  #turnBytes = 0;
  #immediate: NodeJS.Immediate | null = null;
  #floodPending = 0;
  #over = 0;
  #paused = false;
  #closed = false;
  readonly #after: (() => void)[] = [];

  constructor(o: InboxOptions<M>) {
    this.#o = o;
    this.#budget = new TokenBucket(o.rate, o.burst);
    this.#cutoffAfter = o.cutoffAfter ?? o.burst;
    this.#maxQueuedBytes = o.maxQueuedBytes ?? 8 * 1024 * 1024;
  }

  /** Messages over the budget so far (dropped, and counted through `flooded`). */
  get overBudget(): number {
    return this.#over;
  }

  /** A message counted against the budget. `msg` may be borrowed. */
  push(msg: M, flag: boolean, arrivalMs: number): void {
    if (this.#closed) return;
    if (!this.#budget.take(arrivalMs)) return this.over();
    this.#accept(msg, flag, arrivalMs);
  }

  /** A message the owner admitted by its own limit (RTP: per call): only the per-turn bound applies. */
  pass(msg: M, flag: boolean, arrivalMs: number): void {
    if (!this.#closed) this.#accept(msg, flag, arrivalMs);
  }

  /** One message over a budget (this one, or the owner's own): dropped, counted, and the socket cut off when far over. */
  over(): void {
    if (this.#closed) return;
    this.#floodPending++;
    if (++this.#over >= this.#cutoffAfter) {
      this.#flushFlood();
      this.close();
      this.#o.cutoff();
      return;
    }
    this.#arm();
  }

  /** Runs `fn` once what waits has been handled (at once if nothing does): a socket's close, in order. */
  end(fn: () => void): void {
    if (this.#closed || this.#waiting === 0) return fn();
    this.#after.push(fn);
  }

  /** Drops what waits; nothing more is handled. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.length = this.#head = this.#queuedBytes = 0;
    this.#after.length = 0;
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.#flushFlood();
  }

  get #waiting(): number {
    return this.#queue.length - this.#head;
  }

  #accept(msg: M, flag: boolean, arrivalMs: number): void {
    const size = this.#o.size(msg);
    const now = currentTurn();
    if (now !== this.#turn) {
      this.#turn = now;
      this.#turnCount = this.#turnBytes = 0;
    }
    if (this.#waiting === 0 && this.#turnCount < MESSAGES_PER_TURN && this.#turnBytes < BYTES_PER_TURN) {
      this.#turnCount++;
      this.#turnBytes += size;
      this.#o.handle(msg, flag, arrivalMs);
      return;
    }
    if (this.#queuedBytes + size > this.#maxQueuedBytes) return this.over();
    this.#queue.push({ msg: this.#o.keep(msg), flag, arrivalMs });
    this.#queuedBytes += size;
    if (!this.#paused && this.#o.pause !== undefined) {
      this.#paused = true;
      this.#o.pause();
    }
    this.#arm();
  }

  #arm(): void {
    this.#immediate ??= setImmediate(this.#drain);
  }

  readonly #drain = (): void => {
    this.#immediate = null;
    this.#turn = currentTurn();
    this.#turnCount = this.#turnBytes = 0;
    this.#flushFlood();
    while (!this.#closed && this.#waiting > 0 && this.#turnCount < MESSAGES_PER_TURN && this.#turnBytes < BYTES_PER_TURN) {
      const w = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as never; // let the message go once handled
      const size = this.#o.size(w.msg);
      this.#queuedBytes -= size;
      this.#turnCount++;
      this.#turnBytes += size;
      this.#o.handle(w.msg, w.flag, w.arrivalMs);
    }
    if (this.#closed) return;
    if (this.#waiting > 0) {
      if (this.#head > 1024) {
        this.#queue.splice(0, this.#head);
        this.#head = 0;
      }
      this.#arm();
      return;
    }
    this.#queue.length = this.#head = 0;
    if (this.#paused) {
      this.#paused = false;
      this.#o.resume?.();
    }
    for (const fn of this.#after.splice(0)) fn();
  };

  #flushFlood(): void {
    if (this.#floodPending === 0) return;
    const n = this.#floodPending;
    this.#floodPending = 0;
    this.#o.flooded(n);
  }
}

/** Options for an inbox of WebSocket messages (Uint8Array, copied when they must wait). */
export function bytesInbox(o: Omit<InboxOptions<Uint8Array>, 'keep' | 'size'>): SocketInbox<Uint8Array> {
  return new SocketInbox<Uint8Array>({ ...o, keep: (m) => m.slice(), size: (m) => m.byteLength });
}
