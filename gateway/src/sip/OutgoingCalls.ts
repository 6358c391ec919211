import { Dialog } from './dialog.js';
import type { DialogCore } from './dialog.js';
import { answerChallenge, authHeaderNames } from './digest.js';
import { SipError } from './errors.js';
import { callIdOf, createRequest, cseqOf, firstHopOf, remoteTargetOf, SipHeaders, tagOf } from './message.js';
import type { SipRequest, SipResponse } from './message.js';
import { ALLOWED } from './methods.js';
import type { Timers } from './timers.js';
import { rand } from './tokens.js';
import type { Remote } from './transport.js';
import { uriDestination } from './uri.js';

export interface InviteOptions {
  /** Our identity, a sip: URI (the From header). */
  from: string;
  displayName?: string;
  /** Credentials for one 401/407 retry (RFC 3261 §22.2). */
  auth?: { username: string; password: string };
  /** Extra headers (e.g. X-…) on the INVITE. */
  headers?: Record<string, string>;
  /** Aborting sends CANCEL (after the first provisional response, RFC 3261 §9.1). */
  signal?: AbortSignal;
  /** Each provisional response (100, 180, 183). */
  onProgress?: (res: SipResponse) => void;
  /** Where the INVITE goes, when the caller resolved (and checked) the target's host itself; default: the URI's host. */
  destination?: Remote;
}

/** What placing calls needs from the user agent. */
export interface OutgoingCore extends DialogCore {
  /** Our host as URIs want it (the right-hand side of our Call-IDs). */
  host(): string;
  /** Adds a new dialog to the user agent's dialog table. */
  register(dialog: Dialog): void;
  /**
   * One client transaction → its final response; rejects SipError. Each response also goes to
   * `onResponse` in the tick it is read, a final one before the promise settles.
   */
  request(req: SipRequest, dest: Remote, onResponse?: (res: SipResponse) => void): Promise<SipResponse>;
  /** Sends a request outside any transaction (the ACK for a 2xx, RFC 3261 §13.2.2.4). */
  send(req: SipRequest, dest: Remote): void;
  /** The user agent's own timers, all cleared when it closes. */
  readonly uaTimers: Timers;
}

/**
 * The UAC side of the user agent: places calls (INVITE, CANCEL on abort, digest retry) and sends
 * the ACK for each 2xx, again whenever the 2xx is retransmitted.
 */
export class OutgoingCalls {
  readonly #core: OutgoingCore;
  /** ACKs we sent for 2xx, resent if the 2xx is retransmitted (RFC 3261 §13.2.2.4). */
  readonly #sentAcks = new Map<string, { ack: SipRequest; dest: Remote }>();

  constructor(core: OutgoingCore) {
    this.#core = core;
  }

  /** See UserAgent.invite (which checks the user agent is open first). */
  async invite(target: string, offerSdp: string, opts: InviteOptions): Promise<Dialog> {
    const dest = opts.destination ?? uriDestination(target, 'udp');
    const callId = `${rand(12)}@${this.#core.host()}`;
    const fromTag = rand();
    const name = opts.displayName === undefined ? '' : `"${opts.displayName.replace(/(["\\])/g, '\\$1')}" `;
    const from = `${name}<${opts.from}>;tag=${fromTag}`;
    let cseq = 1;
    let credentials: { name: string; value: string } | undefined;
    for (let attempt = 0; ; attempt++) {
      const h = new SipHeaders();
      h.set('via', this.#core.via(dest.protocol)).set('max-forwards', '70');
      h.set('from', from).set('to', `<${target}>`).set('call-id', callId).set('cseq', `${cseq} INVITE`);
      h.set('contact', this.#core.contact(dest.protocol)).set('allow', ALLOWED);
      for (const [k, v] of Object.entries(opts.headers ?? {})) h.set(k, v);
      if (credentials !== undefined) h.set(credentials.name, credentials.value);
      h.set('content-type', 'application/sdp');
      const invite = createRequest('INVITE', target, h, Buffer.from(offerSdp, 'utf8'));

      // The ACK and the dialog come in the tick the 2xx is read (RFC 3261 §12.1.2, §13.2.2.4): a
      // BYE read with it (one TCP read) then finds the dialog; after the await it found none (481).
      const answered: { dialog?: Dialog; error?: unknown } = {};
      const res = await this.#inviteOnce(invite, dest, opts, (final) => {
        if (final.status < 200 || final.status >= 300) return;
        try {
          answered.dialog = this.#acknowledge(invite, final, dest);
        } catch (err) {
          answered.error = err;
        }
      });
      if ((res.status === 401 || res.status === 407) && opts.auth !== undefined && attempt === 0) {
        const names = authHeaderNames(res.status);
        credentials = {
          name: names.credentials,
          value: answerChallenge(res.headers.getAll(names.challenge), { ...opts.auth, method: 'INVITE', uri: target }),
        };
        cseq++;
        continue;
      }
      if (res.status >= 300) {
        if (res.status === 487 && opts.signal?.aborted === true) throw new SipError('SIP_CANCELLED', 'cancelled');
        throw new SipError('SIP_REJECTED', `INVITE answered ${res.status} ${res.reason}`, res.status);
      }
      const dialog = answered.dialog;
      if (dialog === undefined) throw answered.error;
      if (opts.signal?.aborted === true) {
        // CANCEL lost the race with the 2xx (RFC 3261 §9.1): end the call properly.
        await dialog.bye().catch(() => undefined);
        throw new SipError('SIP_CANCELLED', 'cancelled after answer');
      }
      return dialog;
    }
  }

