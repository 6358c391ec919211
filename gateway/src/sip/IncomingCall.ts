import { Dialog } from './dialog.js';
import type { DialogCore } from './dialog.js';
import { authHeaderNames } from './digest.js';
import type { DigestServer, DigestVerdict } from './digest.js';
import { SipError } from './errors.js';
import { callIdOf, cseqOf, parseNameAddr, tagOf } from './message.js';
import type { NameAddr, SipRequest } from './message.js';
import { rand } from './tokens.js';
import type { ServerTransaction } from './transaction.js';
import type { Remote } from './transport.js';

/**
 * The UAS side of the user agent: an inbound INVITE handed to the application, which rings,
 * challenges, rejects or answers it (RFC 3261 §13.3).
 */

/** What IncomingCall needs from the user agent. */
export interface CallCore extends DialogCore {
  readonly digest: DigestServer | undefined;
  register(dialog: Dialog): void;
}

export interface AnswerOptions {
  /** Extra headers on the 200. */
  headers?: Record<string, string>;
  /**
   * Called with the dialog as the 200 goes out, to set its handlers (onBye, onEnd, onReoffer,
   * onRefer…) there and then, not after an await. The dialog exists from the 200 on (RFC 3261
   * §12.1.1), so the caller's BYE, re-INVITE or REFER can be handled before answer() resolves: ahead
   * of a lost ACK over UDP, or in the same TCP read as the ACK. Handlers set only after answer()
   * resolves would miss them. If it throws, the call is ended (BYE) and answer() rejects with it.
   */
  onDialog?: (dialog: Dialog) => void;
}

/** An inbound INVITE waiting for the application's decision. */
export class IncomingCall {
  readonly request: SipRequest;
  readonly remote: Remote;
  readonly callId: string;
  readonly from: NameAddr;
  readonly to: NameAddr;
  /** The SDP offer ('' for an offerless INVITE). */
  readonly offer: string;
  /** The caller cancelled before an answer (already answered 200 + 487). */
  onCancel: (() => void) | undefined;
  readonly #tx: ServerTransaction;
  readonly #core: CallCore;
  /** The caller's Contact URI, checked by the user agent (400 otherwise): nothing may throw once the 200 is out. */
  readonly #remoteTarget: string;
  readonly #toTag = rand();
  #state: 'pending' | 'answered' | 'rejected' | 'cancelled' = 'pending';

  /** @private The user agent creates these. */
  constructor(core: CallCore, tx: ServerTransaction, remoteTarget: string) {
    this.#core = core;
    this.#tx = tx;
    this.#remoteTarget = remoteTarget;
    this.request = tx.request;
    this.remote = tx.remote;
    this.callId = callIdOf(tx.request);
    this.from = parseNameAddr(tx.request.headers.get('from') ?? '');
    this.to = parseNameAddr(tx.request.headers.get('to') ?? '');
    this.offer = tx.request.body.toString('utf8');
  }

  get state(): 'pending' | 'answered' | 'rejected' | 'cancelled' {
    return this.#state;
  }

  /** Checks the request's credentials (Authorization, or Proxy-Authorization when `proxy`). */
  authenticate(passwordOf: (username: string, realm: string) => string | undefined, proxy = false): DigestVerdict {
    if (this.#core.digest === undefined) throw new SipError('SIP_INVALID_STATE', 'no digest options');
    const header = this.request.headers.get(proxy ? 'proxy-authorization' : 'authorization');
    return this.#core.digest.verify(header, 'INVITE', passwordOf);
  }

  /** 401 with WWW-Authenticate (407 with Proxy-Authenticate when `proxy`), RFC 3261 §22.1. */
  challenge(opts: { proxy?: boolean; stale?: boolean } = {}): void {
    if (this.#core.digest === undefined) throw new SipError('SIP_INVALID_STATE', 'no digest options');
    const status = opts.proxy === true ? 407 : 401;
    this.reject(status, undefined, { [authHeaderNames(status).challenge]: this.#core.digest.challenge(opts.stale ?? false) });
  }

  ringing(): void {
    if (this.#state === 'pending')
      this.#tx.reply(180, { toTag: this.#toTag, headers: { contact: this.#core.contact(this.remote.protocol) } });
  }

  /** A final non-2xx (403, 404, 486, 488, 503 with `{'retry-after': '5'}`…). No-op once decided. */
  reject(status: number, reason?: string, headers: Record<string, string | string[]> = {}): void {
    if (this.#state !== 'pending' || status < 300) return;
    this.#state = 'rejected';
    this.#tx.reply(status, { toTag: this.#toTag, headers, ...(reason === undefined ? {} : { reason }) });
  }

  /**
   * 200 with our SDP answer, sent again until the ACK (RFC 3261 §13.3.1.4). Resolves with the
   * dialog on ACK (already ended if the caller's BYE came first); rejects SIP_TIMEOUT after 64·T1
   * without one (a BYE is sent unless the dialog has ended, §13.3.1.4), SIP_CANCELLED if the caller
   * cancelled first. Set the dialog's handlers in `opts.onDialog`, not after this resolves.
   */
  async answer(sdp: string, opts: AnswerOptions = {}): Promise<Dialog> {
    if (this.#state !== 'pending') {
      throw new SipError(this.#state === 'cancelled' ? 'SIP_CANCELLED' : 'SIP_INVALID_STATE', `call is ${this.#state}`);
    }
    const req = this.request;
    this.#state = 'answered';
    const res = this.#tx.reply(200, {
      toTag: this.#toTag,
      headers: { ...opts.headers, contact: this.#core.contact(this.remote.protocol), 'content-type': 'application/sdp' },
      body: Buffer.from(sdp, 'utf8'),
    });
    if (res === null) throw new SipError('SIP_INVALID_STATE', 'transaction already answered');
    const acked = this.#core.sendUntilAck(res, this.#tx);
    // The dialog is in the table before any request after the 200 can be read (same tick).
    const dialog = new Dialog(this.#core, {
      role: 'uas',
      callId: this.callId,
      localTag: this.#toTag,
      remoteTag: tagOf(req, 'from') ?? '',
      localHeader: `${req.headers.get('to') ?? ''};tag=${this.#toTag}`,
      remoteHeader: req.headers.get('from') ?? '',
      remoteTarget: this.#remoteTarget,
      routeSet: [...req.headers.getAll('record-route')],
      protocol: this.remote.protocol,
      localCSeq: 0,
      remoteCSeq: cseqOf(req).seq,
      localSdp: sdp,
      remoteSdp: this.offer,
      acked,
    });
    this.#core.register(dialog);
    try {
      opts.onDialog?.(dialog);
    } catch (err) {
      // The caller has our 200: end the call it thinks it has (the BYE waits for the ACK, §15).
      void dialog.bye().catch(() => undefined);
      throw err;
    }
    const outcome = await acked;
    if (outcome === 'acked') return dialog;
    if (outcome === 'closed') throw new SipError('SIP_CLOSED', 'user agent closed before the ACK');
    // The BYE's own transaction may take 64·T1 more: the caller need not wait for it.
    if (dialog.state === 'confirmed') void dialog.bye().catch(() => undefined);
    throw new SipError('SIP_TIMEOUT', 'no ACK for the 200 within 64·T1');
  }

  /** @private CANCEL received (RFC 3261 §9.2). */
  cancelled(): boolean {
    if (this.#state !== 'pending') return false;
    this.#state = 'cancelled';
    this.#tx.reply(487, { toTag: this.#toTag });
    this.onCancel?.();
    return true;
  }
}
