import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { Rows, type ProbeResult } from './report.js';
import { Target, type Checkout } from './target.js';

/** ms a dial-out has to connect (AGENT_CONNECT_TIMEOUT_MS): short, so an unreachable address fails fast */
const CONNECT_TIMEOUT_MS = 500;

/** A WebSocket listener on one loopback address; records the path of each connection (the probe's tag). */
async function listener(host: string, port: number): Promise<{ port: number; hits: Set<string>; close: () => Promise<void> } | null> {
  const wss = new WebSocketServer({ host, port });
  const ok = await new Promise<boolean>((r) => {
    wss.once('listening', () => r(true));
    wss.once('error', () => r(false));
  });
  if (!ok) return null;
  const hits = new Set<string>();
  wss.on('connection', (ws, req) => {
    hits.add(req.url ?? '/');
    ws.on('error', () => {});
  });
  return {
    port: (wss.address() as AddressInfo).port,
    hits,
    close: () => {
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/** A UDP socket on loopback that counts what arrives (and how many datagrams begin with `prefix`). */
async function udpSink(): Promise<{ port: number; count: (prefix?: string) => number; close: () => void }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return {
    port: sock.address().port,
    count: (prefix) => (prefix === undefined ? got.length : got.filter((m) => m.subarray(0, prefix.length).toString() === prefix).length),
    close: () => sock.close(),
  };
}

/**
 * Finding 3: agent URLs pointing inside, on a gateway with no DIAL_ALLOW (the default). Each call
 * comes from a WebSocket edge (so the gateway says why it ended); loopback forms are aimed at
 * listeners of the probe's own, so "dialled" is seen, not inferred. Also the other ways a token
 * holder can make the gateway send somewhere: a route's fallback, a SIP dial-out, and `remote`.
 */
export async function dialProbes(co: Checkout): Promise<ProbeResult[]> {
  const v4 = await listener('127.0.0.1', 0);
  if (v4 === null) throw new Error('cannot listen on 127.0.0.1');
  const v6 = (await listener('::1', v4.port)) ?? (await listener('::1', 0));
  const p = v4.port;
  const p6 = v6?.port ?? p;
  // (what is dialled does not depend on timing: admission by measured load is off, so a busy machine does not shed the probe's calls)
  const t = await Target.start(co, {
    DIAL_ALLOW: '',
    AGENT_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    SIP_PORT: '0',
    ADMIT_MAX_LOAD: '1',
  });
  const agents = new Rows();
  const others = new Rows();
  try {
    const targets: [string, string, string?][] = [
      ['cloud metadata', 'ws://169.254.169.254/latest/meta-data/'],
      ['metadata, IPv4-mapped IPv6', 'ws://[::ffff:169.254.169.254]/'],
      ['private 10/8', 'ws://10.0.0.1/'],
      ['private 192.168/16', 'ws://192.168.1.1/'],
      ['CGNAT 100.64/10', 'ws://100.64.0.1/'],
      ['loopback 127.0.0.1', `ws://127.0.0.1:${p}/`],
      ['localhost (a name resolving to loopback)', `ws://localhost:${p}/`],
      ['localhost. (trailing dot)', `ws://localhost.:${p}/`],
      ['[::1]', `ws://[::1]:${p6}/`],
      ['0.0.0.0', `ws://0.0.0.0:${p}/`],
      ['[::] (unspecified)', `ws://[::]:${p6}/`],
      ['[::ffff:127.0.0.1] (IPv4-mapped)', `ws://[::ffff:127.0.0.1]:${p}/`],
      ['2130706433 (decimal IPv4)', `ws://2130706433:${p}/`],
      ['0177.0.0.1 (octal)', `ws://0177.0.0.1:${p}/`],
      ['0x7f.1 (hex, short form)', `ws://0x7f.1:${p}/`],
      ['[::127.0.0.1] (IPv4-compatible, deprecated)', `ws://[::127.0.0.1]:${p}/`],
      ['[64:ff9b::a9fe:a9fe] (NAT64 of the metadata address)', 'ws://[64:ff9b::a9fe:a9fe]/'],
      ['fallback to loopback after a refused agent', 'ws://169.254.169.254/', `ws://127.0.0.1:${p}/`],
    ];
    for (const [i, [name, url, fallback]] of targets.entries()) {
      const tag = `/t${i}`;
      const route = {
        agent: { url: fallback === undefined ? url.replace(/\/$/, '') + tag : url },
        ...(fallback !== undefined ? { fallback: { url: fallback.replace(/\/$/, '') + tag } } : {}),
        bargeIn: { enabled: false },
      };
      const shown = url.replace(`:${p6}/`, ':PORT/').replace(`:${p}/`, ':PORT/');
      agents.add(`${name}: ${shown}`, await dialOutcome(t, route, () => v4.hits.has(tag) || v6?.hits.has(tag) === true));
    }
    others.add(
      'SIP dial-out INVITE to sip:probe@127.0.0.1 (a loopback UDP port)',
      t.sip === null ? 'not supported (no SIP in this build)' : await sipOutcome(t),
    );
    others.add('RTP `remote` = 127.0.0.1:port, nothing ever received: packets the gateway sent there in 1 s', await remoteOutcome(t));
  } finally {
    await t.stop();
    await v4.close();
    await v6?.close();
  }
  return [
    agents.result('3', 'agent URLs pointing inside (no DIAL_ALLOW); the outcome of each dial'),
    others.result('3-other', 'other dial-outs a token holder can aim inside (no DIAL_ALLOW)'),
  ];
}

/** What became of a call whose route points at `route.agent.url`: refused, not dialled, or dialled. */
async function dialOutcome(t: Target, route: Record<string, unknown>, reached: () => boolean): Promise<string> {
  const forbidden0 = await t.metric('gateway_drops_total', 'reason="AGENT_URL_FORBIDDEN"');
  let caller: RtpCaller;
  try {
    caller = await RtpCaller.place({ gateway: t.url, transport: 'ws', headers: t.auth, route });
  } catch (err) {
    return `refused at start: ${(err as Error).message.slice(0, 60)}`;
  }
  // until the listener is reached or the call is gone (its stop may beat the edge's `started` handler, so ask the API)
  const deadline = Date.now() + CONNECT_TIMEOUT_MS + 1500;
  let live = true;
  while (live && !reached() && Date.now() < deadline) {
    await sleep(50);
    live = (await t.api('GET', `/v1/calls/${caller.callId}`)).status === 200;
  }
  await sleep(100);
  const forbidden = (await t.metric('gateway_drops_total', 'reason="AGENT_URL_FORBIDDEN"')) - forbidden0;
  await caller.hangup();
  if (reached()) return 'DIALLED: the loopback listener got the connection';
  if (forbidden > 0) return `refused: AGENT_URL_FORBIDDEN ×${forbidden}, not dialled`;
  return live ? 'no refusal counted; call still up after 2 s' : 'no refusal counted; the dial failed here (call ended)';
}

/** `POST /v1/calls {"sip":{"uri":…}}` at a loopback UDP port: does an INVITE arrive? (the request is abandoned after 1.5 s) */
async function sipOutcome(t: Target): Promise<string> {
  const sink = await udpSink();
  const abort = new AbortController();
  const req = fetch(`${t.url}/v1/calls`, {
    method: 'POST',
    headers: { ...t.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ sip: { uri: `sip:probe@127.0.0.1:${sink.port}` }, route: { agent: { url: 'builtin:echo' } } }),
    signal: abort.signal,
  }).then(
    async (r) => `${r.status} ${(await r.text()).slice(0, 80)}`,
    () => null,
  );
  const early = await Promise.race([req, sleep(1500).then(() => null)]);
  abort.abort();
  await req;
  const invites = sink.count('INVITE ');
  sink.close();
  if (invites > 0) return `SENT: ${invites} INVITE(s) reached the loopback port`;
  return early === null ? 'nothing arrived' : `refused: ${early}`;
}

/** `POST /v1/calls {"remote":"127.0.0.1:port"}` and never send: does the gateway send RTP there anyway? */
async function remoteOutcome(t: Target): Promise<string | number> {
  const sink = await udpSink();
  const r = await t.api('POST', '/v1/calls', {
    codec: 'PCMU',
    remote: `127.0.0.1:${sink.port}`,
    route: { agent: { url: 'builtin:echo' } },
  });
  if (r.status !== 201) {
    sink.close();
    return `refused: ${r.status} ${JSON.stringify(r.json).slice(0, 80)}`;
  }
  await sleep(1000);
  const n = sink.count();
  await t.api('DELETE', `/v1/calls/${String(r.json['callId'])}`);
  sink.close();
  return n;
}
