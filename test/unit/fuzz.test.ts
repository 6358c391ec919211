import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodecError, createRtpPacket, parseRtp, rtpSize, tryParseRtp, writeRtp } from '../../codecs/src/index.js';
import type { AgentCommands } from '../../gateway/src/agent/Agent.js';
import type { AgentSocket } from '../../gateway/src/agent/AgentSocket.js';
import { DIALECT_FACTORIES } from '../../gateway/src/agent/dialects/index.js';
import { DIALECTS, parseRoute } from '../../gateway/src/route.js';
import { GatewayError } from '../../gateway/src/errors.js';
import { serviceSetup } from '../fixtures/services.js';

/**
 * Property-based fuzzing of every parser that reads bytes or JSON from outside: RTP, routes, and
 * each agent dialect's control messages. The property: bad input is refused with a typed error or
 * answered as `invalid`, never a throw, and good input survives a round trip.
 */

const RUNS = { numRuns: 2000 };

describe('RTP parser under fuzzing (RFC 3550 §5.1)', () => {
  it('never throws on arbitrary bytes; what it accepts lies within the buffer', () => {
    const p = createRtpPacket();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (buf) => {
        const err = tryParseRtp(buf, p);
        if (err !== null) return typeof err === 'string';
        expect(buf[0]! >> 6).toBe(2);
        expect(p.payload.byteOffset + p.payload.byteLength).toBeLessThanOrEqual(buf.byteOffset + buf.byteLength);
        expect(p.payload.byteOffset).toBeGreaterThanOrEqual(buf.byteOffset + 12);
        return true;
      }),
      RUNS,
    );
  });

  it('rejects mutations of valid packets with a stable code, or parses them consistently', () => {
    const p = createRtpPacket();
    const valid = fc.record({
      marker: fc.boolean(),
      payloadType: fc.integer({ min: 0, max: 127 }),
      sequenceNumber: fc.integer({ min: 0, max: 0xffff }),
      timestamp: fc.integer({ min: 0, max: 0xffffffff }),
      ssrc: fc.integer({ min: 0, max: 0xffffffff }),
      payload: fc.uint8Array({ maxLength: 200 }),
    });
    fc.assert(
      fc.property(valid, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat(), (h, flips, cut) => {
        const buf = new Uint8Array(rtpSize(h, h.payload.length));
        writeRtp(buf, 0, h, h.payload);
        expect(parseRtp(buf).sequenceNumber).toBe(h.sequenceNumber);
        for (const [at, v] of flips) buf[at % buf.length] = v;
        const view = buf.subarray(0, buf.length - (cut % 4 === 0 ? cut % buf.length : 0));
        try {
          parseRtp(view);
        } catch (e) {
          expect(e).toBeInstanceOf(CodecError);
          expect((e as CodecError).code).toMatch(/^RTP_/);
        }
        // the non-throwing form agrees with the throwing one
        expect(tryParseRtp(view, p) === null).toBe(
          (() => {
            try {
              parseRtp(view);
              return true;
            } catch {
              return false;
            }
          })(),
        );
      }),
      RUNS,
    );
  });
});

describe('route validation under fuzzing', () => {
  it('accepts or refuses any JSON value with CONFIG_INVALID naming a field, never anything else', () => {
    const near = fc.record(
      {
        agent: fc.oneof(
          fc.anything(),
          fc.record(
            {
              url: fc.oneof(fc.string(), fc.constantFrom('ws://a', 'wss://b/x', 'builtin:echo', 'dial-in', 'http://x')),
              dialect: fc.oneof(fc.string(), fc.constantFrom(...DIALECTS)),
              retries: fc.anything(),
            },
            { requiredKeys: [] },
          ),
        ),
        sampleRate: fc.oneof(fc.anything(), fc.constantFrom(8000, 16000, 24000, 48000)),
        bargeIn: fc.oneof(fc.anything(), fc.record({ vadThreshold: fc.double(), minSpeechMs: fc.integer() }, { requiredKeys: [] })),
        fallback: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.anything(), near), (v) => {
        try {
          parseRoute(v);
        } catch (e) {
          expect(e).toBeInstanceOf(GatewayError);
          expect((e as GatewayError).code).toBe('CONFIG_INVALID');
          expect((e as GatewayError).message).toMatch(/^route/);
        }
      }),
      RUNS,
    );
  });
});

describe.each(DIALECTS)('%s agent control messages under fuzzing', (dialect) => {
  it('turns any message into commands or an `invalid` answer, never a throw', () => {
    const route = parseRoute({ agent: { url: 'ws://agent', dialect, ...serviceSetup(dialect).agent } });
    const session = DIALECT_FACTORIES[dialect](route);
    const sock: AgentSocket = { sendText: () => {}, sendBinary: () => {}, bufferedAmount: () => 0, close: () => {} };
    session.start(sock, {
      callId: '6f1c2a4e-0000-4000-8000-000000000000',
      from: '+14155550123',
      to: '+14155550100',
      params: {},
      sampleRate: route.sampleRate,
    });
    let invalid = 0;
    let commands = 0;
    const cmds: AgentCommands = {
      audio: () => {
        commands++;
      },
      mark: () => {
        commands++;
      },
      clear: () => {
        commands++;
      },
      hangup: () => {
        commands++;
      },
      dtmf: () => {
        commands++;
      },
      transfer: () => {
        commands++;
      },
      gone: () => {
        commands++;
      },
      heardMs: () => 0,
      invalid: (code) => {
        expect(typeof code).toBe('string');
        invalid++;
      },
    };
    const events = [
      'media',
      'mark',
      'clear',
      'stop',
      'playAudio',
      'checkpoint',
      'clearAudio',
      'notify',
      'killAudio',
      'disconnect',
      'sendDTMF',
      'dtmf',
      'hangup',
    ];
    const message = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .record(
          {
            event: fc.constantFrom(...events),
            type: fc.constantFrom(...events),
            action: fc.constantFrom(...events),
            media: fc.anything(),
            mark: fc.anything(),
            data: fc.anything(),
            name: fc.anything(),
          },
          { requiredKeys: [] },
        )
        .map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(message, (text) => {
        session.message(sock, new TextEncoder().encode(text), false, cmds);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        session.message(sock, bytes, true, cmds);
      }),
      { numRuns: 300 },
    );
    // broken JSON was answered, not ignored
    expect(invalid).toBeGreaterThan(0);
    expect(invalid + commands).toBeGreaterThan(0);
  });
});
