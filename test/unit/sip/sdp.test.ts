import { parse } from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { answerOffer, createOffer, parseAnswer } from '../../../gateway/src/sip/sdp.js';

const LOCAL = { address: '203.0.113.5', port: 40000, sessionId: 1, sessionVersion: 1 };

function offer(opts: {
  payloads: string;
  rtpmap?: string[];
  direction?: string;
  mediaC?: string;
  sessionC?: string;
  mux?: boolean;
  extra?: string;
}): string {
  return [
    'v=0',
    'o=- 42 42 IN IP4 198.51.100.1',
    's=-',
    ...(opts.sessionC === undefined ? [] : [`c=IN IP4 ${opts.sessionC}`]),
    't=0 0',
    ...(opts.extra === undefined ? [] : [opts.extra]),
    `m=audio 5004 RTP/AVP ${opts.payloads}`,
    ...(opts.mediaC === undefined ? [] : [`c=IN IP4 ${opts.mediaC}`]),
    ...(opts.rtpmap ?? []).map((r) => `a=rtpmap:${r}`),
    ...(opts.direction === undefined ? [] : [`a=${opts.direction}`]),
    ...(opts.mux === true ? ['a=rtcp-mux'] : []),
    '',
  ].join('\r\n');
}

describe('SDP offer/answer (RFC 3264)', () => {
  it('picks our first preference among the offered codecs, with telephone-event at the offered PT', () => {
    const o = offer({ payloads: '8 0 101', rtpmap: ['8 PCMA/8000', '0 PCMU/8000', '101 telephone-event/8000'], sessionC: '198.51.100.1' });
    const r = answerOffer(o, LOCAL)!;
    expect(r.media).toMatchObject({ codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, remoteAddress: '198.51.100.1', remotePort: 5004 });
    const a = parse(r.sdp);
    expect(a.media[0]!.payloads).toBe('0 101');
    expect(a.media[0]!.ptime).toBe(20);
    expect(a.media[0]!.port).toBe(40000);
    expect(a.connection?.ip).toBe('203.0.113.5');
    expect(answerOffer(o, { ...LOCAL, codecs: ['PCMA', 'PCMU'] })!.media.codec).toBe('PCMA');
  });

  it('negotiates opus at its dynamic PT and telephone-event/48000 at 96', () => {
    const o = offer({ payloads: '111 96 0', rtpmap: ['111 opus/48000/2', '96 telephone-event/48000'], sessionC: '198.51.100.1' });
    const r = answerOffer(o, { ...LOCAL, codecs: ['opus', 'PCMU'] })!;
    expect(r.media).toMatchObject({ codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, dtmfPayloadType: 96 });
    expect(r.sdp).toContain('a=rtpmap:111 opus/48000/2');
    expect(r.sdp).toContain('a=rtpmap:96 telephone-event/48000');
    // PCMU has no 8 kHz telephone-event here: DTMF is left out.
    expect(answerOffer(o, LOCAL)!.media).toMatchObject({ codec: 'PCMU', dtmfPayloadType: null });
  });

  it('accepts static PTs without rtpmap and a non-101 telephone-event', () => {
    const r = answerOffer(
      offer({ payloads: '0 96', rtpmap: ['96 telephone-event/8000'], mediaC: '198.51.100.9', sessionC: '198.51.100.1' }),
      LOCAL,
    )!;
    expect(r.media).toMatchObject({ codec: 'PCMU', dtmfPayloadType: 96, remoteAddress: '198.51.100.9' });
    expect(r.sdp).toContain('a=rtpmap:96 telephone-event/8000');
  });

  it('returns null (→ 488) without a common codec or an address', () => {
    expect(answerOffer(offer({ payloads: '18 9', sessionC: '198.51.100.1' }), LOCAL)).toBeNull();
    expect(answerOffer(offer({ payloads: '0' }), LOCAL)).toBeNull();
    expect(answerOffer('not sdp at all', LOCAL)).toBeNull();
    expect(answerOffer(offer({ payloads: '0 8', sessionC: '198.51.100.1' }), { ...LOCAL, codecs: ['opus'] })).toBeNull();
  });

  it('mirrors directions (RFC 3264 §6.1) and treats c=0.0.0.0 as hold', () => {
    const dirs: [string, string][] = [
      ['sendrecv', 'sendrecv'],
      ['sendonly', 'recvonly'],
      ['recvonly', 'sendonly'],
      ['inactive', 'inactive'],
    ];
    for (const [theirs, ours] of dirs) {
      const r = answerOffer(offer({ payloads: '0', direction: theirs, sessionC: '198.51.100.1' }), LOCAL)!;
      expect(r.media.localDirection).toBe(ours);
      expect(r.sdp).toContain(`a=${ours}`);
    }
    expect(answerOffer(offer({ payloads: '0', extra: 'a=sendonly', sessionC: '198.51.100.1' }), LOCAL)!.media.localDirection).toBe(
      'recvonly',
    );
    expect(answerOffer(offer({ payloads: '0', sessionC: '0.0.0.0' }), LOCAL)!.media.localDirection).toBe('inactive');
  });

  it('echoes rtcp-mux only when offered (RFC 5761 §5.1.1)', () => {
    expect(answerOffer(offer({ payloads: '0', sessionC: '198.51.100.1', mux: true }), LOCAL)!.sdp).toContain('a=rtcp-mux');
    const r = answerOffer(offer({ payloads: '0', sessionC: '198.51.100.1' }), LOCAL)!;
    expect(r.sdp).not.toContain('rtcp-mux');
    expect(r.media.rtcpMux).toBe(false);
  });

  it('keeps refused streams in place with port 0', () => {
    const o = offer({ payloads: '0', sessionC: '198.51.100.1' }).replace('t=0 0\r\n', 't=0 0\r\nm=video 5006 RTP/AVP 31\r\n');
    const a = parse(answerOffer(o, LOCAL)!.sdp);
    expect(a.media.map((m) => [m.type, m.port])).toEqual([
      ['video', 0],
      ['audio', 40000],
    ]);
  });

  it('builds an offer and reads the answer to it', () => {
    const ours = createOffer({ ...LOCAL, codecs: ['PCMU', 'PCMA', 'opus'] });
    const m = parse(ours).media[0]!;
    expect(m.payloads).toBe('0 8 111 101 102');
    expect(m.rtcpMux).toBe('rtcp-mux');
    // The peer answers our offer with answerOffer's logic.
    const answer = answerOffer(ours, { address: '198.51.100.7', port: 6000, codecs: ['PCMA'] })!;
    expect(parseAnswer(answer.sdp)).toMatchObject({
      codec: 'PCMA',
      payloadType: 8,
      dtmfPayloadType: 101,
      remoteAddress: '198.51.100.7',
      remotePort: 6000,
      rtcpMux: true,
    });
    expect(parseAnswer(offer({ payloads: '18', sessionC: '198.51.100.1' }))).toBeNull();
  });
});
