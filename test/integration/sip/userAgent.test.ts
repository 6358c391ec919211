import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Dialog } from '../../../gateway/src/sip/dialog.js';
import { SipError } from '../../../gateway/src/sip/errors.js';
import { createResponse, cseqOf, parseVia, serialize, tagOf } from '../../../gateway/src/sip/message.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../gateway/src/sip/message.js';
import { answerOffer, createOffer } from '../../../gateway/src/sip/sdp.js';
import type { SipProtocol } from '../../../gateway/src/sip/transport.js';
import { UserAgent } from '../../../gateway/src/sip/UserAgent.js';
import type { UserAgentOptions } from '../../../gateway/src/sip/UserAgent.js';
import { onPath } from '../../../testkit/host.js';
import { answerThenBye, RawPeer } from './peers.js';

/** The user agent on loopback against hand-written messages and against itself (no external peer). */

const OFFER = createOffer({ address: '127.0.0.1', port: 41000, sessionId: 1 });
const owned: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of owned.splice(0)) await o.close();
});

async function agent(opts: Partial<UserAgentOptions> = {}, protocol: SipProtocol = 'udp'): Promise<UserAgent> {
  const ua = await UserAgent.create({ listen: [{ protocol, host: '127.0.0.1', port: 0 }], timers: { t1: 50 }, ...opts });
  owned.push(ua);
  return ua;
}

async function peer(): Promise<RawPeer> {
  const p = await RawPeer.open();
  owned.push(p);
  return p;
}

