import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildTelnyxClear,
  buildTelnyxConnected,
  buildTelnyxDtmf,
  buildTelnyxMarkEcho,
  buildTelnyxMedia,
  buildTelnyxSendMark,
  buildTelnyxSendMedia,
  buildTelnyxStart,
  buildTelnyxStop,
  buildTexmlConnectStream,
  parseTelnyxCommand,
  parseTelnyxEvent,
  verifyTelnyxSignature,
} from '../../../gateway/src/platforms/telnyx.js';
import { TELNYX_COMMANDS as C, TELNYX_EVENTS as E, TELNYX_TEXML } from '../../fixtures/platforms/telnyx.js';
import { GARBAGE, hugeB64, mutate, ok, rejects, sameJson } from './helpers.js';

describe('Telnyx messages', () => {
  it('every golden parses back to itself', () => {
    for (const g of Object.values(E)) sameJson(ok(parseTelnyxEvent(structuredClone(g))), g);
    for (const g of Object.values(C)) sameJson(ok(parseTelnyxCommand(structuredClone(g))), g);
  });

  it('start: optional fields absent or null are left out, custom_parameters kept', () => {
    const minimal = {
      event: 'start',
      sequence_number: '1',
      start: { call_control_id: 'v2:x', client_state: null, media_format: E.start.start.media_format },
      stream_id: 's',
    };
    sameJson(ok(parseTelnyxEvent(minimal)), { ...minimal, start: { call_control_id: 'v2:x', media_format: E.start.start.media_format } });
    const custom = mutate(E.start, ['start', 'custom_parameters'], { route: 'sales' });
    expect(ok(parseTelnyxEvent(custom))).toMatchObject({ start: { custom_parameters: { route: 'sales' } } });
  });

  it('builders reproduce the goldens byte for byte', () => {
    sameJson(buildTelnyxConnected(), E.connected);
    sameJson(buildTelnyxStart({ sequenceNumber: '1', start: E.start.start, streamId: E.start.stream_id }), E.start);
    sameJson(
      buildTelnyxMedia({
        sequenceNumber: '4',
        track: 'inbound',
        chunk: '2',
        timestamp: '5',
        payload: E.media.media.payload,
        streamId: E.media.stream_id,
      }),
      E.media,
    );
    sameJson(buildTelnyxDtmf({ streamId: E.dtmf.stream_id, occurredAt: E.dtmf.occurred_at, sequenceNumber: '5', digit: '1' }), E.dtmf);
    sameJson(buildTelnyxMarkEcho({ streamId: E.mark.stream_id, sequenceNumber: '6', name: 'my label' }), E.mark);
    sameJson(
      buildTelnyxStop({
        sequenceNumber: '7',
        userId: E.stop.stop.user_id,
        callControlId: E.stop.stop.call_control_id,
        streamId: E.stop.stream_id,
      }),
      E.stop,
    );
    sameJson(buildTelnyxSendMedia(C.media.media.payload), C.media);
    sameJson(buildTelnyxSendMark('my label'), C.mark);
    sameJson(buildTelnyxClear(), C.clear);
  });

  it('malformed messages give typed errors, never throw', () => {
    for (const g of GARBAGE) {
      rejects(parseTelnyxEvent, g);
      rejects(parseTelnyxCommand, g);
    }
    rejects(parseTelnyxEvent, mutate(E.start, ['stream_id'], undefined)); // stream_id is top-level, not in start
    rejects(parseTelnyxEvent, mutate(E.start, ['start', 'call_control_id'], undefined));
    rejects(parseTelnyxEvent, mutate(E.start, ['start', 'media_format', 'sample_rate'], '8000'));
    rejects(parseTelnyxEvent, mutate(E.start, ['start', 'tags'], [1]));
    rejects(parseTelnyxEvent, mutate(E.media, ['sequence_number'], 4));
    rejects(parseTelnyxEvent, mutate(E.media, ['media', 'payload'], 'no+J hoa'));
    rejects(parseTelnyxEvent, mutate(E.media, ['media', 'payload'], hugeB64()), 'FRAME_TOO_LARGE');
    rejects(parseTelnyxEvent, mutate(E.dtmf, ['occurred_at'], undefined));
    rejects(parseTelnyxEvent, mutate(E.error, ['payload', 'code'], '100003'));
    rejects(parseTelnyxCommand, mutate(C.media, ['media', 'payload'], 'a3242sa...'));
    rejects(parseTelnyxCommand, mutate(C.mark, ['mark'], 'x'));
  });
});

describe('TeXML', () => {
  it('reproduces a bidirectional RTP <Connect><Stream>', () => {
    expect(buildTexmlConnectStream(TELNYX_TEXML.url)).toBe(TELNYX_TEXML.pcmu);
    expect(buildTexmlConnectStream('wss://h/s?a=1&b=2', 'L16')).toContain(
      'url="wss://h/s?a=1&amp;b=2" bidirectionalMode="rtp" bidirectionalCodec="L16" bidirectionalSamplingRate="16000"',
    );
  });
});

describe('telnyx-signature-ed25519', () => {
  // No published vector: a key pair is made here and the documented recipe
  // (Ed25519 over `${timestamp}|${raw body}`) applied with node:crypto.
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const rawPub = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(-32).toString('base64');
  const body = '{"data":{"event_type":"call.initiated","payload":{"call_control_id":"v2:x"}}}';
  const ts = '1700000000';
  const now = 1700000010;
  const sig = sign(null, Buffer.from(`${ts}|${body}`), privateKey).toString('base64');

  it('accepts a good signature (string or bytes body)', () => {
    expect(verifyTelnyxSignature(rawPub, sig, ts, body, now)).toBe(true);
    expect(verifyTelnyxSignature(rawPub, sig, ts, Buffer.from(body), now)).toBe(true);
  });

  it('rejects a tampered body, timestamp or signature, a stale timestamp and a wrong key', () => {
    expect(verifyTelnyxSignature(rawPub, sig, ts, body.replace('x', 'y'), now)).toBe(false);
    expect(verifyTelnyxSignature(rawPub, sig, '1700000001', body, now)).toBe(false);
    expect(verifyTelnyxSignature(rawPub, sig, ts, body, now + 301)).toBe(false);
    expect(verifyTelnyxSignature(rawPub, sig, ts, body, Number(ts) - 301)).toBe(false);
    expect(verifyTelnyxSignature(rawPub, sig, 'abc', body, now)).toBe(false);
    expect(verifyTelnyxSignature(rawPub, undefined, ts, body, now)).toBe(false);
    expect(verifyTelnyxSignature(rawPub, sig.slice(4), ts, body, now)).toBe(false);
    const flipped = Buffer.from(sig, 'base64');
    flipped[10] = flipped[10]! ^ 1;
    expect(verifyTelnyxSignature(rawPub, flipped.toString('base64'), ts, body, now)).toBe(false);
    const other = (generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
      .subarray(-32)
      .toString('base64');
    expect(verifyTelnyxSignature(other, sig, ts, body, now)).toBe(false);
    expect(verifyTelnyxSignature('c2hvcnQ=', sig, ts, body, now)).toBe(false);
  });
});
