import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWav } from '../../../codecs/src/index.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import { TwilioPeer } from '../../../testkit/platforms/TwilioPeer.js';
import { Flooder } from './Flooder.js';
import type { FlooderSpec } from './floodThread.js';
import { HealthyCall, type WindowStats } from './healthy.js';
import { Rows, type ProbeResult } from './report.js';
import { Target, type Checkout } from './target.js';

/** How long a flood has to get its flooder cut off before the probe stops waiting, ms. */
const CUT_OFF_WAIT_MS = 4000;
/** Left after the cut-off (or the wait) for the gateway to work through what it had taken in, ms. */
const TAIL_MS = 1500;

const speech = readWav(fileURLToPath(new URL('../../../test/fixtures/audio/caller-en-gb-8k.wav', import.meta.url))).samples;

/**
 * Finding 1 and the per-edge budgets: one gateway, one healthy call throughout, and in turn a
 * flooding agent (10,000 marks), a flooding /v1/edge (control messages, then RTP) and a flooding
 * Twilio media stream (dtmf events). Each flood gets a quiet 2 s window first, as the noise floor.
 */
export async function floodProbes(co: Checkout, count: number): Promise<ProbeResult[]> {
  const agent = await TestAgent.listen();
  // The platform stream's call goes to a passive agent in its own thread, which counts what reaches it.
  const sink = Flooder.start({ role: 'agent', flood: { count: 0 } });
  const cfgDir = mkdtempSync(join(tmpdir(), 'hostile-'));
  const cfg = join(cfgDir, 'routes.json');
  writeFileSync(cfg, JSON.stringify({ default: { agent: { url: await sink.agentUrl() }, bargeIn: { enabled: false } } }));
  // Admission by measured load off: what is measured is the healthy call's clock, and a flood's
  // load must not refuse the next probe's calls (AT_CAPACITY; finding 4 has its own bench).
  const t = await Target.start(co, { GATEWAY_CONFIG: cfg, ADMIT_MAX_LOAD: '1' });
  const out: ProbeResult[] = [];
  try {
    const healthy = await HealthyCall.start(t, agent);
    out.push(await markFlood(t, healthy, count));
    await t.ready(); // the next flooder's call must not be shed (AT_CAPACITY) for the last flood's load
    out.push(await edgeFlood(t, healthy, agent, count, 'text'));
    await t.ready();
    out.push(await edgeFlood(t, healthy, agent, count, 'rtp'));
    await t.ready();
    out.push(await streamFlood(t, healthy, sink, count));
    await healthy.stop();
  } finally {
    await t.stop();
    await agent.close();
    await sink.finish().catch(() => undefined);
    rmSync(cfgDir, { recursive: true, force: true });
  }
  return out;
}

interface Attack {
  quiet: WindowStats;
  flood: WindowStats;
  drops: Map<string, number>;
  report: Awaited<ReturnType<Flooder['finish']>>;
  closed: string;
}

/** Quiet window, then the flood: until the flooder is cut off (or CUT_OFF_WAIT_MS), plus TAIL_MS. */
async function underAttack(t: Target, healthy: HealthyCall, flooder: Flooder): Promise<Attack> {
  const q = await healthy.mark();
  await sleep(2000);
  const quiet = await healthy.measure(q);
  const before = await t.drops();
  const w = await healthy.mark();
  flooder.go();
  const closed = await flooder.next('closed', CUT_OFF_WAIT_MS);
  await sleep(TAIL_MS);
  const flood = await healthy.measure(w);
  const after = await t.drops();
  const drops = new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as [string, number]).filter(([, v]) => v > 0));
  const report = await flooder.finish();
  return {
    quiet,
    flood,
    drops,
    report,
    closed: closed === null ? `no (still open ${CUT_OFF_WAIT_MS / 1000} s after the burst began)` : `yes, ${closed.code}`,
  };
}

/** The rows every flood reports: what the flooder got, what was counted, and the healthy call. */
function attackRows(r: Rows, a: Attack, reasons: string[]): void {
  r.add('flooder: messages sent', a.report.sent);
  r.add('flooder: cut off by the gateway (close code)', a.closed);
  const replies = Object.entries(a.report.received).filter(([k]) => k !== 'start');
  r.add(
    'flooder: text replies received',
    replies.reduce((s, [, n]) => s + n, 0),
  );
  r.add(
    'flooder: kinds of reply',
    replies.length === 0
      ? 'none'
      : replies
          .map(([k]) => k)
          .sort()
          .join(', '),
  );
  for (const reason of reasons) r.add(`gateway drops counted: ${reason}`, a.drops.get(reason) ?? 0);
  const other = [...a.drops.keys()].filter((k) => !reasons.includes(k));
  r.add('gateway drops counted: other reasons', other.length === 0 ? 'none' : other.sort().join(', '));
  r.add('healthy: largest outbound RTP gap, quiet 2 s before (ms)', a.quiet.outGapMs);
  r.add('healthy: largest outbound RTP gap under attack (ms)', a.flood.outGapMs);
  r.add('healthy: largest gap between agent frames, quiet (ms)', a.quiet.agentGapMs);
  r.add('healthy: largest gap between agent frames under attack (ms)', a.flood.agentGapMs);
  r.add('healthy: outbound packets missing at the phone', a.flood.outLost);
  r.add('healthy: inbound packets lost or too late (gateway count)', a.flood.gwLost + a.flood.gwLate);
  r.add('healthy: frames concealed (gateway count)', a.flood.gwConcealed);
  r.add('healthy: packets or frames dropped (gateway count)', a.flood.gwDropped);
  r.add('playout ticks > 20 ms late', a.flood.ticksOver20);
  r.add('playout ticks > 50 ms late', a.flood.ticksOver50);
  r.add('latest playout tick (histogram bucket)', a.flood.tickWorst);
  r.add('gateway event-loop delay, max (ms)', a.flood.loopLagMaxMs);
}

