import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  buildVonageClear,
  buildVonageCleared,
  buildVonageConnected,
  buildVonageDtmf,
  buildVonageNcco,
  buildVonageNotify,
  buildVonageNotifyEcho,
  parseVonageCommand,
  parseVonageEvent,
  verifyVonageSignedWebhook,
  vonageFrameBytes,
  vonageRate,
} from '../../../gateway/src/platforms/vonage.js';
import { VONAGE_COMMANDS as C, VONAGE_EVENTS as E, VONAGE_NCCO } from '../../fixtures/platforms/vonage.js';
import { GARBAGE, mutate, ok, rejects, sameJson } from './helpers.js';

describe('Vonage messages', () => {
  it('every golden parses back to itself', () => {
    for (const g of Object.values(E)) sameJson(ok(parseVonageEvent(structuredClone(g))), g);
    for (const g of Object.values(C)) sameJson(ok(parseVonageCommand(structuredClone(g))), g);
    expect(ok(parseVonageEvent({ event: 'websocket:dtmf', dtmf: { digit: '#', duration: 100 } }))).toEqual({
      event: 'websocket:dtmf',
      digit: '#',
      duration: 100,
    });
  });

  it('builders reproduce the goldens byte for byte', () => {
    sameJson(buildVonageConnected(16000, { prop1: 'value1', prop2: 'value2' }), E.connected);
    sameJson(buildVonageDtmf('5', 260), E.dtmf);
    sameJson(buildVonageCleared(), E.cleared);
    sameJson(buildVonageNotifyEcho({ id: 'x' }), E.notify);
    sameJson(buildVonageClear(), C.clear);
    sameJson(buildVonageNotify({ id: 'x' }), C.notify);
    sameJson(buildVonageNcco('wss://example.com/socket', 16000, { prop1: 'value1', prop2: 'value2' }), VONAGE_NCCO);
  });

  it('frame sizes and rates', () => {
    expect([8000, 16000, 24000].map((r) => vonageFrameBytes(r as 8000))).toEqual([320, 640, 960]);
    expect(vonageRate('audio/l16;rate=24000')).toBe(24000);
    expect(vonageRate('audio/l16;rate=44100')).toBeNull();
  });

  it('malformed messages give typed errors, never throw', () => {
    for (const g of GARBAGE) {
      rejects(parseVonageEvent, g);
      rejects(parseVonageCommand, g);
    }
    rejects(parseVonageEvent, mutate(E.connected, ['content-type'], 'audio/pcmu'));
    rejects(parseVonageEvent, mutate(E.connected, ['content-type'], undefined));
    rejects(parseVonageEvent, mutate(E.dtmf, ['digit'], 5));
    rejects(parseVonageEvent, mutate(E.dtmf, ['duration'], '260'));
    rejects(parseVonageEvent, mutate(E.notify, ['payload'], 'x'));
    rejects(parseVonageCommand, mutate(C.notify, ['payload'], [1]));
  });
});

describe('Vonage signed webhooks', () => {
  // No published vector: tokens are signed here with jose (HS256, the documented algorithm).
  const secret = 'signature-secret-of-at-least-32-bytes!!';
  const body = '{"from":"447700900000","to":"447700900001","uuid":"aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}';
  const sha = createHash('sha256').update(body).digest('hex');
  const token = (claims: Record<string, unknown>, key = secret, iat?: number): Promise<string> => {
    const j = new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' });
    return (iat === undefined ? j.setIssuedAt() : j.setIssuedAt(iat)).sign(new TextEncoder().encode(key));
  };

  it('accepts a valid token whose payload_hash matches the body', async () => {
    const r = await verifyVonageSignedWebhook(`Bearer ${await token({ api_key: 'abc', payload_hash: sha })}`, secret, body);
    expect(r.ok).toBe(true);
  });

  it('rejects a tampered body, wrong secret, old token, alg none or a missing header', async () => {
    const good = await token({ api_key: 'abc', payload_hash: sha });
    expect((await verifyVonageSignedWebhook(`Bearer ${good}`, secret, body.replace('0000', '0001'))).ok).toBe(false);
    expect((await verifyVonageSignedWebhook(`Bearer ${good}`, 'another-secret-of-at-least-32-bytes!!')).ok).toBe(false);
    expect(
      (
        await verifyVonageSignedWebhook(
          `Bearer ${await token({ payload_hash: sha }, secret, Math.floor(Date.now() / 1000) - 3600)}`,
          secret,
          body,
        )
      ).ok,
    ).toBe(false);
    const [h, p] = good.split('.') as [string, string];
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
    expect((await verifyVonageSignedWebhook(`Bearer ${none}`, secret, body)).ok).toBe(false);
    expect((await verifyVonageSignedWebhook(`Bearer ${h}.${p}.AAAA`, secret, body)).ok).toBe(false);
    expect((await verifyVonageSignedWebhook(undefined, secret, body)).ok).toBe(false);
    expect((await verifyVonageSignedWebhook(good, secret, body)).ok).toBe(false); // no "Bearer "
  });
});