  /** One INVITE client transaction; sends CANCEL when the signal aborts (after a provisional). */
  async #inviteOnce(invite: SipRequest, dest: Remote, opts: InviteOptions, onFinal: (res: SipResponse) => void): Promise<SipResponse> {
    let provisional = false;
    let cancelled = false;
    const cancel = (): void => {
      if (cancelled || !provisional) return;
      cancelled = true;
      // RFC 3261 §9.1: same Request-URI, Call-ID, From, To, CSeq number, and the INVITE's top Via.
      const h = new SipHeaders();
      h.set('via', invite.headers.getAll('via').slice(0, 1)).set('max-forwards', '70');
      for (const k of ['from', 'to', 'call-id', 'route']) {
        const v = invite.headers.getAll(k);
        if (v.length > 0) h.set(k, v);
      }
      h.set('cseq', `${cseqOf(invite).seq} CANCEL`);
      this.#core.request(createRequest('CANCEL', invite.uri, h), dest).catch(() => undefined);
    };
    const onAbort = (): void => cancel();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      return await this.#core.request(invite, dest, (res) => {
        if (res.status >= 200) return onFinal(res);
        provisional = true;
        if (opts.signal?.aborted === true) cancel();
        opts.onProgress?.(res);
      });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * ACK for a 2xx (RFC 3261 §13.2.2.4) and the UAC's dialog (§12.1.2). A 2xx that names nowhere to
   * send in-dialog requests (its Contact, or the first hop of its Record-Route, no sip: or sips: URI)
   * makes no dialog: it is ACKed all the same (every 2xx must be, or the callee sends it for 64·T1),
   * and hung up with a BYE, both sent where the INVITE went (our choice: the only address known to
   * reach the callee); then this throws SIP_MALFORMED.
   */
  #acknowledge(invite: SipRequest, res: SipResponse, dest: Remote): Dialog {
    const remoteTarget = remoteTargetOf(res, invite.uri);
    const routeSet = [...res.headers.getAll('record-route')].reverse();
    const firstHop = firstHopOf(routeSet, remoteTarget);
    const usable = remoteTarget !== undefined && firstHop !== undefined;
    const callId = callIdOf(invite);
    const seq = cseqOf(invite).seq;
    const headers = (cseq: string, to: Remote): SipHeaders => {
      const h = new SipHeaders().set('via', this.#core.via(to.protocol)).set('max-forwards', '70');
      h.set('from', invite.headers.get('from') ?? '').set('to', res.headers.get('to') ?? '');
      return h.set('call-id', callId).set('cseq', cseq);
    };
    const ackDest = usable ? uriDestination(firstHop, dest.protocol) : dest;
    const h = headers(`${seq} ACK`, ackDest);
    if (usable && routeSet.length > 0) h.set('route', routeSet);
    for (const k of ['authorization', 'proxy-authorization']) {
      const v = invite.headers.get(k);
      if (v !== undefined) h.set(k, v);
    }
    const ack = createRequest('ACK', remoteTarget ?? invite.uri, h);
    this.#core.send(ack, ackDest);
    const key = `${callId} ${seq}`;
    this.#sentAcks.set(key, { ack, dest: ackDest });
    this.#core.uaTimers.after(64 * this.#core.timers.t1, () => this.#sentAcks.delete(key));
    if (!usable) {
      this.#core.request(createRequest('BYE', ack.uri, headers(`${seq + 1} BYE`, dest)), dest).catch(() => undefined);
      const what = remoteTarget === undefined ? `Contact ${res.headers.get('contact') ?? ''}` : `Record-Route ${routeSet[0] ?? ''}`;
      throw new SipError('SIP_MALFORMED', `the 2xx's ${what} names no sip: or sips: URI`);
    }
    const dialog = new Dialog(this.#core, {
      role: 'uac',
      callId,
      localTag: tagOf(invite, 'from') ?? '',
      remoteTag: tagOf(res, 'to') ?? '',
      localHeader: invite.headers.get('from') ?? '',
      remoteHeader: res.headers.get('to') ?? '',
      remoteTarget,
      routeSet,
      protocol: dest.protocol,
      localCSeq: seq,
      remoteCSeq: 0,
      localSdp: invite.body.toString('utf8'),
      remoteSdp: res.body.toString('utf8'),
    });
    this.#core.register(dialog);
    return dialog;
  }

  /** A response matching no transaction: resends our ACK when it is a retransmitted 2xx; false when not. */
  resendAck(res: SipResponse): boolean {
    const sent = this.#sentAcks.get(`${callIdOf(res)} ${cseqOf(res).seq}`);
    if (res.status >= 200 && res.status < 300 && sent !== undefined) {
      this.#core.send(sent.ack, sent.dest);
      return true;
    }
    return false;
  }

  /** Forgets every ACK sent (user agent closed). */
  clear(): void {
    this.#sentAcks.clear();
  }
}
