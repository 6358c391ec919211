import { describe, expect, it } from 'vitest';
import { parseCallRequest } from '../../gateway/src/call/callRequest.js';
import { RoutingTable } from '../../gateway/src/routing.js';

/** A start request's payload type: the codec's own, never one the gateway gives another meaning. */
describe('parseCallRequest payloadType', () => {
  const routing = new RoutingTable({});
  const start = (payloadType?: unknown) =>
    parseCallRequest(
      { codec: 'PCMU', route: { agent: { url: 'builtin:echo' } }, ...(payloadType === undefined ? {} : { payloadType }) },
      routing,
    );

  it('defaults to the codec’s static type and takes another valid one', () => {
    expect(start().payloadType).toBe(0);
    expect(start(96).payloadType).toBe(96);
  });

  it('refuses telephone-event’s (101) and comfort noise’s (13, RFC 3389), naming the field', () => {
    for (const pt of [101, 13, 128, -1, 1.5, '0'])
      expect(() => start(pt)).toThrow(/payloadType: .*101 \(telephone-event\) and 13 \(comfort noise\)/);
  });
});
