import { parseDtmfRelay } from './dtmfRelay.js';
import { SipError } from './errors.js';
import { createRequest, cseqOf, firstHopOf, parseNameAddr, remoteTargetOf, SipHeaders } from './message.js';
import type { SipRequest, SipResponse } from './message.js';
import type { ServerTransaction, TimerConfig } from './transaction.js';
import type { Remote, SipProtocol } from './transport.js';
import { uriDestination } from './uri.js';

export { parseDtmfRelay } from './dtmfRelay.js';
export { uriDestination } from './uri.js';

export type AckOutcome = 'acked' | 'timeout' | 'closed';

/** What a dialog needs from its user agent. */
export interface DialogCore {
  readonly timers: TimerConfig;
  /** A top Via with a fresh branch, for a request sent over `protocol`. */
  via(protocol: SipProtocol): string;
  /** Our Contact header value for `protocol`. */
  contact(protocol: SipProtocol): string;
  /** Sends a request in a client transaction; resolves with the final response. */
  sendRequest(req: SipRequest, dest: Remote): Promise<SipResponse>;
  /** Sends a 2xx to INVITE until its ACK (RFC 3261 §13.3.1.4): 'timeout' when 64·T1 pass without one. */
  sendUntilAck(res: SipResponse, tx: ServerTransaction): Promise<AckOutcome>;
  /** The dialog ended: drop it from the dialog table. */
  forget(dialog: Dialog): void;
}

export interface DialogInit {
  role: 'uac' | 'uas';
  callId: string;
  localTag: string;
  remoteTag: string;
  /** Our From (UAC) / To (UAS) header value, with our tag. */
  localHeader: string;
  /** The peer's header value, with its tag. */
  remoteHeader: string;
  /** The peer's Contact URI (RFC 3261 §12.1). */
  remoteTarget: string;
  /** Route set as Route header values, in the order to send them. */
  routeSet: string[];
  protocol: SipProtocol;
  localCSeq: number;
  remoteCSeq: number;
  localSdp: string;
  remoteSdp: string;
  /** UAS: settles once our 2xx was ACKed or given up on; our BYE and REFER wait for it (RFC 3261 §15). */
  acked?: Promise<AckOutcome>;
}

/** A confirmed INVITE dialog (RFC 3261 §12) and its in-dialog requests, in both directions. */
export class Dialog {
  readonly role: 'uac' | 'uas';
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly #core: DialogCore;
  readonly #localHeader: string;
  readonly #remoteHeader: string;
  readonly #routeSet: string[];
  readonly #protocol: SipProtocol;
  #remoteTarget: string;
  #localCSeq: number;
  #remoteCSeq: number;
  #localSdp: string;
  #remoteSdp: string;
  #state: 'confirmed' | 'terminated' = 'confirmed';
  #refer: { resolve: (status: number) => void; reject: (err: SipError) => void } | undefined;
  readonly #acked: Promise<AckOutcome> | undefined;

  /** The peer hung up (BYE received, already answered 200). */
  onBye: (() => void) | undefined;
  /**
   * A re-INVITE or UPDATE with an offer (hold, resume, new address): return the answer SDP, or null
   * to refuse it (488). Without a handler the current local SDP is sent again.
   */
  onReoffer: ((offerSdp: string, req: SipRequest) => string | null | Promise<string | null>) | undefined;
  /** INFO application/dtmf-relay. */
  onDtmf: ((digit: string, durationMs: number) => void) | undefined;
  /** An inbound REFER (RFC 3515): resolve with the final status of the transfer, reported by NOTIFY. */
  onRefer: ((target: string, req: SipRequest) => Promise<number> | number) | undefined;
  /** The dialog ended for any reason (BYE either way, 2xx never ACKed, UA closed). */
  onEnd: (() => void) | undefined;

  /** @private The user agent creates dialogs. */
  constructor(core: DialogCore, init: DialogInit) {
    this.#core = core;
    this.role = init.role;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.#localHeader = init.localHeader;
    this.#remoteHeader = init.remoteHeader;
    this.#remoteTarget = init.remoteTarget;
    this.#routeSet = init.routeSet;
    this.#protocol = init.protocol;
    this.#localCSeq = init.localCSeq;
    this.#remoteCSeq = init.remoteCSeq;
    this.#localSdp = init.localSdp;
    this.#remoteSdp = init.remoteSdp;
    this.#acked = init.acked;
  }

