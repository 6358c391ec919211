import { createResponse } from './message.js';
import type { SipRequest, SipResponse } from './message.js';
import { Timers } from './timers.js';
import type { TransactionLayer } from './transaction.js';
import type { Remote } from './transport.js';

type ServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** RFC 3261 §17.2.1 (INVITE, with RFC 6026's Accepted state) and §17.2.2 (non-INVITE). */
export class ServerTransaction {
  readonly request: SipRequest;
  readonly remote: Remote;
  readonly #layer: TransactionLayer;
  readonly #timers = new Timers();
  readonly #key: string;
  #state: ServerState = 'proceeding';
  #last: SipResponse | undefined;

  /** @private The layer creates these. */
  constructor(layer: TransactionLayer, key: string, request: SipRequest, remote: Remote) {
    this.#layer = layer;
    this.#key = key;
    this.request = request;
    this.remote = remote;
  }

  get state(): ServerState {
    return this.#state;
  }

  /** True once a final response went out. */
  get answered(): boolean {
    return this.#state !== 'proceeding';
  }

  get #reliable(): boolean {
    return this.remote.protocol !== 'udp';
  }

  /** A response to this request, with the given To tag; see `respond`. */
  reply(
    status: number,
    opts: { reason?: string; toTag?: string; headers?: Record<string, string | string[]>; body?: Buffer } = {},
  ): SipResponse | null {
    const res = createResponse(this.request, status, opts.reason, opts.toTag);
    for (const [k, v] of Object.entries(opts.headers ?? {})) res.headers.set(k, v);
    if (opts.body !== undefined) res.body = opts.body;
    return this.respond(res) ? res : null;
  }

  /** Sends `res` if the state allows it (nothing after the final response); false otherwise. */
  respond(res: SipResponse): boolean {
    if (this.#state !== 'proceeding') return false;
    this.#last = res;
    this.#layer.transport.respond(res, this.remote);
    if (res.status < 200) return true;
    const { t1, t2 } = this.#layer.timers;
    if (this.request.method !== 'INVITE') {
      // Timer J: absorb request retransmissions for 64·T1 on UDP (§17.2.2).
      this.#state = 'completed';
      this.#timers.after(this.#reliable ? 0 : 64 * t1, () => this.#terminate());
    } else if (res.status < 300) {
      // RFC 6026 §7.1 Timer L: absorb INVITE retransmissions while the UAS core resends the 2xx.
      this.#state = 'accepted';
      this.#timers.after(64 * t1, () => this.#terminate());
    } else {
      this.#state = 'completed';
      if (!this.#reliable) {
        // Timer G: resend the final response, T1 doubling, capped at T2, until the ACK.
        const resend = (interval: number): void => {
          this.#timers.after(interval, () => {
            this.#layer.transport.respond(res, this.remote);
            resend(Math.min(2 * interval, t2));
          });
        };
        resend(t1);
      }
      // Timer H: give up waiting for the ACK after 64·T1.
      this.#timers.after(64 * t1, () => this.#terminate());
    }
    return true;
  }

  /** @private A retransmitted request or the ACK for our non-2xx final. */
  receive(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this.#state !== 'completed') return;
      this.#state = 'confirmed';
      this.#timers.clear();
      // Timer I: absorb ACK retransmissions for T4 on UDP.
      this.#timers.after(this.#reliable ? 0 : this.#layer.timers.t4, () => this.#terminate());
      return;
    }
    if ((this.#state === 'proceeding' || this.#state === 'completed') && this.#last !== undefined) {
      this.#layer.transport.respond(this.#last, this.remote);
    }
  }

  #terminate(): void {
    this.#state = 'terminated';
    this.#timers.clear();
    this.#layer.forget(this.#key, this);
  }

  /** @private Layer close. */
  destroy(): void {
    this.#state = 'terminated';
    this.#timers.clear();
  }
}
