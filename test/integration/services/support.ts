import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import type { AddressInfo } from 'node:net';
import { g711DecodeInto } from '../../../codecs/src/index.js';
import { sleep, type ReceivedPacket, type RtpCaller } from '../../../testkit/RtpCaller.js';
import type { StandIn, StandInSession } from '../../../testkit/services/StandIn.js';
import { energy, fixture, xcorrPeak } from '../../helpers/audio.js';
import { resampleAll, ulawRoundTrip, until } from '../../helpers/gateway.js';

/** What the AI-service tests share: the caller's speech, the agent's reply, and reading the edge. */

/** The fake key the gateway's environment holds (tests look for it in logs and requests). */
export const FAKE_KEY = 'sk-test-9f3b2c7e1d4a6b8c0e2f4a6b8c0d1e3f';

/** 3 s of a real speech fixture (8 kHz), the caller's words. */
export const SPEECH = fixture('caller-en-us-8k.wav').samples.subarray(0, 8000 * 3);

const replies = new Map<string, Int16Array>();

/** `seconds` of the agent's reply (a real speech fixture), at `rate`; made once (tests must not stall the loop mid-call). */
export async function reply(rate: number, seconds: number): Promise<Int16Array> {
  const key = `${rate}/${seconds}`;
  let pcm = replies.get(key);
  if (pcm === undefined) {
    const src = fixture('bargein/agent-1.wav').samples.subarray(0, 8000 * seconds);
    pcm =
      rate === 8000
        ? src.slice()
        : Int16Array.from((await resampleAll(src, 8000, rate)).pcm, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
    replies.set(key, pcm);
  }
  return pcm;
}

export function decodeUlaw(payload: Uint8Array): Int16Array {
  const pcm = new Int16Array(payload.length);
  g711DecodeInto('ulaw', payload, pcm);
  return pcm;
}

/**
 * The caller's audio as the service heard it, against what the caller said from `leadMs` into
 * the call: the normalised cross-correlation peak within 200 ms of that (the chain's delay), the
 * reference through the µ-law round trip the edge makes, resampled to the service's rate.
 */
export async function correlation(heard: Int16Array, rate: number, leadMs: number): Promise<number> {
  const ref = rate === 8000 ? ulawRoundTrip(SPEECH) : (await resampleAll(ulawRoundTrip(SPEECH), 8000, rate)).pcm;
  // 2 s of the middle of the utterance against what arrived.
  const a = ref.subarray(rate / 2, rate * 2.5);
  const lead = Math.round((rate * leadMs) / 1000);
  return xcorrPeak(a, heard.subarray(rate / 2), lead + rate / 5, Math.max(0, lead - rate / 50)).peak;
}

/** The caller's input: `lead` ms of silence, then `speech` (8 kHz), then silence up to `totalMs`. */
export function callerInput(leadMs: number, speech: Int16Array, totalMs: number): Int16Array {
  const out = new Int16Array((8 * totalMs) | 0);
  out.set(speech.subarray(0, Math.max(0, out.length - 8 * leadMs)), 8 * leadMs);
  return out;
}

/**
 * The pace `rx` (the audio packets of one utterance) came at: `mediaMs` by their RTP timestamps
 * (20 ms each), `spanMs` from the first arrival to the last's end. Played in real time, the span is
 * the media's length; a burst faster than real time would be a fraction of it.
 */
export function paceOf(rx: ReceivedPacket[]): { packets: number; mediaMs: number; spanMs: number } {
  if (rx.length === 0) return { packets: 0, mediaMs: 0, spanMs: 0 };
  const mediaMs = ((rx[rx.length - 1]!.ts - rx[0]!.ts) >>> 0) / 8 + 20;
  return { packets: rx.length, mediaMs, spanMs: rx[rx.length - 1]!.arrivalMs - rx[0]!.arrivalMs + 20 };
}

/**
 * The 20 ms grid and real-time pace: a packet per 20 ms of RTP time at most (none doubled; a
 * stall of the shared clock beyond 60 ms skips slots, PlayoutClock), arriving over about as long
 * as the media lasts: never in the fraction of it a faster-than-real-time burst would take.
 * Generous: a loaded machine moves arrivals by tens of ms, and a stall stretches both spans.
 */
export function expectRealTime(rx: ReceivedPacket[]): void {
  const pace = paceOf(rx);
  expect(pace.mediaMs).toBeGreaterThanOrEqual(pace.packets * 20);
  expect(pace.spanMs).toBeGreaterThanOrEqual(pace.mediaMs * 0.8);
  expect(pace.spanMs).toBeLessThanOrEqual(pace.mediaMs * 1.25 + 200);
}

/** Audio packets the caller received from the first to the last audible one (one utterance, its quiet gaps included). */
export function utterance(c: RtpCaller): ReceivedPacket[] {
  const rx = c.received.filter((p) => p.pt !== 101);
  const loud = (p: ReceivedPacket) => energy(decodeUlaw(p.payload)) > 100 * 160;
  const first = rx.findIndex(loud);
  if (first < 0) return [];
  let last = rx.length - 1;
  while (last > first && !loud(rx[last]!)) last--;
  return rx.slice(first, last + 1);
}

export interface Hook {
  url: string;
  requests: { headers: http.IncomingHttpHeaders; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

/** A function-call webhook on 127.0.0.1:0 that records each request and answers `answer(body)` as JSON. */
export async function webhook(answer: (body: Record<string, unknown>) => unknown): Promise<Hook> {
  const requests: Hook['requests'] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      requests.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(body)));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/tools`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * The service stops its turn its own way (`interrupt`, then `after`, e.g. late audio of that
 * turn): nothing audible reaches the caller a tick later, and what they heard came at real-time
 * pace (one packet per 20 ms over its length; a loaded machine delays packets, never the grid).
 */
export async function interruptChecked(c: RtpCaller, interrupt: () => void, after: () => void = () => {}): Promise<ReceivedPacket[]> {
  const t = performance.now();
  interrupt();
  after();
  await sleep(150);
  const rx = utterance(c);
  expect(rx.filter((p) => p.arrivalMs > t + 45)).toEqual([]);
  expectRealTime(rx);
  return rx;
}

/** The service's next turn reaches the caller (something audible after what came so far). */
export async function nextTurnPlays(c: RtpCaller, speak: () => Promise<unknown>): Promise<void> {
  const n = c.received.length;
  await speak();
  await until(() => c.received.slice(n).some((p) => energy(decodeUlaw(p.payload)) > 100 * 160), 3000, 'the next turn');
}

/** The caller's side of a call: `pcm` streamed in real time until it ends or `stop()` (a test that has seen what it needed). */
export function talk(c: RtpCaller, pcm: Int16Array): { stop(): Promise<void> } {
  const abort = new AbortController();
  const done = c.stream(pcm, { signal: abort.signal });
  return {
    stop: () => {
      abort.abort();
      return done;
    },
  };
}

/**
 * A route with a retry: the call's first session fails the service's way, and a second session
 * (a new dial) takes the call and hears the caller. The caller talks throughout.
 */
export async function failAndRetry<S extends StandInSession>(
  service: StandIn<S>,
  c: RtpCaller,
  before: number,
): Promise<{ first: S; second: S; caller: { stop(): Promise<void> } }> {
  const first = await service.session(before);
  const caller = talk(c, new Int16Array(8000 * 3));
  await first.until(() => first.frames.length >= 10, 3000, 'caller audio');
  first.fail();
  const second = await service.session(before + 1, 3000);
  await second.until(() => second.frames.length >= 10, 3000, 'caller audio at the retry');
  return { first, second, caller };
}
