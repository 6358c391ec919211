import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { answerOffer, createOffer, parseAnswer } from '../../../gateway/src/sip/sdp.js';
import type { NegotiatedMedia } from '../../../gateway/src/sip/sdp.js';
import { UserAgent } from '../../../gateway/src/sip/UserAgent.js';
import type { IncomingCall, UserAgentOptions } from '../../../gateway/src/sip/UserAgent.js';
import { freeRun, onPath } from '../../../testkit/host.js';
import { Sipp } from '../../../testkit/Sipp.js';

/**
 * The user agent against a real peer: SIPp (Debian `sip-tester`) drives calls at it over UDP on
 * loopback, and answers the calls it places. The test plays the application.
 */
const SIPP = onPath('sipp');
if (SIPP === undefined) console.warn('SKIPPING SIP interop tests: `sipp` is not on PATH (apt-get install -y sip-tester)');

const FIXTURES = join(import.meta.dirname, '../../fixtures/sip');
const MEDIA = { address: '127.0.0.1', port: 40000 };

describe.skipIf(SIPP === undefined)('UserAgent with SIPp', () => {
  let ua: UserAgent | undefined;
  const drops: string[] = [];

  afterEach(async () => {
    await ua?.close();
    ua = undefined;
    drops.length = 0;
  });

  async function start(opts: Partial<UserAgentOptions>): Promise<{ ua: UserAgent; target: string }> {
    ua = await UserAgent.create({
      listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }],
      timers: { t1: 200 },
      onDrop: (reason) => drops.push(reason),
      ...opts,
    });
    return { ua, target: `127.0.0.1:${ua.addresses[0]!.port}` };
  }

  /** Rings, then answers with an SDP from sdp.ts (488 if the offer has no common codec). */
  async function answer(call: IncomingCall, onMedia?: (m: NegotiatedMedia) => void): Promise<void> {
    call.ringing();
    const ans = answerOffer(call.offer, MEDIA);
    if (ans === null) {
      call.reject(488);
      return;
    }
    onMedia?.(ans.media);
    await call.answer(ans.sdp, {
      onDialog: (dialog) => {
        dialog.onReoffer = (offer) => {
          const re = answerOffer(offer, MEDIA);
          if (re !== null) onMedia?.(re.media);
          return re?.sdp ?? null;
        };
      },
    });
  }

  it('takes INVITE/200/ACK/BYE calls from the built-in uac scenario', async () => {
    let answered = 0;
    const media: NegotiatedMedia[] = [];
    const { target } = await start({
      onInvite: async (call) => {
        await answer(call, (m) => media.push(m));
        answered++;
      },
    });
    const r = await Sipp.run(['-sn', 'uac', '-d', '200', '-r', '5', target], {
      calls: 3,
      timeoutS: 30,
    });
    expect(r, r.stderr + r.errors).toMatchObject({ code: 0, successful: 3, failed: 0 });
    expect(answered).toBe(3);
    expect(media[0]).toMatchObject({ codec: 'PCMU', payloadType: 0, remoteAddress: '127.0.0.1' });
    expect(ua!.dialogCount).toBe(0);
    expect(drops).toEqual([]);
  });

  it('answers OPTIONS', async () => {
    let probes = 0;
    const { target } = await start({ onOptions: () => (probes++, 200) });
    const r = await Sipp.run(['-sf', join(FIXTURES, 'options.xml'), target], {
      calls: 2,
      timeoutS: 20,
    });
    expect(r, r.stderr + r.errors).toMatchObject({ code: 0, successful: 2 });
    expect(probes).toBe(2);
  });

  it('handles CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE, a callback', async () => {
    let cancelled = 0;
    const { target } = await start({
      onInvite: (call) => {
        call.onCancel = () => cancelled++;
        call.ringing();
      },
    });
    const r = await Sipp.run(['-sf', join(FIXTURES, 'cancel_uac.xml'), target], {
      calls: 1,
      timeoutS: 20,
    });
    expect(r, r.stderr + r.errors).toMatchObject({ code: 0, successful: 1 });
    expect(cancelled).toBe(1);
  });

  it('challenges with 401 digest (MD5) and accepts the answer SIPp computes', async () => {
    const verdicts: string[] = [];
    const { target } = await start({
      // SIPp 3.6 answers only the first challenge and only MD5 (SHA-256 is covered UA to UA).
      digest: { realm: 'gw.test', secret: 'test-secret', algorithms: ['MD5'] },
      onInvite: async (call) => {
        const v = call.authenticate((user) => (user === 'trunk1' ? 's3cret' : undefined));
        verdicts.push(v.result);
        if (v.result !== 'ok') return call.challenge({ stale: v.result === 'stale' });
        return answer(call);
      },
    });
    const r = await Sipp.run(['-sf', join(FIXTURES, 'digest_uac.xml'), '-au', 'trunk1', '-ap', 's3cret', target], {
      calls: 1,
      timeoutS: 20,
    });
    expect(r, r.stderr + r.errors).toMatchObject({ code: 0, successful: 1 });
    expect(verdicts).toEqual(['missing', 'ok']);
  });

  it('follows a re-INVITE to hold from a new address and reports INFO DTMF', async () => {
    const media: NegotiatedMedia[] = [];
    const digits: [string, number][] = [];
    let byes = 0;
    const { target } = await start({
      onInvite: async (call) => {
        call.ringing();
        const ans = answerOffer(call.offer, MEDIA)!;
        await call.answer(ans.sdp, {
          onDialog: (dialog) => {
            dialog.onReoffer = (offer) => {
              const re = answerOffer(offer, MEDIA);
              if (re !== null) media.push(re.media);
              return re?.sdp ?? null;
            };
            dialog.onDtmf = (digit, ms) => digits.push([digit, ms]);
            dialog.onBye = () => byes++;
          },
        });
      },
    });
    const r = await Sipp.run(['-sf', join(FIXTURES, 'reinvite_info_uac.xml'), target], {
      calls: 1,
      timeoutS: 20,
    });
    expect(r, r.stderr + r.errors).toMatchObject({ code: 0, successful: 1 });
    expect(media).toHaveLength(1);
    expect(media[0]).toMatchObject({
      remoteDirection: 'sendonly',
      localDirection: 'recvonly',
      remoteAddress: '127.0.0.2',
      remotePort: 7078,
      dtmfPayloadType: 101,
    });
    expect(digits).toEqual([['5', 160]]);
    expect(byes).toBe(1);
  });

  it('places a call to `sipp -sn uas`, reads its answer, hangs up', async () => {
    const { ua: agent } = await start({});
    const sippPort = await freeRun(1);
    const sipp = Sipp.run(['-sn', 'uas'], { calls: 1, timeoutS: 30, port: sippPort });
    const progress: number[] = [];
    // UDP retransmission (Timer A) covers SIPp still starting up.
    const dialog = await agent.invite(`sip:service@127.0.0.1:${sippPort}`, createOffer({ ...MEDIA, codecs: ['PCMA', 'PCMU'] }), {
      from: 'sip:+14155550100@127.0.0.1',
      onProgress: (res) => progress.push(res.status),
    });
    expect(progress).toContain(180);
    const negotiated = parseAnswer(dialog.remoteSdp);
    expect(negotiated).not.toBeNull();
    expect(['PCMA', 'PCMU']).toContain(negotiated!.codec);
    await dialog.bye();
    const r = await sipp;
    expect(r, r.stderr + r.errors).toMatchObject({ code: 0, successful: 1 });
    expect(agent.dialogCount).toBe(0);
  });
});
