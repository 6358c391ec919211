import { Dialog } from './dialog.js';
import type { AckOutcome } from './dialog.js';
import { DigestServer } from './digest.js';
import type { DigestServerOptions } from './digest.js';
import { SipError } from './errors.js';
import type { SipErrorCode } from './errors.js';
import { IncomingCall } from './IncomingCall.js';
import type { CallCore } from './IncomingCall.js';
import { callIdOf, cseqOf, firstHopOf, sendableUri, tagOf } from './message.js';
import type { SipRequest, SipResponse } from './message.js';
import { ALLOWED, KNOWN } from './methods.js';
import { OutgoingCalls } from './OutgoingCalls.js';
import type { InviteOptions, OutgoingCore } from './OutgoingCalls.js';
import { rand } from './tokens.js';
import { Timers, TransactionLayer } from './transaction.js';
import type { ServerTransaction, TimerConfig } from './transaction.js';
import { SipTransport } from './transport.js';
import type { ListenOptions, Remote, SipProtocol } from './transport.js';
import { parseUri, uriHost } from './uri.js';

export { IncomingCall } from './IncomingCall.js';
export type { InviteOptions } from './OutgoingCalls.js';

export interface UserAgentOptions {
  listen: readonly ListenOptions[];
  /** Host we advertise in Via and Contact (a public address behind NAT); default the first listen host. */
  publicHost?: string;
  /** User part of our Contact (default 'gw'). */
  contactUser?: string;
  /** Server / User-Agent header (default 'voice-gateway'). */
  userAgent?: string;
  timers?: Partial<TimerConfig>;
  /** Needed for IncomingCall.challenge() / authenticate(). */
  digest?: DigestServerOptions;
  /** A new INVITE outside any dialog. Without a handler calls get 480. */
  onInvite?: (call: IncomingCall) => void | Promise<void>;
  /** OPTIONS outside a dialog: the status to answer (default 200; 503 while draining or full). */
  onOptions?: (req: SipRequest, remote: Remote) => number;
  /** Dropped input, by stable code (a metrics counter). */
  onDrop?: (reason: SipErrorCode, remote: Remote | undefined) => void;
  /** Verify certificates on outbound TLS (default true). */
  tlsVerify?: boolean;
}

/**
 * A thin RFC 3261 user agent: inbound calls (UAS), outbound calls (UAC), dialogs, OPTIONS. Owns
 * its transport, transaction layer, dialogs and every timer; `close()` releases them all.
 */
export class UserAgent {
  readonly #opts: UserAgentOptions;
  readonly #transport: SipTransport;
  readonly #layer: TransactionLayer;
  readonly #timers = new Timers();
  readonly #dialogs = new Map<string, Dialog>();
  readonly #calls = new Map<ServerTransaction, IncomingCall>();
  /** 2xx sent, waiting for the ACK: `Call-ID CSeq` → stop function. */
  readonly #awaitingAck = new Map<string, (outcome: AckOutcome) => void>();
  readonly #pending = new Set<(err: SipError) => void>();
  readonly #digest: DigestServer | undefined;
  readonly #core: CallCore & OutgoingCore;
  readonly #outgoing: OutgoingCalls;
  #closed = false;

