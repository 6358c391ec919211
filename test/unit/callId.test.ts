import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { callIdOfTwilioSid, twilioCallSid } from '../../gateway/src/agent/dialects/twilio.js';
import { instanceTag, instanceTagOf, newCallId } from '../../gateway/src/call/callId.js';
import { loadSettings, parsePeers } from '../../gateway/src/settings.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('instance-tagged call ids', () => {
  it('are RFC 4122 version-4 UUIDs whose last 12 hex digits name the instance', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }), (name) => {
        const id = newCallId(name);
        expect(id).toMatch(V4);
        expect(instanceTagOf(id)).toBe(instanceTag(name));
        expect(id.endsWith(instanceTag(name))).toBe(true);
      }),
    );
  });

  it('the tag is a stable 48-bit hash of the name (SHA-256 prefix), different for different names', () => {
    expect(instanceTag('gw1')).toBe(instanceTag('gw1'));
    expect(instanceTag('gw1')).toMatch(/^[0-9a-f]{12}$/);
    expect(instanceTag('gw1')).not.toBe(instanceTag('gw2'));
    // pinned: the same name must give the same tag in every release, or live calls are lost on upgrade
    expect(instanceTag('gw1')).toBe('548bde871843');
  });

  it('keep 74 random bits: 10 000 ids of one instance are all different', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newCallId('gw1')));
    expect(ids.size).toBe(10_000);
  });

  it('survive the Twilio CallSid round trip, so a CallSid also names its instance', () => {
    const id = newCallId('gw-eu-1');
    const sid = twilioCallSid(id);
    expect(sid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(callIdOfTwilioSid(sid)).toBe(id);
    expect(instanceTagOf(callIdOfTwilioSid('CA' + sid.slice(2).toUpperCase())!)).toBe(instanceTag('gw-eu-1'));
  });

  it('instanceTagOf: null for anything not UUID-shaped', () => {
    for (const bad of [
      '',
      'abc',
      '3f2b9c41-7d0e-4a5b-9c3e-5e1f0a7c2d9',
      '3f2b9c41-7d0e-4a5b-9c3e-5e1f0a7c2d945',
      'zf2b9c41-7d0e-4a5b-9c3e-5e1f0a7c2d94',
    ])
      expect(instanceTagOf(bad)).toBeNull();
    expect(instanceTagOf('3F2B9C41-7D0E-4A5B-9C3E-5E1F0A7C2D94')).toBe('5e1f0a7c2d94');
  });
});

describe('GATEWAY_INSTANCE and GATEWAY_PEERS', () => {
  it('parse name=url lists (spaces, trailing slashes and empty entries tolerated)', () => {
    expect(parsePeers(' gw1=http://10.0.0.1:8080/ , gw2=https://gw2.internal:8443,, ')).toEqual([
      { name: 'gw1', url: 'http://10.0.0.1:8080' },
      { name: 'gw2', url: 'https://gw2.internal:8443' },
    ]);
    expect(parsePeers('')).toEqual([]);
  });

  it('refuse malformed entries and names listed twice, naming the variable', () => {
    for (const bad of ['gw1', '=http://x:1', 'gw1=ftp://x', 'gw1=10.0.0.1:8080', 'gw1=http://a:1,gw1=http://b:2'])
      expect(() => parsePeers(bad), bad).toThrow(/GATEWAY_PEERS/);
  });

  it('default the instance name to hostname:PORT', () => {
    expect(loadSettings({ GATEWAY_INSTANCE: 'gw-a', SIP_PORT: 'off' }).instance).toBe('gw-a');
    expect(loadSettings({ PORT: '9090', SIP_PORT: 'off' }).instance).toMatch(/:9090$/);
    expect(loadSettings({ SIP_PORT: 'off', GATEWAY_PEERS: 'a=http://127.0.0.1:1' }).peers).toEqual([
      { name: 'a', url: 'http://127.0.0.1:1' },
    ]);
  });
});
