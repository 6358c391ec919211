import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildTwilioClear,
  buildTwilioConnected,
  buildTwilioDtmf,
  buildTwilioMarkEcho,
  buildTwilioMedia,
  buildTwilioSendMark,
  buildTwilioSendMedia,
  buildTwilioStart,
  buildTwilioStop,
  buildTwimlConnectStream,
  parseTwilioCommand,
  parseTwilioEvent,
  twilioSignature,
  verifyTwilioSignature,
} from '../../../gateway/src/platforms/twilio.js';
import { TWILIO_COMMANDS as C, TWILIO_EVENTS as E, TWILIO_SIGNATURE as S, TWILIO_TWIML } from '../../fixtures/platforms/twilio.js';
import { GARBAGE, hugeB64, mutate, ok, rejects, sameJson } from './helpers.js';

describe('Twilio messages', () => {
  it('every golden event parses back to itself', () => {
    for (const g of Object.values(E)) sameJson(ok(parseTwilioEvent(structuredClone(g))), g);
  });

  it('every golden command parses back to itself', () => {
    for (const g of Object.values(C)) sameJson(ok(parseTwilioCommand(structuredClone(g))), g);
  });

  it('builders reproduce the goldens byte for byte', () => {
    sameJson(buildTwilioConnected(), E.connected);
    sameJson(
      buildTwilioStart({
        sequenceNumber: '1',
        accountSid: E.start.start.accountSid,
        streamSid: E.start.streamSid,
        callSid: E.start.start.callSid,
        tracks: ['inbound'],
        customParameters: { FirstName: 'Jane' },
      }),
      E.start,
    );
    sameJson(
      buildTwilioMedia({
        sequenceNumber: '4',
        track: 'inbound',
        chunk: '2',
        timestamp: '5',
        payload: E.media.media.payload,
        streamSid: E.media.streamSid,
      }),
      E.media,
    );
    sameJson(buildTwilioDtmf({ streamSid: E.dtmf.streamSid, sequenceNumber: '5', digit: '1' }), E.dtmf);
    sameJson(buildTwilioMarkEcho({ sequenceNumber: '4', streamSid: E.mark.streamSid, name: 'my label' }), E.mark);
    sameJson(
      buildTwilioStop({
        sequenceNumber: '5',
        streamSid: E.stop.streamSid,
        accountSid: E.stop.stop.accountSid,
        callSid: E.stop.stop.callSid,
      }),
      E.stop,
    );
    sameJson(buildTwilioSendMedia(C.media.streamSid, C.media.media.payload), C.media);
    sameJson(buildTwilioSendMark(C.mark.streamSid, 'my label'), C.mark);
    sameJson(buildTwilioClear(C.clear.streamSid), C.clear);
  });

  it('numbers must be strings, as Twilio sends them', () => {
    rejects(parseTwilioEvent, mutate(E.media, ['sequenceNumber'], 4));
    rejects(parseTwilioEvent, mutate(E.media, ['media', 'chunk'], 2));
    rejects(parseTwilioEvent, mutate(E.media, ['media', 'timestamp'], '5ms'));
  });

  it('malformed events and commands give typed errors, never throw', () => {
    for (const g of GARBAGE) {
      rejects(parseTwilioEvent, g);
      rejects(parseTwilioCommand, g);
    }
    rejects(parseTwilioEvent, mutate(E.start, ['start', 'callSid'], undefined));
    rejects(parseTwilioEvent, mutate(E.start, ['start', 'mediaFormat', 'sampleRate'], '8000'));
    rejects(parseTwilioEvent, mutate(E.start, ['start', 'customParameters'], { n: 1 }));
    rejects(parseTwilioEvent, mutate(E.start, ['start', 'tracks'], 'inbound'));
    rejects(parseTwilioEvent, mutate(E.media, ['media', 'payload'], 'not base64!'));
    rejects(parseTwilioEvent, mutate(E.media, ['media', 'payload'], 'AAA'));
    rejects(parseTwilioEvent, mutate(E.media, ['media'], undefined));
    rejects(parseTwilioEvent, mutate(E.dtmf, ['dtmf', 'digit'], '12'));
    rejects(parseTwilioEvent, mutate(E.mark, ['mark', 'name'], 7));
    rejects(parseTwilioEvent, mutate(E.stop, ['stop'], null));
    rejects(parseTwilioCommand, mutate(C.media, ['media', 'payload'], 'a3242sa...'));
    rejects(parseTwilioCommand, mutate(C.mark, ['streamSid'], undefined));
    rejects(parseTwilioCommand, { event: 'start' }, 'CONTROL_INVALID');
  });

  it('oversized payloads are FRAME_TOO_LARGE', () => {
    rejects(parseTwilioEvent, mutate(E.media, ['media', 'payload'], hugeB64()), 'FRAME_TOO_LARGE');
    rejects(parseTwilioCommand, mutate(C.media, ['media', 'payload'], hugeB64()), 'FRAME_TOO_LARGE');
  });
});

