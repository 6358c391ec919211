import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect } from 'vitest';
import type { Player } from '../../../testkit/platforms/Player.js';
import { sleep } from '../../../testkit/platforms/Player.js';
import { TestAgent, type AgentSession } from '../../../testkit/TestAgent.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import { energy, fixture, xcorrPeak } from '../../helpers/audio.js';
import { resampleAll, startGateway, ulawRoundTrip, until } from '../../helpers/gateway.js';

/** What every platform peer in testkit/platforms offers a test. */
export interface Peer {
  readonly player: Player;
  readonly echoes: readonly { name: string; atMs: number }[];
  readonly closed: boolean;
  /** streams PCM at the peer's rate as the platform's 20 ms media, in real time */
  stream(pcm: Int16Array): Promise<void>;
  dtmf(digit: string): void;
  hangup(): void;
}

/** The gateway and the agent a test file's calls go to (set once its beforeAll has run). */
export interface Harness {
  gw: Gateway;
  url: string;
  agent: TestAgent;
}

/**
 * Starts, before the file's tests, a test agent and a gateway routing every +1415555… number to
 * it with barge-in off (with `defaultRoute`, calls with no number too); closes both after them.
 */
export function gatewayWithAgent(o: { defaultRoute?: boolean; dspWorkers?: number } = {}): Harness {
  const h = {} as Harness;
  beforeAll(async () => {
    h.agent = await TestAgent.listen();
    const route = { agent: { url: h.agent.url }, bargeIn: { enabled: false } };
    const routing = new RoutingTable({ numbers: { '+1415555*': route }, ...(o.defaultRoute === true && { default: route }) });
    ({ gw: h.gw, url: h.url } = await startGateway({ routing, ...(o.dspWorkers !== undefined && { dspWorkers: o.dspWorkers }) }));
  });
  afterAll(async () => {
    await h.gw.close();
    await h.agent.close();
  });
  return h;
}

/** The agent hangs up while the peer streams 2 s of silence; the peer's socket closes within 3 s. */
export async function agentHangsUp(peer: Peer, s: AgentSession, what = 'stream closed'): Promise<void> {
  void peer.stream(new Int16Array(peer.player.rate * 2));
  await sleep(300);
  s.send({ type: 'hangup' });
  await until(() => peer.closed, 3000, what);
}

/** The caller hangs up: the agent's session closes within 3 s, stopped for `reason` (when given). */
export async function callerHangsUp(peer: Peer, s: AgentSession, reason?: string): Promise<void> {
  peer.hangup();
  await s.until(() => s.closed, 3000, 'agent closed');
  if (reason !== undefined) expect(s.eventsOf('stop').map((e) => e.msg['reason'])).toEqual([reason]);
}

/** No call from `from` created after `since` (ms since the epoch) is active. */
export function expectNoCallSince(gw: Gateway, from: string, since: number): void {
  expect([...gw.calls.all()].filter((c) => c.from === from && c.state === 'active' && c.createdAt > since)).toEqual([]);
}

export const LEAD_MS = 40;
export const speech8k = fixture('caller-en-us-8k.wav').samples.subarray(0, 8000 * 3);
export const reply24k = fixture('agent-reply-24k.wav').samples;

/** The agent session of the call to `to` (each test calls its own number). */
export async function sessionTo(agent: TestAgent, to: string, ms = 10_000): Promise<AgentSession> {
  const t0 = performance.now();
  for (;;) {
    const s = agent.sessions.find((x) => x.start?.['to'] === to);
    if (s) return s;
    if (performance.now() - t0 > ms) throw new Error(`no agent session for ${to}`);
    await sleep(10);
  }
}