  /** Dialog table key: Call-ID, local tag, remote tag (RFC 3261 §12). */
  static key(callId: string, localTag: string, remoteTag: string): string {
    return `${callId}\n${localTag}\n${remoteTag}`;
  }

  get key(): string {
    return Dialog.key(this.callId, this.localTag, this.remoteTag);
  }
  get state(): 'confirmed' | 'terminated' {
    return this.#state;
  }
  get localSdp(): string {
    return this.#localSdp;
  }
  /** The peer's latest SDP (the answer for a UAC, the last offer for a UAS). */
  get remoteSdp(): string {
    return this.#remoteSdp;
  }
  get remoteTarget(): string {
    return this.#remoteTarget;
  }

  /**
   * Ends the call (RFC 3261 §15.1.1): the dialog is over at once, whatever the peer answers. A UAS
   * sends the BYE once its 2xx was ACKed or given up on (§15): up to 64·T1 later.
   */
  async bye(): Promise<void> {
    if (this.#state === 'terminated') throw new SipError('SIP_INVALID_STATE', 'dialog already ended');
    const req = this.#request('BYE');
    this.end();
    await this.#acked;
    await this.#core.sendRequest(req, this.#destination()).catch(() => undefined);
  }

  /**
   * Asks the peer to call `target` (REFER, RFC 3515) and resolves with the final status the peer
   * reports in its NOTIFY sipfrag (e.g. 200: transferred). Rejects SIP_REJECTED if the REFER is
   * refused, SIP_INVALID_STATE if the dialog ends first.
   */
  async refer(target: string): Promise<number> {
    if (this.#state === 'terminated') throw new SipError('SIP_INVALID_STATE', 'dialog ended');
    if (this.#refer !== undefined) throw new SipError('SIP_INVALID_STATE', 'a REFER is pending');
    const req = this.#request('REFER');
    req.headers.set('refer-to', `<${target}>`).set('referred-by', `<${parseNameAddr(this.#localHeader).uri}>`);
    const done = new Promise<number>((resolve, reject) => (this.#refer = { resolve, reject }));
    // end() may reject it while the REFER's own failure is what this throws (the UA closing).
    done.catch(() => undefined);
    // Until the ACK a UAS cannot know the caller has its 2xx (RFC 3261 §15's reason): a REFER
    // could overtake a lost 200. A dialog ended meanwhile has rejected `done` (end()).
    await this.#acked;
    if (this.state === 'terminated') return done;
    const res = await this.#core.sendRequest(req, this.#destination()).catch((err: unknown) => err as SipError);
    if (res instanceof SipError || res.status >= 300) {
      this.#refer = undefined;
      throw res instanceof SipError ? res : new SipError('SIP_REJECTED', `REFER answered ${res.status}`, res.status);
    }
    return done;
  }

  /** @private Marks the dialog over without signalling (BYE sent or received, UA closed). */
  end(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#core.forget(this);
    this.#refer?.reject(new SipError('SIP_INVALID_STATE', 'dialog ended before the transfer finished'));
    this.#refer = undefined;
    this.onEnd?.();
  }

  #destination(): Remote {
    // checked before the dialog was made, and on each target refresh: there is one
    return uriDestination(firstHopOf(this.#routeSet, this.#remoteTarget)!, this.#protocol);
  }

  /** An in-dialog request (RFC 3261 §12.2.1.1), loose routing assumed (`;lr`, RFC 3261 §16.12). */
  #request(method: string, body?: { type: string; data: string }): SipRequest {
    const h = new SipHeaders();
    h.set('via', this.#core.via(this.#destination().protocol));
    h.set('max-forwards', '70');
    h.set('from', this.#localHeader);
    h.set('to', this.#remoteHeader);
    h.set('call-id', this.callId);
    h.set('cseq', `${++this.#localCSeq} ${method}`);
    if (this.#routeSet.length > 0) h.set('route', this.#routeSet);
    if (method !== 'BYE' && method !== 'NOTIFY') h.set('contact', this.#core.contact(this.#protocol));
    if (body !== undefined) h.set('content-type', body.type);
    return createRequest(method, this.#remoteTarget, h, Buffer.from(body?.data ?? '', 'utf8'));
  }

  /** @private An in-dialog request for this dialog, with its server transaction. */
  async handle(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const seq = cseqOf(req).seq;
    // RFC 3261 §12.2.2: a CSeq lower than the last one is out of order.
    if (seq < this.#remoteCSeq) {
      tx.reply(500, { reason: 'CSeq Out of Order' });
      return;
    }
    this.#remoteCSeq = seq;
    switch (req.method) {
      case 'BYE':
        tx.reply(200);
        this.onBye?.();
        this.end();
        return;
      case 'INVITE':
      case 'UPDATE':
        return this.#reoffer(req, tx);
      case 'INFO': {
        const type = (req.headers.get('content-type') ?? '').toLowerCase();
        const dtmf = type.startsWith('application/dtmf-relay') ? parseDtmfRelay(req.body.toString('utf8')) : null;
        tx.reply(200);
        if (dtmf !== null) this.onDtmf?.(dtmf.digit, dtmf.durationMs);
        return;
      }
      case 'NOTIFY':
        this.#notify(req, tx);
        return;
      case 'REFER':
        return this.#referred(req, tx);
      default:
        tx.reply(200);
    }
  }

  async #reoffer(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const target = remoteTargetOf(req, this.#remoteTarget); // a target refresh (RFC 3261 §12.2.2): the peer may have moved
    if (target === undefined) return void tx.reply(400, { reason: 'Bad Contact' });
    this.#remoteTarget = target;
    const offer = req.body.toString('utf8');
    let answer: string | null = this.#localSdp;
    if (offer !== '') {
      try {
        answer = this.onReoffer === undefined ? this.#localSdp : await this.onReoffer(offer, req);
      } catch {
        tx.reply(500);
        return;
      }
    }
    if (answer === null) {
      tx.reply(488);
      return;
    }
    if (offer !== '') this.#remoteSdp = offer;
    this.#localSdp = answer;
    const res = tx.reply(200, {
      toTag: this.localTag,
      headers: { contact: this.#core.contact(this.#protocol), 'content-type': 'application/sdp' },
      body: Buffer.from(answer, 'utf8'),
    });
    if (res !== null && req.method === 'INVITE') {
      const outcome = await this.#core.sendUntilAck(res, tx);
      if (outcome === 'timeout' && this.#state === 'confirmed') void this.bye().catch(() => undefined);
    }
  }

  #notify(req: SipRequest, tx: ServerTransaction): void {
    const refer = this.#refer;
    if (refer === undefined || !/^refer\b/i.test(req.headers.get('event') ?? '')) {
      tx.reply(481);
      return;
    }
    tx.reply(200);
    // RFC 3515 §2.4.5: the body is a message/sipfrag status line.
    const status = Number(/^SIP\/2\.0 (\d{3})/.exec(req.body.toString('utf8'))?.[1] ?? 0);
    const terminated = /^terminated/i.test(req.headers.get('subscription-state') ?? '');
    if (status >= 200 || terminated) {
      this.#refer = undefined;
      refer.resolve(status);
    }
  }

  async #referred(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const referTo = req.headers.get('refer-to');
    if (this.onRefer === undefined || referTo === undefined) {
      tx.reply(referTo === undefined ? 400 : 603);
      return;
    }
    tx.reply(202, { toTag: this.localTag });
    const notify = async (status: number, state: string): Promise<void> => {
      const n = this.#request('NOTIFY', {
        type: 'message/sipfrag;version=2.0',
        data: `SIP/2.0 ${status} ${status < 200 ? 'Trying' : status < 300 ? 'OK' : 'Failed'}\r\n`,
      });
      n.headers.set('event', 'refer').set('subscription-state', state);
      await this.#core.sendRequest(n, this.#destination()).catch(() => undefined);
    };
    // RFC 3515 §2.4.4: an immediate NOTIFY, then one with the outcome.
    await notify(100, 'active;expires=60');
    let status = 500;
    try {
      status = await this.onRefer(parseNameAddr(referTo).uri, req);
    } catch {
      // The transfer failed: report 500.
    }
    if (this.#state === 'confirmed') await notify(status, 'terminated;reason=noresource');
  }
}
