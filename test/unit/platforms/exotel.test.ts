import { describe, expect, it } from 'vitest';
import {
  EXOTEL_CHUNK,
  buildExotelClear,
  buildExotelConnected,
  buildExotelDtmf,
  buildExotelMarkEcho,
  buildExotelMedia,
  buildExotelSendMark,
  buildExotelSendMedia,
  buildExotelStart,
  buildExotelStop,
  buildExotelStreamUrlAnswer,
  parseExotelCommand,
  parseExotelEvent,
} from '../../../gateway/src/platforms/exotel.js';
import { EXOTEL_COMMANDS as C, EXOTEL_EVENTS as E, EXOTEL_START_NUMERIC, EXOTEL_URL_ANSWER } from '../../fixtures/platforms/exotel.js';
import { GARBAGE, hugeB64, mutate, ok, rejects, sameJson } from './helpers.js';

describe('Exotel messages', () => {
  it('every golden parses back to itself', () => {
    for (const g of Object.values(E)) sameJson(ok(parseExotelEvent(structuredClone(g))), g);
    for (const g of Object.values(C)) sameJson(ok(parseExotelCommand(structuredClone(g))), g);
  });

  it('accepts the other doc page (numbers as numbers), yielding strings', () => {
    const m = ok(parseExotelEvent(EXOTEL_START_NUMERIC));
    expect(m).toMatchObject({ event: 'start', sequence_number: '1', start: { media_format: { encoding: 'raw', sample_rate: '8000' } } });
    expect(ok(parseExotelEvent({ ...E.media, sequence_number: 3, media: { ...E.media.media, chunk: 2 } }))).toEqual(E.media);
  });

  it('builders reproduce the goldens byte for byte', () => {
    const s = E.start.start;
    sameJson(buildExotelConnected(), E.connected);
    sameJson(
      buildExotelStart({
        sequenceNumber: '1',
        streamSid: s.stream_sid,
        callSid: s.call_sid,
        accountSid: s.account_sid,
        from: s.from,
        to: s.to,
        customParameters: s.custom_parameters,
        sampleRate: '8000',
      }),
      E.start,
    );
    sameJson(
      buildExotelMedia({ sequenceNumber: '3', streamSid: s.stream_sid, chunk: '2', timestamp: '200', payload: 'AAAAAA==' }),
      E.media,
    );
    sameJson(buildExotelDtmf({ sequenceNumber: '7', streamSid: s.stream_sid, digit: '5', duration: '100' }), E.dtmf);
    sameJson(buildExotelMarkEcho({ sequenceNumber: '15', streamSid: s.stream_sid, name: 'my-label' }), E.mark);
    sameJson(
      buildExotelStop({
        sequenceNumber: '10',
        streamSid: s.stream_sid,
        callSid: s.call_sid,
        accountSid: s.account_sid,
        reason: 'callended',
      }),
      E.stop,
    );
    sameJson(buildExotelSendMedia(s.stream_sid, 'AAAAAA=='), C.media);
    sameJson(buildExotelSendMark(s.stream_sid, 'my-label'), C.mark);
    sameJson(buildExotelClear(s.stream_sid), C.clear);
    sameJson(buildExotelStreamUrlAnswer(EXOTEL_URL_ANSWER.url), EXOTEL_URL_ANSWER);
    expect(EXOTEL_CHUNK.minBytes % EXOTEL_CHUNK.multipleOf).toBe(0);
  });

  it('malformed messages give typed errors, never throw', () => {
    for (const g of GARBAGE) {
      rejects(parseExotelEvent, g);
      rejects(parseExotelCommand, g);
    }
    rejects(parseExotelEvent, mutate(E.start, ['start', 'call_sid'], undefined));
    rejects(parseExotelEvent, mutate(E.start, ['start', 'media_format', 'sample_rate'], 'fast'));
    rejects(parseExotelEvent, mutate(E.media, ['sequence_number'], -1));
    rejects(parseExotelEvent, mutate(E.media, ['media', 'payload'], 'AA==')); // one byte: half a slin sample
    rejects(parseExotelEvent, mutate(E.media, ['media', 'payload'], 'AAAA!A=='));
    rejects(parseExotelEvent, mutate(E.media, ['media', 'payload'], hugeB64()), 'FRAME_TOO_LARGE');
    rejects(parseExotelEvent, mutate(E.dtmf, ['dtmf', 'digit'], 'X'));
    rejects(parseExotelCommand, mutate(C.media, ['stream_sid'], undefined));
    rejects(parseExotelCommand, mutate(C.media, ['media', 'payload'], 'AAA=AAA='));
  });
});