/** The caller's audio at the peer's rate, and what the agent should hear of it at 24 kHz. */
export async function callerAudio(rate: number, law: 'ulaw' | 'l16'): Promise<{ source: Int16Array; ref24k: Float32Array }> {
  const heard = law === 'ulaw' ? ulawRoundTrip(speech8k) : speech8k;
  const source = rate === 8000 ? speech8k : Int16Array.from((await resampleAll(speech8k, 8000, rate)).pcm, (v) => Math.round(v));
  const ref = rate === 8000 ? heard : source;
  return { source, ref24k: (await resampleAll(ref, rate, 24000)).pcm };
}

export interface Measured {
  xcorrIn: number;
  xcorrOut: number;
  medianHeldMs: number;
  maxHeldMs: number;
  paceMs: number;
  markAfterEchoMs: number;
  markAfterPlayedMs: number;
  clearStopMs: number;
  underruns: number;
}

/**
 * One full call, both directions: the peer streams 3 s of speech and a DTMF digit while the agent
 * replies (1 s of speech + mark m1), then, once m1 came back, 2 s more + mark m2, cleared after
 * 500 ms. Checks everything the issue asks of a stream edge and returns the figures.
 */
export async function fullCall(
  peer: Peer,
  s: AgentSession,
  law: 'ulaw' | 'l16',
  o: { confirms?: 'echo' | 'clock'; dtmf?: boolean } = {},
): Promise<Measured> {
  const confirms = o.confirms ?? 'echo';
  const rate = peer.player.rate;
  const { source, ref24k } = await callerAudio(rate, law);
  const reply1 = reply24k.subarray(0, 24000);
  let m1SentAt = 0;
  let clearAt = 0;
  const agentScript = (async () => {
    await sleep(500);
    s.sendAudio(reply1);
    m1SentAt = s.send({ type: 'mark', name: 'm1' });
    await s.until(() => s.eventsOf('mark').length > 0, 4000, 'm1');
    s.sendAudio(reply24k.subarray(24000, 72000));
    s.send({ type: 'mark', name: 'm2' });
    await sleep(500);
    clearAt = s.send({ type: 'clear' });
  })();
  const input = new Int16Array((rate * 7) / 2);
  input.set(source);
  await Promise.all([peer.stream(input), agentScript]);
  if (o.dtmf ?? true) {
    peer.dtmf('5');
    await s.until(() => s.eventsOf('dtmf').length > 0, 2000, 'dtmf');
    expect(s.eventsOf('dtmf')[0]!.msg).toMatchObject({ type: 'dtmf', digit: '5' });
  }

  // Caller → agent: every 20 ms frame arrived, and it is the caller's speech.
  expect(s.frames.length).toBeGreaterThanOrEqual(170);
  const heard = s.audio();
  const { peak: xcorrIn } = xcorrPeak(ref24k.subarray(12000, 60000), heard.subarray(12000), 1200);
  expect(xcorrIn).toBeGreaterThanOrEqual(0.9);

  // Agent → caller: played at real-time pace, never more than the lead (plus the frame playing) ahead.
  const p = peer.player;
  const firstPlayed = p.played.findIndex((f) => energy(f.pcm) > 0);
  expect(firstPlayed).toBeGreaterThanOrEqual(0);
  const t0 = p.played[firstPlayed]!.atMs;
  const replyArrivals = p.arrivals.filter((a) => a.atMs >= t0 - 1 && a.atMs < t0 + 1000);
  // what the peer holds when audio arrives: the lead plus the frame playing (60 ms). The peer's
  // clock starts when it handles the first frame, so a delay there (its event loop, on shared
  // cores) shows as that much more held for the whole utterance: the bounds are loose.
  const held = p.arrivals.map((a) => a.heldMs).sort((x, y) => x - y);
  const medianHeldMs = held[held.length >> 1]!;
  const maxHeldMs = held.at(-1)!;
  // Quiet, it holds 60–64 ms; the bounds only tell pacing (≤ the lead ahead) from sending the
  // 1 s reply at once (~1000 ms held), generously, so a loaded CI machine cannot fail them.
  expect(medianHeldMs).toBeLessThanOrEqual(LEAD_MS + 20 + 90);
  expect(maxHeldMs).toBeLessThanOrEqual(LEAD_MS + 20 + 240);
  const paceMs = replyArrivals.at(-1)!.atMs - replyArrivals[0]!.atMs;
  // 1 s of reply sent in one burst reached the peer over ~1 s (940 ms: 60 at the first tick), not at
  // once (within the lead, 60 ms). A stall of the loop (a loaded machine) late in the 1 s looked at
  // leaves the arrivals due then outside it: the bound only tells pacing from a burst, generously.
  expect(paceMs).toBeGreaterThanOrEqual(500);
  const rec = p.recording();
  const reply8 = (await resampleAll(reply1, 24000, rate)).pcm;
  const off = p.played.slice(0, firstPlayed).reduce((a, f) => a + f.pcm.length, 0);
  const { peak: xcorrOut } = xcorrPeak(reply8.subarray(0, rate / 2), rec.subarray(Math.max(0, off - rate / 50)), rate / 25);
  expect(xcorrOut).toBeGreaterThanOrEqual(0.9);

  // m1 reached the agent only after the peer confirmed it (or, with no confirmations, the
  // gateway's clock said it had played), once its 1 s had played.
  const m1 = s.eventsOf('mark').find((e) => e.msg['name'] === 'm1')!;
  expect(m1.msg['cleared']).toBe(false);
  // its echo: the last one the peer sent before m1 reached the agent (progress marks come before)
  const echo = confirms === 'echo' ? peer.echoes.filter((e) => e.atMs <= m1.atMs).at(-1)! : { atMs: t0 + 1000 };
  if (confirms === 'echo') expect(m1.atMs).toBeGreaterThanOrEqual(echo.atMs);
  expect(echo.atMs).toBeGreaterThanOrEqual(t0 + 1000 - 25);
  expect(m1.atMs).toBeGreaterThanOrEqual(t0 + 1000 - 25);
  expect(m1.atMs - m1SentAt).toBeGreaterThanOrEqual(950);

  // The clear: nothing played after it beyond one tick plus the lead;
  // m2 reported cleared. Platforms that flush stop at once; FreeSWITCH plays out what it holds.
  const after = p.played.filter((f) => f.atMs > clearAt && energy(f.pcm) > 0);
  const clearStopMs = after.length === 0 ? 0 : after.at(-1)!.atMs + 20 - clearAt;
  // measured from the agent's send: the clear's own trip through a loaded machine is in it too
  // (quiet: 0–20 ms, FreeSWITCH ~60); 1.5 s of queued audio would go on playing without the clear.
  expect(clearStopMs).toBeLessThanOrEqual(20 + LEAD_MS + 190);
  await s.until(() => s.eventsOf('mark').some((e) => e.msg['name'] === 'm2'), 2000, 'm2');
  expect(s.eventsOf('mark').find((e) => e.msg['name'] === 'm2')!.msg['cleared']).toBe(true);

  return {
    xcorrIn,
    xcorrOut,
    medianHeldMs,
    maxHeldMs,
    paceMs,
    markAfterEchoMs: m1.atMs - echo.atMs,
    markAfterPlayedMs: m1.atMs - (t0 + 1000),
    clearStopMs,
    underruns: p.underruns,
  };
}

export function report(platform: string, m: Measured): void {
  console.log(
    `[${platform}] xcorr in ${m.xcorrIn.toFixed(3)} out ${m.xcorrOut.toFixed(3)}; held ${m.medianHeldMs.toFixed(1)} ms (max ${m.maxHeldMs.toFixed(1)}); 1 s reply over ${m.paceMs.toFixed(0)} ms; ` +
      `mark +${m.markAfterEchoMs.toFixed(1)} ms after the echo, +${m.markAfterPlayedMs.toFixed(1)} ms after playout; clear stops in ${m.clearStopMs.toFixed(1)} ms; underruns ${m.underruns}`,
  );
}