  private constructor(opts: UserAgentOptions) {
    this.#opts = opts;
    this.#digest = opts.digest === undefined ? undefined : new DigestServer(opts.digest);
    this.#transport = new SipTransport({
      listen: opts.listen,
      onMessage: (msg, remote) => {
        this.#layer.receive(msg, remote);
      },
      ...(opts.onDrop === undefined ? {} : { onDrop: opts.onDrop }),
      ...(opts.tlsVerify === undefined ? {} : { tlsVerify: opts.tlsVerify }),
    });
    this.#layer = new TransactionLayer(
      this.#transport,
      {
        onRequest: (req, tx) => {
          // Whatever an application callback or a malformed header throws costs this request a 500, no more.
          this.#onRequest(req, tx).catch(() => tx.reply(500));
        },
        onAck: (ack) => {
          this.#awaitingAck.get(`${callIdOf(ack)} ${cseqOf(ack).seq}`)?.('acked');
        },
        onStrayResponse: (res) => {
          if (!this.#outgoing.resendAck(res)) this.#opts.onDrop?.('SIP_NO_TRANSACTION', undefined);
        },
      },
      opts.timers,
    );
    this.#core = {
      timers: this.#layer.timers,
      digest: this.#digest,
      via: (p) => this.#via(p),
      contact: (p) => this.#contact(p),
      sendRequest: (req, dest) => this.#request(req, dest),
      sendUntilAck: (res, tx) => this.#sendUntilAck(res, tx),
      forget: (d) => this.#dialogs.delete(d.key),
      register: (d) => this.#dialogs.set(d.key, d),
      host: () => this.#host(),
      request: (req, dest, onResponse) => this.#request(req, dest, onResponse),
      send: (req, dest) => this.#transport.send(req, dest),
      uaTimers: this.#timers,
    };
    this.#outgoing = new OutgoingCalls(this.#core);
  }

  /** Binds every listener; rejects if one cannot bind (nothing is left open then). */
  static async create(opts: UserAgentOptions): Promise<UserAgent> {
    const ua = new UserAgent(opts);
    try {
      await ua.#transport.start();
    } catch (err) {
      await ua.close();
      throw new SipError('SIP_TRANSPORT', `cannot listen: ${(err as Error).message}`);
    }
    return ua;
  }

  /** Bound listeners (real ports when 0 was asked). */
  get addresses(): { protocol: SipProtocol; host: string; port: number }[] {
    return this.#transport.addresses;
  }

  /** Live dialogs (tests, metrics). */
  get dialogCount(): number {
    return this.#dialogs.size;
  }

  #host(): string {
    const listen = this.#opts.listen[0]?.host ?? '127.0.0.1';
    return uriHost(this.#opts.publicHost ?? (listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen));
  }

  #via(protocol: SipProtocol): string {
    const port = this.#transport.portFor(protocol) ?? 5060;
    // rport asks the peer to answer to our real source port (RFC 3581 §3).
    return `SIP/2.0/${protocol.toUpperCase()} ${this.#host()}:${port};branch=z9hG4bK${rand()};rport`;
  }

  #contact(protocol: SipProtocol): string {
    const port = this.#transport.portFor(protocol) ?? 5060;
    return `<sip:${this.#opts.contactUser ?? 'gw'}@${this.#host()}:${port}${protocol === 'udp' ? '' : `;transport=${protocol}`}>`;
  }

  /** One client transaction → its final response; rejects SIP_TIMEOUT or SIP_CLOSED. */
  #request(req: SipRequest, dest: Remote, onResponse?: (res: SipResponse) => void): Promise<SipResponse> {
    if (this.#closed) return Promise.reject(new SipError('SIP_CLOSED', 'user agent closed'));
    req.headers.set('user-agent', this.#opts.userAgent ?? 'voice-gateway');
    return new Promise<SipResponse>((resolve, reject) => {
      const fail = (err: SipError): void => {
        this.#pending.delete(fail);
        reject(err);
      };
      this.#pending.add(fail);
      this.#layer.request(req, dest, {
        onResponse: (res) => {
          onResponse?.(res);
          if (res.status < 200) return;
          this.#pending.delete(fail);
          resolve(res);
        },
        onTimeout: () => fail(new SipError('SIP_TIMEOUT', `${req.method}: no final response within 64·T1`)),
      });
    });
  }

  /** RFC 3261 §13.3.1.4: resend the 2xx at T1, 2·T1 … capped at T2 until the ACK, at most 64·T1. */
  #sendUntilAck(res: SipResponse, tx: ServerTransaction): Promise<AckOutcome> {
    const key = `${callIdOf(res)} ${cseqOf(res).seq}`;
    const { t1, t2 } = this.#layer.timers;
    return new Promise<AckOutcome>((resolve) => {
      let cancelResend = (): void => undefined;
      const resend = (interval: number): void => {
        cancelResend = this.#timers.after(interval, () => {
          this.#transport.respond(res, tx.remote);
          resend(Math.min(2 * interval, t2));
        });
      };
      const stop = (outcome: AckOutcome): void => {
        cancelResend();
        cancelGiveUp();
        this.#awaitingAck.delete(key);
        resolve(outcome);
      };
      const cancelGiveUp = this.#timers.after(64 * t1, () => stop('timeout'));
      this.#awaitingAck.set(key, stop);
      resend(t1);
    });
  }

  async #onRequest(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const method = req.method;
    if (!KNOWN.has(method)) return void tx.reply(501);
    if (!ALLOWED.includes(method)) return void tx.reply(405, { headers: { allow: ALLOWED } });
    const require = req.headers.getAll('require');
    // RFC 3261 §8.2.2.3: we support no extensions.
    if (require.length > 0 && method !== 'CANCEL')
      return void tx.reply(420, { reason: 'Bad Extension', headers: { unsupported: [...require] } });
    if (method === 'CANCEL') {
      // Matched by the INVITE's branch (RFC 3261 §9.2), whatever its To says.
      const inviteTx = this.#layer.inviteFor(req);
      if (inviteTx === undefined) return void tx.reply(481);
      tx.reply(200);
      this.#calls.get(inviteTx)?.cancelled();
      return;
    }
    const toTag = tagOf(req, 'to');
    if (toTag !== undefined) {
      const dialog = this.#dialogs.get(Dialog.key(callIdOf(req), toTag, tagOf(req, 'from') ?? ''));
      if (dialog === undefined) return void tx.reply(481);
      return dialog.handle(req, tx);
    }
    switch (method) {
      case 'INVITE':
        return this.#onInvite(tx);
      case 'OPTIONS':
        return void tx.reply(this.#opts.onOptions?.(req, tx.remote) ?? 200, {
          headers: { allow: ALLOWED, accept: 'application/sdp', server: this.#opts.userAgent ?? 'voice-gateway' },
        });
      default:
        // BYE, INFO, UPDATE, NOTIFY, REFER outside a dialog.
        return void tx.reply(481);
    }
  }

  async #onInvite(tx: ServerTransaction): Promise<void> {
    const req = tx.request;
    const type = (req.headers.get('content-type') ?? 'application/sdp').toLowerCase();
    if (req.body.length > 0 && !type.startsWith('application/sdp')) return void tx.reply(415, { headers: { accept: 'application/sdp' } });
    try {
      parseUri(req.uri);
    } catch {
      return void tx.reply(416, { reason: 'Unsupported URI Scheme' });
    }
    // The dialog's remote target (RFC 3261 §8.1.1.8: an INVITE must name one; §12.1.1).
    const contact = req.headers.get('contact');
    if (contact === undefined) return void tx.reply(400, { reason: 'Missing Contact' });
    const remoteTarget = sendableUri(contact);
    if (remoteTarget === undefined) return void tx.reply(400, { reason: 'Bad Contact' });
    // The first Record-Route entry is where our in-dialog requests will go (RFC 3261 §12.1.1, §12.2.1.1).
    if (firstHopOf(req.headers.getAll('record-route'), remoteTarget) === undefined)
      return void tx.reply(400, { reason: 'Bad Record-Route' });
    const handler = this.#opts.onInvite;
    if (handler === undefined) return void tx.reply(480);
    const call = new IncomingCall(this.#core, tx, remoteTarget);
    this.#calls.set(tx, call);
    // The entry only serves CANCEL matching; the transaction outlives the decision by 64·T1 at most.
    this.#timers.after(64 * this.#layer.timers.t1 + 1000, () => this.#calls.delete(tx));
    try {
      await handler(call);
    } catch {
      call.reject(500);
    }
  }

  /**
   * Places a call: INVITE with `offerSdp`, one digest retry on 401/407, ACK on 2xx. Resolves with
   * the dialog (its `remoteSdp` is the answer: read it with sdp.parseAnswer). Rejects SipError:
   * SIP_REJECTED (status), SIP_TIMEOUT, SIP_CANCELLED (signal aborted), SIP_BAD_URI, SIP_CLOSED,
   * SIP_MALFORMED (a 2xx naming nowhere to send: ACKed and hung up).
   */
  async invite(target: string, offerSdp: string, opts: InviteOptions): Promise<Dialog> {
    if (this.#closed) throw new SipError('SIP_CLOSED', 'user agent closed');
    return this.#outgoing.invite(target, offerSdp, opts);
  }

  /** Stops every timer, transaction and socket; pending promises reject SIP_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#layer.close();
    this.#timers.clear();
    for (const stop of [...this.#awaitingAck.values()]) stop('closed');
    for (const fail of [...this.#pending]) fail(new SipError('SIP_CLOSED', 'user agent closed'));
    for (const d of [...this.#dialogs.values()]) d.end();
    this.#calls.clear();
    this.#outgoing.clear();
    await this.#transport.close();
  }
}