describe('TwiML', () => {
  it('reproduces the documented <Connect><Stream> with a <Parameter>', () => {
    expect(buildTwimlConnectStream(TWILIO_TWIML.url, TWILIO_TWIML.parameters)).toBe(TWILIO_TWIML.xml);
  });

  it('escapes attribute values, and refuses what XML cannot carry', () => {
    const xml = buildTwimlConnectStream('wss://h/s?a=1&b="2"', { 'x<y': "it's\n>" });
    expect(xml).toContain('url="wss://h/s?a=1&amp;b=&quot;2&quot;"');
    expect(xml).toContain('name="x&lt;y" value="it&apos;s&#10;&gt;"');
    expect(() => buildTwimlConnectStream('wss://h/s', { a: 'bell\u0007' })).toThrow(RangeError);
    expect(buildTwimlConnectStream('wss://h/s')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://h/s"/></Connect></Response>',
    );
  });
});

describe('X-Twilio-Signature', () => {
  it("matches the vectors published with Twilio's SDKs and docs", () => {
    expect(twilioSignature(S.authToken, S.url, S.params)).toBe(S.signature);
    expect(twilioSignature(S.authToken, S.url, S.docsParams)).toBe(S.docsSignature);
    expect(twilioSignature(S.authToken, S.url, new URLSearchParams(S.duplicateBody))).toBe(S.duplicateSignature);
    expect(verifyTwilioSignature(S.authToken, S.signature, S.url, S.params)).toBe(true);
    expect(verifyTwilioSignature(S.authToken, S.signature, S.url, new URLSearchParams(S.params))).toBe(true);
  });

  it('agrees with the documented recipe computed independently', () => {
    const params = { b: '2', a: 'x y', B: '+1' };
    const data = 'https://gw.example.com/v1/edges/twilio/answer?x=1' + 'B+1' + 'ax y' + 'b2';
    const expected = createHmac('sha1', 'tok').update(data).digest('base64');
    expect(verifyTwilioSignature('tok', expected, 'https://gw.example.com/v1/edges/twilio/answer?x=1', params)).toBe(true);
  });

  it('accepts the URL with the default port added or removed (SDK vectors)', () => {
    expect(verifyTwilioSignature(S.authToken, S.withHttpsPort, S.url, S.params)).toBe(true);
    expect(verifyTwilioSignature(S.authToken, S.withHttpPort, S.url.replace('https', 'http'), S.params)).toBe(true);
    expect(verifyTwilioSignature(S.authToken, S.signature, 'https://mycompany.com:1234/myapp.php?foo=1&bar=2', S.params)).toBe(true);
  });

  it('rejects tampered URL, params, token or signature', () => {
    const bad = (token: string, sig: string | undefined, url: string, params: Record<string, string>): void =>
      expect(verifyTwilioSignature(token, sig, url, params)).toBe(false);
    bad(S.authToken, S.signature, `${S.url}&extra=1`, S.params);
    bad(S.authToken, S.signature, S.url.replace('foo=1', 'foo=2'), S.params);
    bad(S.authToken, S.signature, S.url.replace('https', 'http'), S.params);
    bad(S.authToken, S.signature, S.url, { ...S.params, Digits: '9999' });
    bad(S.authToken, S.signature, S.url, { ...S.params, Extra: '' });
    bad('54321', S.signature, S.url, S.params);
    bad(S.authToken, S.signature.slice(0, -1), S.url, S.params);
    bad(S.authToken, undefined, S.url, S.params);
    bad(S.authToken, '', S.url, S.params);
    bad('', S.signature, S.url, S.params);
  });
});
