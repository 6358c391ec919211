import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildPlivoCheckpoint,
  buildPlivoClearAudio,
  buildPlivoClearedAudio,
  buildPlivoDtmf,
  buildPlivoMedia,
  buildPlivoPlayAudio,
  buildPlivoPlayedStream,
  buildPlivoSendDtmf,
  buildPlivoStart,
  buildPlivoStreamXml,
  buildVobizStop,
  parsePlivoCommand,
  parsePlivoEvent,
  plivoSignatureV3,
  verifyPlivoSignatureV3,
} from '../../../gateway/src/platforms/plivo.js';
import { PLIVO_COMMANDS as C, PLIVO_EVENTS as E, PLIVO_XML, VOBIZ_COMMANDS, VOBIZ_EVENTS } from '../../fixtures/platforms/plivo.js';
import { GARBAGE, hugeB64, mutate, ok, rejects, sameJson } from './helpers.js';

describe('Plivo / Vobiz messages', () => {
  it('every golden parses back to itself', () => {
    for (const g of [...Object.values(E), VOBIZ_EVENTS.start, VOBIZ_EVENTS.playedStream])
      sameJson(ok(parsePlivoEvent(structuredClone(g))), g);
    for (const g of [...Object.values(C), ...Object.values(VOBIZ_COMMANDS)]) sameJson(ok(parsePlivoCommand(structuredClone(g))), g);
    // Vobiz's clearedAudio puts sequenceNumber first; it parses to the canonical order
    sameJson(ok(parsePlivoEvent(VOBIZ_EVENTS.clearedAudio)), {
      event: 'clearedAudio',
      sequenceNumber: 0,
      streamId: VOBIZ_EVENTS.clearedAudio.streamId,
    });
  });

  it('accepts the "played" ack name of the support article as playedStream', () => {
    expect(ok(parsePlivoEvent({ event: 'played', streamId: 's', name: 'n' }))).toEqual({ event: 'playedStream', streamId: 's', name: 'n' });
  });

  it('builders reproduce the goldens byte for byte', () => {
    const s = E.start.start;
    sameJson(
      buildPlivoStart({
        sequenceNumber: 1,
        callId: s.callId,
        streamId: s.streamId,
        accountId: s.accountId,
        tracks: ['inbound'],
        encoding: 'audio/x-mulaw',
        sampleRate: 8000,
        extraHeaders: E.start.extra_headers,
      }),
      E.start,
    );
    sameJson(
      buildPlivoMedia({
        sequenceNumber: 3,
        streamId: s.streamId,
        track: 'inbound',
        timestamp: '1651648418431',
        chunk: 2,
        payload: 'fn5+fn5+',
      }),
      E.media,
    );
    sameJson(buildPlivoDtmf({ sequenceNumber: 9, streamId: s.streamId, digit: '5' }), E.dtmf);
    sameJson(buildPlivoPlayedStream({ sequenceNumber: 12, streamId: s.streamId, name: 'response-3' }), E.playedStream);
    sameJson(buildPlivoPlayedStream({ name: 'response-3' }), VOBIZ_EVENTS.playedStream);
    sameJson(buildPlivoClearedAudio({ sequenceNumber: 13, streamId: s.streamId }), E.clearedAudio);
    sameJson(buildPlivoPlayAudio({ contentType: 'audio/x-l16', sampleRate: 8000, payload: 'AAAAAA==' }), C.playAudio);
    sameJson(buildPlivoPlayAudio({ contentType: 'audio/x-mulaw', sampleRate: 8000, payload: 'fn5+fn5+' }), C.playAudioMulaw);
    sameJson(buildPlivoCheckpoint(s.streamId, 'response-3'), C.checkpoint);
    sameJson(buildPlivoClearAudio(s.streamId), C.clearAudio);
    sameJson(buildPlivoSendDtmf('123'), C.sendDTMF);
    sameJson(buildVobizStop(s.streamId), VOBIZ_COMMANDS.stop);
  });

  it('malformed messages give typed errors, never throw', () => {
    for (const g of GARBAGE) {
      rejects(parsePlivoEvent, g);
      rejects(parsePlivoCommand, g);
    }
    rejects(parsePlivoEvent, mutate(E.start, ['sequenceNumber'], '1'));
    rejects(parsePlivoEvent, mutate(E.start, ['start', 'accountId'], null));
    rejects(parsePlivoEvent, mutate(E.start, ['start', 'mediaFormat'], undefined));
    rejects(parsePlivoEvent, mutate(E.media, ['media', 'chunk'], '2'));
    rejects(parsePlivoEvent, mutate(E.media, ['media', 'payload'], '%%%%'));
    rejects(parsePlivoEvent, mutate(E.media, ['media', 'payload'], hugeB64()), 'FRAME_TOO_LARGE');
    rejects(parsePlivoEvent, mutate(E.dtmf, ['dtmf', 'digit'], 5));
    rejects(parsePlivoEvent, mutate(E.playedStream, ['name'], undefined));
    rejects(parsePlivoCommand, mutate(C.playAudio, ['media', 'contentType'], 'audio/wav'));
    rejects(parsePlivoCommand, mutate(C.playAudioMulaw, ['media', 'sampleRate'], 16000)); // µ-law is 8 kHz only
    rejects(parsePlivoCommand, mutate(C.playAudio, ['media', 'sampleRate'], 24000));
    rejects(parsePlivoCommand, mutate(C.playAudio, ['media', 'payload'], 'AA==')); // 1 byte: half an L16 sample
    rejects(parsePlivoCommand, mutate(C.playAudio, ['media', 'payload'], hugeB64()), 'FRAME_TOO_LARGE');
    rejects(parsePlivoCommand, mutate(C.checkpoint, ['name'], undefined));
    rejects(parsePlivoCommand, mutate(C.sendDTMF, ['dtmf'], '12x'));
  });
});

