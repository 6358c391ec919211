import { ClientTransaction } from './clientTransaction.js';
import type { ClientCallbacks } from './clientTransaction.js';
import { cseqOf, topVia } from './message.js';
import type { SipMessage, SipRequest, SipResponse } from './message.js';
import { ServerTransaction } from './serverTransaction.js';
import { DEFAULT_TIMERS } from './timers.js';
import type { TimerConfig } from './timers.js';
import type { Remote } from './transport.js';

/**
 * The transaction layer (RFC 3261 §17): matches messages to server and client transactions and
 * owns them. The transactions themselves and their timers live in their own modules, re-exported
 * here.
 */

export { ClientTransaction } from './clientTransaction.js';
export type { ClientCallbacks } from './clientTransaction.js';
export { ServerTransaction } from './serverTransaction.js';
export { DEFAULT_TIMERS, Timers } from './timers.js';
export type { TimerConfig } from './timers.js';

/** What the transaction layer needs from the transport. */
export interface TransactionTransport {
  send(msg: SipMessage, dest: Remote): void;
  respond(res: SipResponse, requestRemote: Remote): void;
}

/** The transaction user (the UA core). */
export interface TransactionUser {
  /** A new request (not a retransmission), with the server transaction that must answer it. */
  onRequest(req: SipRequest, tx: ServerTransaction): void;
  /** An ACK matching no transaction: the ACK for a 2xx (RFC 3261 §17.2.3). */
  onAck(ack: SipRequest, remote: Remote): void;
  /** A response matching no client transaction: a retransmitted 2xx to INVITE needs a new ACK. */
  onStrayResponse(res: SipResponse): void;
}

function serverKey(msg: SipMessage, method: string): string {
  const via = topVia(msg);
  const branch = via.params.get('branch') ?? `${msg.headers.get('call-id') ?? ''}:${cseqOf(msg).seq}`;
  // ACK matches the INVITE's transaction (RFC 3261 §17.2.3); CANCEL has its own.
  return `${branch}\n${via.host}:${via.port ?? ''}\n${method === 'ACK' ? 'INVITE' : method}`;
}

function clientKey(msg: SipMessage): string {
  // RFC 3261 §17.1.3: branch of the top Via and the CSeq method.
  return `${topVia(msg).params.get('branch') ?? ''}\n${cseqOf(msg).method}`;
}

/** Matches messages to transactions and owns every transaction (and so every timer). */
export class TransactionLayer {
  readonly transport: TransactionTransport;
  readonly timers: TimerConfig;
  readonly #tu: TransactionUser;
  readonly #server = new Map<string, ServerTransaction>();
  readonly #client = new Map<string, ClientTransaction>();
  #closed = false;

  constructor(transport: TransactionTransport, tu: TransactionUser, timers: Partial<TimerConfig> = {}) {
    this.transport = transport;
    this.#tu = tu;
    this.timers = { ...DEFAULT_TIMERS, ...timers };
  }

  /** Live transactions (tests, metrics). */
  get size(): number {
    return this.#server.size + this.#client.size;
  }

  receive(msg: SipMessage, remote: Remote): void {
    if (this.#closed) return;
    if (msg.type === 'response') {
      const tx = this.#client.get(clientKey(msg));
      if (tx !== undefined) tx.receive(msg);
      else this.#tu.onStrayResponse(msg);
      return;
    }
    const key = serverKey(msg, msg.method);
    const tx = this.#server.get(key);
    if (tx !== undefined) return tx.receive(msg);
    if (msg.method === 'ACK') return this.#tu.onAck(msg, remote);
    const created = new ServerTransaction(this, key, msg, remote);
    this.#server.set(key, created);
    // RFC 3261 §17.2.1: 100 Trying at once, so the UAC stops retransmitting (Timer A) early.
    if (msg.method === 'INVITE') created.reply(100);
    this.#tu.onRequest(msg, created);
  }

  /** The INVITE server transaction a CANCEL targets (same branch and sent-by, §9.2). */
  inviteFor(cancel: SipRequest): ServerTransaction | undefined {
    return this.#server.get(serverKey(cancel, 'INVITE'));
  }

  /** Starts a client transaction; `req` must carry its top Via with a fresh branch. */
  request(req: SipRequest, dest: Remote, cb: ClientCallbacks): ClientTransaction {
    const key = clientKey(req);
    const tx = new ClientTransaction(this, key, req, dest, cb);
    if (this.#closed) return tx;
    this.#client.set(key, tx);
    tx.start();
    return tx;
  }

  /** @private A transaction leaving the terminated state. */
  forget(key: string, tx: ServerTransaction | ClientTransaction): void {
    if (tx instanceof ServerTransaction) {
      if (this.#server.get(key) === tx) this.#server.delete(key);
    } else if (this.#client.get(key) === tx) this.#client.delete(key);
  }

  close(): void {
    this.#closed = true;
    for (const tx of this.#server.values()) tx.destroy();
    for (const tx of this.#client.values()) tx.destroy();
    this.#server.clear();
    this.#client.clear();
  }
}