function request(
  method: string,
  p: RawPeer,
  opts: { callId?: string; toTag?: string; cseq?: number; via?: string; body?: string; contact?: string | null; recordRoute?: string } = {},
): string {
  const body = opts.body ?? '';
  return [
    `${method} sip:+14155550100@127.0.0.1 SIP/2.0`,
    `Via: ${opts.via ?? `SIP/2.0/UDP 127.0.0.1:${p.port};branch=z9hG4bK${Math.random().toString(36).slice(2)};rport`}`,
    'Max-Forwards: 70',
    `From: <sip:caller@127.0.0.1>;tag=peer1`,
    `To: <sip:+14155550100@127.0.0.1>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
    `Call-ID: ${opts.callId ?? Math.random().toString(36).slice(2)}`,
    `CSeq: ${opts.cseq ?? 1} ${method}`,
    ...(opts.contact === null ? [] : [`Contact: ${opts.contact ?? `<sip:caller@127.0.0.1:${p.port}>`}`]),
    ...(opts.recordRoute === undefined ? [] : [`Record-Route: ${opts.recordRoute}`]),
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

const isStatus =
  (status: number, method?: string) =>
  (m: SipMessage): m is SipResponse =>
    m.type === 'response' && m.status === status && (method === undefined || cseqOf(m).method === method);

describe('UserAgent on loopback', () => {
  it('answers 501, 405, 481, OPTIONS 503, 400 to an INVITE with no usable Contact or first route, survives garbage (counted)', async () => {
    const drops: string[] = [];
    const ua = await agent({ onOptions: () => 503, onDrop: (r) => drops.push(r) });
    const port = ua.addresses[0]!.port;
    const p = await peer();
    p.send('this is not SIP\r\n\r\n', port);
    p.send(request('FOO', p), port);
    p.send(request('SUBSCRIBE', p), port);
    p.send(request('BYE', p, { toTag: 'nosuch' }), port);
    // sent-by says 10.9.9.9:5999: the answer must still come back here (RFC 3581 rport).
    p.send(request('OPTIONS', p, { via: 'SIP/2.0/UDP 10.9.9.9:5999;branch=z9hG4bKopt;rport' }), port);
    // The dialog's remote target (RFC 3261 §8.1.1.8, §12.1.1) and the first hop of its route set
    // (§12.2.1.1): checked before anyone answers. With no one to answer, a good INVITE gets 480.
    const invites = [
      { contact: '<sip:caller@127.0.0.1', status: 400, reason: 'Bad Contact' },
      { contact: 'tel:+14155550123', status: 400, reason: 'Bad Contact' },
      { contact: null, status: 400, reason: 'Missing Contact' },
      { recordRoute: '<tel:+14155550123;lr>', status: 400, reason: 'Bad Record-Route' },
      // A UAS's route set is the Record-Route in order: the first entry is the next hop.
      { recordRoute: '<sip:127.0.0.1;lr>, <tel:+14155550123;lr>', status: 480, reason: 'Temporarily Unavailable' },
    ];
    invites.forEach((inv, i) => p.send(request('INVITE', p, { callId: `invite-${i}`, body: OFFER, ...inv }), port));
    await p.next(isStatus(501, 'FOO'));
    const allow = await p.next(isStatus(405, 'SUBSCRIBE'));
    expect(allow.headers.getAll('allow')).toContain('INVITE');
    await p.next(isStatus(481, 'BYE'));
    const opt = await p.next(isStatus(503, 'OPTIONS'));
    const via = parseVia(opt.headers.get('via')!);
    expect(via.params.get('received')).toBe('127.0.0.1');
    expect(via.params.get('rport')).toBe(String(p.port));
    for (const [i, inv] of invites.entries()) {
      const answer = await p.next((m) => m.type === 'response' && m.status >= 400 && m.headers.get('call-id') === `invite-${i}`);
      expect([(answer as SipResponse).status, (answer as SipResponse).reason]).toEqual([inv.status, inv.reason]);
    }
    expect(drops).toEqual(['SIP_MALFORMED']);
  });

  it('retransmits the 200 until the ACK (T1 doubling), then confirms the dialog', async () => {
    let answered: Promise<unknown> | undefined;
    const ua = await agent({
      onInvite: (call) => {
        answered = call.answer(answerOffer(call.offer, { address: '127.0.0.1', port: 40000 })!.sdp);
      },
    });
    const p = await peer();
    p.send(request('INVITE', p, { callId: 'rtx-1', body: OFFER }), ua.addresses[0]!.port);
    await p.next(isStatus(100));
    const ok = await p.next(isStatus(200, 'INVITE'));
    // 0, 50, 150, 350 ms: at least three copies by 400 ms.
    await new Promise((r) => setTimeout(r, 400));
    const copies = p.received.filter(isStatus(200, 'INVITE')).length;
    expect(copies).toBeGreaterThanOrEqual(3);
    const toTag = tagOf(ok, 'to')!;
    p.send(request('ACK', p, { callId: 'rtx-1', toTag }), ua.addresses[0]!.port);
    const dialog = (await answered) as { state: string };
    expect(dialog.state).toBe('confirmed');
    await new Promise((r) => setTimeout(r, 300));
    expect(p.received.filter(isStatus(200, 'INVITE')).length).toBeLessThanOrEqual(copies + 1);
    expect(ua.dialogCount).toBe(1);
  });

  it('gives up on a 200 that is never ACKed after 64·T1 and sends BYE (RFC 3261 §13.3.1.4)', async () => {
    let outcome: unknown;
    const ua = await agent({
      timers: { t1: 20 },
      onInvite: async (call) => {
        outcome = await call.answer(answerOffer(call.offer, { address: '127.0.0.1', port: 40000 })!.sdp).catch((e: unknown) => e);
      },
    });
    const p = await peer();
    p.send(request('INVITE', p, { callId: 'noack', body: OFFER }), ua.addresses[0]!.port);
    const bye = await p.next((m) => m.type === 'request' && m.method === 'BYE', 8000);
    expect(bye.headers.get('call-id')).toBe('noack');
    await new Promise((r) => setTimeout(r, 50));
    expect(outcome).toBeInstanceOf(SipError);
    expect((outcome as SipError).code).toBe('SIP_TIMEOUT');
    expect(ua.dialogCount).toBe(0);
  });

  for (const protocol of ['udp', 'tcp'] as const) {
    it(`calls itself over ${protocol}: 407 SHA-256 digest retry, REFER + NOTIFY, BYE from the callee`, async () => {
      const events: string[] = [];
      let hangUp = (): void => undefined;
      const callee = await agent(
        {
          digest: { realm: 'gw.test', secret: 's', algorithms: ['SHA-256'] },
          onInvite: async (call) => {
            const v = call.authenticate((u) => (u === 'alice' ? 'pw' : undefined), true);
            events.push(`auth ${v.result}`);
            if (v.result !== 'ok') return call.challenge({ proxy: true });
            call.ringing();
            // The REFER may share a TCP read with the ACK: the handler is set as the 200 goes out.
            await call.answer(answerOffer(call.offer, { address: '127.0.0.1', port: 42000 })!.sdp, {
              onDialog: (d) => {
                d.onRefer = (target) => {
                  events.push(`refer ${target}`);
                  return 200;
                };
                hangUp = () => void d.bye();
              },
            });
            return undefined;
          },
        },
        protocol,
      );
      const caller = await agent({}, protocol);
      const target = `sip:+14155550100@127.0.0.1:${callee.addresses[0]!.port}${protocol === 'tcp' ? ';transport=tcp' : ''}`;
      const dialog = await caller.invite(target, OFFER, {
        from: 'sip:alice@127.0.0.1',
        auth: { username: 'alice', password: 'pw' },
        headers: { 'X-Call-Reason': 'test' },
      });
      const ended = new Promise<void>((resolve) => (dialog.onBye = resolve));
      expect(await dialog.refer('sip:+14155550199@127.0.0.1')).toBe(200);
      hangUp();
      await ended;
      expect(events).toEqual(['auth missing', 'auth ok', 'refer sip:+14155550199@127.0.0.1']);
      expect(caller.dialogCount).toBe(0);
      expect(callee.dialogCount).toBe(0);
    });
  }

  it('hands the dialog to onDialog as the 200 goes out: a BYE in the same TCP write as the ACK reaches onBye', async () => {
    let byes = 0;
    let answered: Promise<Dialog> | undefined;
    const ua = await agent(
      {
        onInvite: (call) => {
          const sdp = answerOffer(call.offer, { address: '127.0.0.1', port: 40000 })!.sdp;
          answered = call.answer(sdp, { onDialog: (d) => (d.onBye = () => byes++) });
        },
      },
      'tcp',
    );
    const p = await RawPeer.connect(ua.addresses[0]!.port);
    owned.push(p);
    const via = (): string => `SIP/2.0/TCP 127.0.0.1:${p.port};branch=z9hG4bK${Math.random().toString(36).slice(2)}`;
    p.send(request('INVITE', p, { callId: 'tcp-bye', via: via(), body: OFFER }), 0);
    const toTag = tagOf(await p.next(isStatus(200, 'INVITE')), 'to')!;
    // One write, so one read at the user agent: the BYE is handled before answer() can resolve.
    const ack = request('ACK', p, { callId: 'tcp-bye', toTag, via: via() });
    p.send(ack + request('BYE', p, { callId: 'tcp-bye', toTag, cseq: 2, via: via() }), 0);
    await p.next(isStatus(200, 'BYE'));
    expect((await answered)!.state).toBe('terminated');
    expect(byes).toBe(1);
    expect(ua.dialogCount).toBe(0);
  });

  it('answers 400 to a re-INVITE whose Contact is no SIP URI and keeps the remote target: its BYE still reaches the caller', async () => {
    let answered: Promise<Dialog> | undefined;
    const ua = await agent({
      onInvite: (call) => {
        answered = call.answer(answerOffer(call.offer, { address: '127.0.0.1', port: 40000 })!.sdp);
      },
    });
    const port = ua.addresses[0]!.port;
    const p = await peer();
    p.send(request('INVITE', p, { callId: 'refresh', body: OFFER }), port);
    const toTag = tagOf(await p.next(isStatus(200, 'INVITE')), 'to')!;
    p.send(request('ACK', p, { callId: 'refresh', toTag }), port);
    const dialog = await answered!;
    // A target refresh (RFC 3261 §12.2.2) to a URI we cannot send to is refused, not taken.
    for (const [i, contact] of ['<sip:caller@127.0.0.1', 'tel:+14155550123'].entries()) {
      // one at a time: over UDP a CSeq overtaken by the next one would get 500
      p.send(request('INVITE', p, { callId: 'refresh', toTag, cseq: 2 + i, contact, body: OFFER }), port);
      const bad = await p.next((m) => isStatus(400, 'INVITE')(m) && cseqOf(m).seq === 2 + i);
      expect((bad as SipResponse).reason).toBe('Bad Contact');
    }
    expect(dialog.remoteTarget).toBe(`sip:caller@127.0.0.1:${p.port}`);
    const hungUp = dialog.bye();
    const bye = (await p.next((m) => m.type === 'request' && m.method === 'BYE')) as SipRequest;
    expect(bye.uri).toBe(`sip:caller@127.0.0.1:${p.port}`);
    p.send(serialize(createResponse(bye, 200)).toString('latin1'), port);
    await hungUp;
  });

  for (const bad of ['Contact', 'Record-Route'] as const) {
    it(`ACKs a 2xx whose ${bad} names nowhere to send, hangs it up where the INVITE went, rejects SIP_MALFORMED`, async () => {
      const callee = await peer();
      const caller = await agent();
      const dialled = caller.invite(`sip:+1@127.0.0.1:${callee.port}`, OFFER, { from: 'sip:a@127.0.0.1' });
      const outcome = dialled.catch((err: unknown) => err);
      const invite = (await callee.next((m) => m.type === 'request' && m.method === 'INVITE')) as SipRequest;
      const ok = createResponse(invite, 200, undefined, 'callee1');
      const contact = `sip:callee@127.0.0.1:${callee.port}`;
      ok.headers.set('contact', bad === 'Contact' ? 'tel:+14155550123' : `<${contact}>`).set('content-type', 'application/sdp');
      // A UAC's route set is the Record-Route reversed (RFC 3261 §12.1.2): its first hop is the tel: URI.
      if (bad === 'Record-Route') ok.headers.set('record-route', '<sip:proxy.invalid;lr>, <tel:+14155550123;lr>');
      ok.body = Buffer.from(answerOffer(OFFER, { address: '127.0.0.1', port: 40000 })!.sdp);
      callee.send(serialize(ok).toString('latin1'), caller.addresses[0]!.port);
      const err = await outcome;
      expect(err).toBeInstanceOf(SipError);
      expect((err as SipError).code).toBe('SIP_MALFORMED');
      expect((err as SipError).message).toContain(bad);
      // Every 2xx is ACKed (RFC 3261 §13.2.2.4), then the call is ended: both reach the callee where
      // the INVITE did, with no Route, the ACK first.
      await callee.next((m) => m.type === 'request' && m.method === 'BYE');
      const sent = callee.received.filter((m): m is SipRequest => m.type === 'request' && m.method !== 'INVITE');
      expect(sent.map((m) => m.method)).toEqual(['ACK', 'BYE']);
      const target = bad === 'Contact' ? invite.uri : contact;
      expect(sent.map((m) => [m.uri, m.headers.get('route')])).toEqual([
        [target, undefined],
        [target, undefined],
      ]);
      expect(sent.map((m) => m.headers.get('call-id'))).toEqual([invite.headers.get('call-id'), invite.headers.get('call-id')]);
      expect(caller.dialogCount).toBe(0);
      // The 2xx again (our ACK lost, say): the same ACK again, and still no dialog.
      callee.send(serialize(ok).toString('latin1'), caller.addresses[0]!.port);
      const again = (await callee.next((m) => m.type === 'request' && m.method === 'ACK' && m !== sent[0])) as SipRequest;
      expect([again.uri, again.headers.get('cseq')]).toEqual([target, sent[0]!.headers.get('cseq')]);
      expect(caller.dialogCount).toBe(0);
    });
  }

  it('ACKs a 2xx and makes its dialog in the tick it is read: a BYE in the same TCP write as the 200 finds the dialog (200, not 481)', async () => {
    const callee = await RawPeer.listenTcp();
    owned.push(callee);
    const caller = await agent({}, 'tcp');
    const dialled = caller.invite(`sip:+1@127.0.0.1:${callee.port};transport=tcp`, OFFER, { from: 'sip:a@127.0.0.1' });
    const invite = (await callee.next((m) => m.type === 'request' && m.method === 'INVITE')) as SipRequest;
    // One write, so one read at the user agent: the BYE is handled in the same tick as the 200.
    callee.send(answerThenBye(invite, callee.port), 0);
    const dialog = await dialled;
    const byeAnswer = await callee.next((m) => m.type === 'response' && cseqOf(m).method === 'BYE');
    await callee.next((m) => m.type === 'request' && m.method === 'ACK');
    expect((byeAnswer as SipResponse).status).toBe(200);
    expect(dialog.state).toBe('terminated');
    expect(caller.dialogCount).toBe(0);
  });

  for (const method of ['BYE', 'REFER'] as const) {
    it(`holds its own ${method} until the caller ACKs the 200 (RFC 3261 §15)`, async () => {
      let answered: Promise<Dialog> | undefined;
      const ua = await agent({
        onInvite: (call) => {
          const sdp = answerOffer(call.offer, { address: '127.0.0.1', port: 40000 })!.sdp;
          // Hangs up (or transfers) as it answers: the request must wait for the ACK.
          answered = call.answer(sdp, {
            onDialog: (d) => void (method === 'BYE' ? d.bye() : d.refer('sip:+14155550199@127.0.0.1')).catch(() => undefined),
          });
        },
      });
      const p = await peer();
      p.send(request('INVITE', p, { callId: `early-${method}`, body: OFFER }), ua.addresses[0]!.port);
      const toTag = tagOf(await p.next(isStatus(200, 'INVITE')), 'to')!;
      // T1 = 50 ms: the 200 is sent again at 50 and 150 ms while we hold the ACK back.
      await new Promise((r) => setTimeout(r, 300));
      const sentBeforeAck = p.received.filter((m) => m.type === 'request' && m.method === method).length;
      p.send(request('ACK', p, { callId: `early-${method}`, toTag }), ua.addresses[0]!.port);
      // Resolved by the ACK, not by giving up on it (64·T1 = 3.2 s, which would release the request too).
      expect((await answered)!.state).toBe(method === 'BYE' ? 'terminated' : 'confirmed');
      const sent = await p.next((m) => m.type === 'request' && m.method === method);
      expect(sentBeforeAck).toBe(0);
      expect(sent.headers.get('call-id')).toBe(`early-${method}`);
    });
  }

  it('cancels a pending INVITE when the signal aborts; rejects wrong credentials with SIP_REJECTED', async () => {
    let cancels = 0;
    const callee = await agent({
      digest: { realm: 'gw.test', secret: 's' },
      onInvite: (call) => {
        if (call.to.uri.includes('auth')) {
          if (call.authenticate(() => 'right').result !== 'ok') call.challenge();
          return;
        }
        call.onCancel = () => cancels++;
        call.ringing();
      },
    });
    const caller = await agent();
    const base = `127.0.0.1:${callee.addresses[0]!.port}`;
    const ac = new AbortController();
    const pending = caller.invite(`sip:+1@${base}`, OFFER, {
      from: 'sip:a@127.0.0.1',
      signal: ac.signal,
      onProgress: (r) => r.status === 180 && ac.abort(),
    });
    await expect(pending).rejects.toMatchObject({ code: 'SIP_CANCELLED' });
    expect(cancels).toBe(1);
    const wrong = caller.invite(`sip:auth@${base}`, OFFER, { from: 'sip:a@127.0.0.1', auth: { username: 'a', password: 'wrong' } });
    await expect(wrong).rejects.toMatchObject({ code: 'SIP_REJECTED', status: 401 });
  });

  it('close() is idempotent and rejects what is pending with SIP_CLOSED', async () => {
    const caller = await agent();
    const p = await peer();
    // Nobody answers at the raw peer: the INVITE stays pending.
    const pending = caller.invite(`sip:x@127.0.0.1:${p.port}`, OFFER, { from: 'sip:a@127.0.0.1' }).catch((e: unknown) => e);
    await p.next((m) => m.type === 'request' && m.method === 'INVITE');
    await caller.close();
    await caller.close();
    expect(await pending).toMatchObject({ code: 'SIP_CLOSED' });
    await expect(caller.invite('sip:x@127.0.0.1', OFFER, { from: 'sip:a@127.0.0.1' })).rejects.toMatchObject({ code: 'SIP_CLOSED' });
  });

  it.skipIf(onPath('openssl') === undefined)('calls itself over TLS (self-signed certificate, verification off)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sip-tls-'));
    owned.push({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const [certPath, keyPath] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', keyPath, '-out', certPath],
      {
        stdio: 'ignore',
      },
    );
    const callee = await UserAgent.create({
      listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0, tls: { certPath, keyPath } }],
      onInvite: async (call) => {
        await call.answer(answerOffer(call.offer, { address: '127.0.0.1', port: 42000 })!.sdp);
      },
    });
    owned.push(callee);
    const caller = await UserAgent.create({
      listen: [{ protocol: 'tls', host: '127.0.0.1', port: 0, tls: { certPath, keyPath } }],
      tlsVerify: false,
    });
    owned.push(caller);
    const dialog = await caller.invite(`sip:+1@127.0.0.1:${callee.addresses[0]!.port};transport=tls`, OFFER, { from: 'sip:a@127.0.0.1' });
    expect(dialog.remoteTarget).toContain('transport=tls');
    await dialog.bye();
    await until(() => callee.dialogCount === 0);
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