describe('Plivo XML', () => {
  it('reproduces the documented <Stream> for µ-law 8 kHz and L16 16 kHz', () => {
    expect(buildPlivoStreamXml(PLIVO_XML.url, 'audio/x-mulaw;rate=8000')).toBe(PLIVO_XML.mulaw);
    expect(buildPlivoStreamXml(PLIVO_XML.url, 'audio/x-l16;rate=16000', { route: 'sales', tier: '2' })).toBe(PLIVO_XML.l16);
  });

  it('escapes the URL text and refuses headers Plivo would reject', () => {
    expect(buildPlivoStreamXml('wss://h/s?a=1&b=<2>', 'audio/x-mulaw;rate=8000')).toContain('>wss://h/s?a=1&amp;b=&lt;2&gt;</Stream>');
    expect(() => buildPlivoStreamXml(PLIVO_XML.url, 'audio/x-mulaw;rate=8000', { 'x-y': '1' })).toThrow(RangeError);
    expect(() => buildPlivoStreamXml(PLIVO_XML.url, 'audio/x-mulaw;rate=8000', { a: 'b c' })).toThrow(RangeError);
    expect(() => buildPlivoStreamXml(PLIVO_XML.url, 'audio/x-mulaw;rate=8000', { a: 'x'.repeat(600) })).toThrow(RangeError);
  });
});

describe('X-Plivo-Signature-V3', () => {
  // No published vector: the expected values are computed here with node:crypto from the
  // recipe (plivo-python utils/signature_v3.py), written out by hand.
  const token = 'MAXXXXXXXXXXXXXXXXXX-token';
  const nonce = '05429567804466091622';
  const hmac = (s: string): string => createHmac('sha256', token).update(s).digest('base64');

  it('POST with form parameters and no query: url?params.nonce', () => {
    const params = new URLSearchParams('To=%2B14155551212&From=%2B14155550000&CallUUID=abc&Digits=5&Digits=1');
    const expected = hmac('https://gw.example.com/v1/edges/plivo/answer?CallUUIDabcDigits1Digits5From+14155550000To+14155551212.' + nonce);
    expect(plivoSignatureV3(token, 'POST', 'https://gw.example.com/v1/edges/plivo/answer', nonce, params)).toBe(expected);
    expect(verifyPlivoSignatureV3(token, expected, nonce, 'POST', 'https://gw.example.com/v1/edges/plivo/answer', params)).toBe(true);
  });

  it('POST with a query string: url?sorted-query.params.nonce', () => {
    const params = new URLSearchParams('CallUUID=abc');
    const url = 'https://gw.example.com/answer?z=1&a=b%20c';
    const expected = hmac('https://gw.example.com/answer?a=b c&z=1.CallUUIDabc.' + nonce);
    expect(verifyPlivoSignatureV3(token, expected, nonce, 'POST', url, params)).toBe(true);
  });

  it('GET and bodiless POST: url[?sorted-query].nonce', () => {
    expect(
      verifyPlivoSignatureV3(token, hmac('https://gw.example.com/answer.' + nonce), nonce, 'POST', 'https://gw.example.com/answer'),
    ).toBe(true);
    expect(
      verifyPlivoSignatureV3(
        token,
        hmac('https://gw.example.com/answer?a=1&b=2.' + nonce),
        nonce,
        'GET',
        'https://gw.example.com/answer?b=2&a=1',
      ),
    ).toBe(true);
  });

  it('accepts any of several comma-separated signatures', () => {
    const good = hmac('https://gw.example.com/answer.' + nonce);
    expect(verifyPlivoSignatureV3(token, `c29tZXRoaW5nIGVsc2U=,${good}`, nonce, 'POST', 'https://gw.example.com/answer')).toBe(true);
  });

  it('rejects tampered URL, params, nonce, token or signature', () => {
    const params = new URLSearchParams('CallUUID=abc&To=1');
    const url = 'https://gw.example.com/answer';
    const sig = plivoSignatureV3(token, 'POST', url, nonce, params)!;
    expect(verifyPlivoSignatureV3(token, sig, nonce, 'POST', url, params)).toBe(true);
    expect(verifyPlivoSignatureV3(token, sig, nonce, 'POST', `${url}?x=1`, params)).toBe(false);
    expect(verifyPlivoSignatureV3(token, sig, nonce, 'POST', 'http://gw.example.com/answer', params)).toBe(false);
    expect(verifyPlivoSignatureV3(token, sig, nonce, 'POST', url, new URLSearchParams('CallUUID=abc&To=2'))).toBe(false);
    expect(verifyPlivoSignatureV3(token, sig, nonce, 'POST', url, new URLSearchParams('CallUUID=abc'))).toBe(false);
    expect(verifyPlivoSignatureV3(token, sig, '1' + nonce, 'POST', url, params)).toBe(false);
    expect(verifyPlivoSignatureV3('other', sig, nonce, 'POST', url, params)).toBe(false);
    expect(verifyPlivoSignatureV3(token, undefined, nonce, 'POST', url, params)).toBe(false);
    expect(verifyPlivoSignatureV3(token, sig, undefined, 'POST', url, params)).toBe(false);
    expect(verifyPlivoSignatureV3(token, sig, nonce, 'POST', 'not a url', params)).toBe(false);
  });
});
