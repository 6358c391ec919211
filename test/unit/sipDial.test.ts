import { describe, expect, it } from 'vitest';
import { parseSipDial } from '../../gateway/src/edge/sip/dialOut.js';
import { RoutingTable } from '../../gateway/src/routing.js';

describe('parseSipDial (POST /v1/calls with "sip")', () => {
  const routing = new RoutingTable({});
  const dial = (sip: unknown) => () => parseSipDial({ sip }, routing, 'gw.example');

  it('reads the callee, the caller and their numbers', () => {
    const d = parseSipDial({ sip: { uri: 'sip:+14155550100@carrier:5060', from: 'sip:+14155550199@gw.example' } }, routing, 'gw.example');
    expect(d).toMatchObject({
      uri: 'sip:+14155550100@carrier:5060',
      from: 'sip:+14155550199@gw.example',
      toNumber: '+14155550100',
      fromNumber: '+14155550199',
    });
    expect(parseSipDial({ sip: { uri: 'sip:bob@carrier' } }, routing, 'gw.example')).toMatchObject({
      from: 'sip:gateway@gw.example',
      toNumber: '',
    });
  });

  it('refuses a malformed callee or caller URI as BAD_REQUEST naming the field (never a 500)', () => {
    for (const [sip, field] of [
      [{ uri: 'tel:+1415' }, 'sip.uri'],
      [{ uri: 'sip:' }, 'sip.uri'],
      [{ uri: 'sip:a@b', from: 'mailto:x' }, 'sip.from'],
      [{ uri: 'sip:a@b', from: 'sip:' }, 'sip.from'],
    ] as const)
      expect(dial(sip)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringMatching(new RegExp(`^${field}:`)) as string }) as Error,
      );
  });
});
