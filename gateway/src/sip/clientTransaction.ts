import { cseqOf } from './message.js';
import type { SipRequest, SipResponse } from './message.js';
import { Timers } from './timers.js';
import type { TransactionLayer } from './transaction.js';
import type { Remote } from './transport.js';

export interface ClientCallbacks {
  /** Each new response: provisional ones, then the final one. */
  onResponse(res: SipResponse): void;
  /** No final response within 64·T1 (Timer B or F). */
  onTimeout(): void;
}

type ClientState = 'calling' | 'proceeding' | 'completed' | 'terminated';

/** RFC 3261 §17.1.1 (INVITE) and §17.1.2 (non-INVITE). */
export class ClientTransaction {
  readonly request: SipRequest;
  readonly dest: Remote;
  readonly #layer: TransactionLayer;
  readonly #cb: ClientCallbacks;
  readonly #timers = new Timers();
  readonly #key: string;
  #state: ClientState = 'calling';
  #ack: SipRequest | undefined;

  /** @private The layer creates these. */
  constructor(layer: TransactionLayer, key: string, request: SipRequest, dest: Remote, cb: ClientCallbacks) {
    this.#layer = layer;
    this.#key = key;
    this.request = request;
    this.dest = dest;
    this.#cb = cb;
  }

  get state(): ClientState {
    return this.#state;
  }

  /** @private */
  start(): void {
    const { t1, t2 } = this.#layer.timers;
    const invite = this.request.method === 'INVITE';
    this.#layer.transport.send(this.request, this.dest);
    if (this.dest.protocol === 'udp') {
      // Timer A (INVITE: doubling) / Timer E (non-INVITE: doubling, capped at T2).
      const resend = (interval: number): void => {
        this.#timers.after(interval, () => {
          if (this.#state !== 'calling' && (invite || this.#state !== 'proceeding')) return;
          this.#layer.transport.send(this.request, this.dest);
          resend(invite ? 2 * interval : this.#state === 'proceeding' ? t2 : Math.min(2 * interval, t2));
        });
      };
      resend(t1);
    }
    // Timer B / F.
    this.#timers.after(64 * t1, () => {
      this.#terminate();
      this.#cb.onTimeout();
    });
  }

  /** @private */
  receive(res: SipResponse): void {
    const invite = this.request.method === 'INVITE';
    if (this.#state === 'completed') {
      // A retransmitted final: resend our ACK (INVITE), absorb otherwise.
      if (this.#ack !== undefined) this.#layer.transport.send(this.#ack, this.dest);
      return;
    }
    if (this.#state === 'terminated') return;
    if (res.status < 200) {
      if (this.#state === 'calling') this.#state = 'proceeding';
      this.#cb.onResponse(res);
      return;
    }
    const { t1, t4 } = this.#layer.timers;
    const reliable = this.dest.protocol !== 'udp';
    if (invite && res.status < 300) {
      // The 2xx ends the transaction; its ACK is the UA core's job (§13.2.2.4).
      this.#terminate();
    } else {
      this.#state = 'completed';
      this.#timers.clear();
      if (invite) {
        this.#ack = ackFor(this.request, res);
        this.#layer.transport.send(this.#ack, this.dest);
      }
      // Timer D (INVITE, ≥ 32 s on UDP) / Timer K (non-INVITE, T4 on UDP).
      this.#timers.after(reliable ? 0 : invite ? 64 * t1 : t4, () => this.#terminate());
    }
    this.#cb.onResponse(res);
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

/** ACK for a non-2xx final (RFC 3261 §17.1.1.3): same branch, To from the response. */
function ackFor(invite: SipRequest, res: SipResponse): SipRequest {
  const ack: SipRequest = { type: 'request', method: 'ACK', uri: invite.uri, headers: invite.headers.clone(), body: Buffer.alloc(0) };
  const h = ack.headers;
  h.set('via', invite.headers.getAll('via').slice(0, 1));
  h.set('to', res.headers.get('to') ?? '');
  h.set('cseq', `${cseqOf(invite).seq} ACK`);
  for (const name of ['content-type', 'contact', 'authorization', 'proxy-authorization', 'allow', 'supported']) h.delete(name);
  return ack;
}