/** Finding 1: an agent sends `count` marks in a burst while the healthy call runs. */
async function markFlood(t: Target, healthy: HealthyCall, count: number): Promise<ProbeResult> {
  const flooder = Flooder.start({ role: 'agent', readyOn: '"type":"start"', flood: { text: '{"type":"mark","name":"m#"}', count } });
  const route = { agent: { url: await flooder.agentUrl() }, bargeIn: { enabled: false } };
  // Its caller is a WebSocket edge, so the gateway says why the call ended.
  const caller = await RtpCaller.place({ gateway: t.url, transport: 'ws', headers: t.auth, route });
  const stop = new AbortController();
  const streaming = caller.stream(speech, { signal: stop.signal });
  if ((await flooder.next('ready', 5000)) === null) throw new Error('the flooding agent never got its call');
  const a = await underAttack(t, healthy, flooder);
  const r = new Rows();
  attackRows(r, a, ['AGENT_FLOOD', 'CONTROL_INVALID']);
  r.add("flooder's call ended (reason sent to its edge)", caller.stopReason ?? 'no (call still up)');
  stop.abort();
  await streaming;
  await caller.end();
  return r.result('1', `an agent floods ${count} marks in a burst beside a healthy call`);
}

/** A /v1/edge floods control messages (`text`) or RTP (`rtp`) once its call is up. */
async function edgeFlood(t: Target, healthy: HealthyCall, agent: TestAgent, count: number, kind: 'text' | 'rtp'): Promise<ProbeResult> {
  const start = { event: 'start', codec: 'PCMU', route: { agent: { url: agent.url }, bargeIn: { enabled: false } } };
  const flood: FlooderSpec['flood'] = kind === 'text' ? { text: '{"event":"noise","n":#}', count } : { rtp: { payloadType: 0 }, count };
  const flooder = Flooder.start({
    role: 'edge',
    url: `${t.url.replace(/^http/, 'ws')}/v1/edge`,
    headers: t.auth,
    hello: [JSON.stringify(start)],
    readyOn: '"event":"started"',
    flood,
  });
  if ((await flooder.next('ready', 5000)) === null) throw new Error('the flooding edge never got its call');
  const a = await underAttack(t, healthy, flooder);
  const r = new Rows();
  attackRows(r, a, kind === 'text' ? ['CONTROL_INVALID', 'EDGE_FLOOD'] : ['RTP_RATE_LIMITED']);
  const what = kind === 'text' ? `${count} unknown control messages` : `${count} RTP packets`;
  return r.result(kind === 'text' ? 'edge-control' : 'edge-rtp', `a /v1/edge WebSocket floods ${what} in a burst beside a healthy call`);
}

/**
 * A Twilio media stream (answer webhook, then the stream its TwiML names) floods `dtmf` events,
 * each of which the gateway may pass to the call's agent (the passive `sink`).
 */
async function streamFlood(t: Target, healthy: HealthyCall, sink: Flooder, count: number): Promise<ProbeResult> {
  const title = `a Twilio media stream floods ${count} dtmf events beside a healthy call`;
  const peer = new TwilioPeer();
  const to = '+14155550142';
  const ans = await TwilioPeer.answer({ gateway: t.url, from: '+14155550123', to }, peer.callSid, peer.accountSid);
  const url = /<Connect><Stream url="([^"]+)"/.exec(ans.body)?.[1];
  if (ans.status !== 200 || url === undefined)
    return new Rows().add('answer webhook', `not supported (${ans.status} ${ans.body.slice(0, 60)})`).result('stream-dtmf', title);
  const params = Object.fromEntries([...ans.body.matchAll(/<Parameter name="([^"]*)" value="([^"]*)"\/>/g)].map((m) => [m[1]!, m[2]!]));
  const sid = peer.streamSid;
  const startMsg = {
    event: 'start',
    sequenceNumber: '1',
    start: {
      accountSid: peer.accountSid,
      streamSid: sid,
      callSid: peer.callSid,
      tracks: ['inbound'],
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      customParameters: params,
    },
    streamSid: sid,
  };
  const flooder = Flooder.start({
    role: 'edge',
    url: url.replace(/&amp;/g, '&'),
    hello: [JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }), JSON.stringify(startMsg)],
    flood: {
      text: JSON.stringify({ event: 'dtmf', streamSid: sid, sequenceNumber: '#', dtmf: { track: 'inbound_track', digit: '5' } }),
      count,
    },
  });
  if ((await flooder.next('ready', 5000)) === null) throw new Error('the flooding stream never opened');
  await sleep(500); // the call is created at `start` and dials the sink agent
  const a = await underAttack(t, healthy, flooder);
  const r = new Rows();
  attackRows(r, a, ['CONTROL_INVALID', 'EDGE_FLOOD']);
  const sinkSeen = await sinkReport(sink);
  r.add('dtmf events passed on to the call’s agent', sinkSeen);
  return r.result('stream-dtmf', title);
}

/** dtmf events the passive agent has received so far (it keeps running for later reads). */
async function sinkReport(sink: Flooder): Promise<number> {
  const r = await sink.peek();
  return r.received['dtmf'] ?? 0;
}
