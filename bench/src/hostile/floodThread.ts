import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket, { WebSocketServer } from 'ws';
import { writeRtp } from '../../../codecs/src/index.js';

/**
 * A flooding peer in its own thread (started by Flooder.ts through the gateway's tsx
 * worker bootstrap), so that sending 10,000 messages does not stall the probe's own clock: the
 * healthy call's arrival times are stamped on the main thread, which the flood never blocks.
 *
 * Role `agent`: a WebSocket server the gateway dials (a misbehaving AI agent). Role `edge`: a
 * WebSocket client of the gateway (an /v1/edge or a platform stream). Once the call is up it says
 * `ready`; on `go` it sends the flood as fast as `ws` takes it, then counts what comes back until
 * the socket closes or the parent asks for the `report`.
 */
export interface FlooderSpec {
  role: 'agent' | 'edge';
  /** edge: the gateway URL to open */
  url?: string;
  headers?: Record<string, string>;
  /** texts sent once the socket is open (an edge's `start`, a platform's `connected` + `start`) */
  hello?: string[];
  /** a substring of the gateway's text that means the call is up (absent: ready once the hello is sent) */
  readyOn?: string;
  /** `text`: '#' is replaced by the message's index; `rtp`: RTP packets of this payload type as binary messages */
  flood: { text?: string; rtp?: { payloadType: number }; count: number };
}

export type FromFlooder =
  | { t: 'listening'; port: number }
  | { t: 'ready' }
  | { t: 'sent'; sendMs: number; sent: number }
  | { t: 'closed'; code: number; atMs: number }
  | { t: 'report'; received: Record<string, number>; binary: number; closeCode: number | null; sendMs: number; sent: number };

const spec = (workerData as { spec: FlooderSpec }).spec;
const port = parentPort!;
const received: Record<string, number> = {};
let binary = 0;
let closeCode: number | null = null;
let sendMs = 0;
let sent = 0;
let sock: WebSocket | null = null;

function tally(data: Buffer, isBinary: boolean): void {
  if (isBinary) {
    binary++;
    return;
  }
  const text = data.toString();
  let key = 'text';
  try {
    const m = JSON.parse(text) as Record<string, unknown>;
    const kind = m['type'] ?? m['event'];
    key = typeof kind === 'string' ? kind : 'json';
    if (key === 'error' && typeof m['code'] === 'string') key = `error ${m['code']}`;
  } catch {
    // not JSON: counted as text
  }
  received[key] = (received[key] ?? 0) + 1;
}

function attach(ws: WebSocket): void {
  sock = ws;
  let ready = spec.readyOn === undefined;
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    tally(data, isBinary);
    if (!ready && !isBinary && spec.readyOn !== undefined && data.toString().includes(spec.readyOn)) {
      ready = true;
      port.postMessage({ t: 'ready' } satisfies FromFlooder);
    }
  });
  ws.on('close', (code) => {
    closeCode = code;
    port.postMessage({ t: 'closed', code, atMs: performance.now() } satisfies FromFlooder);
  });
  ws.on('error', () => {});
  for (const h of spec.hello ?? []) ws.send(h);
  if (ready) port.postMessage({ t: 'ready' } satisfies FromFlooder);
}

function flood(): void {
  const ws = sock;
  if (ws === null) return;
  const t0 = performance.now();
  const { text, rtp, count } = spec.flood;
  const pkt = new Uint8Array(12 + 160);
  const silence = new Uint8Array(160).fill(0xff);
  const ssrc = 0x0badf00d;
  for (let i = 0; i < count && ws.readyState === WebSocket.OPEN; i++) {
    if (rtp !== undefined) {
      writeRtp(
        pkt,
        0,
        { marker: false, payloadType: rtp.payloadType, sequenceNumber: i & 0xffff, timestamp: (160 * i) >>> 0, ssrc },
        silence,
      );
      ws.send(pkt, { binary: true });
    } else ws.send((text ?? '').replaceAll('#', String(i)));
    sent++;
  }
  sendMs = performance.now() - t0;
  port.postMessage({ t: 'sent', sendMs, sent } satisfies FromFlooder);
}

port.on('message', (m: { t: 'go' | 'report' }) => {
  if (m.t === 'go') flood();
  else port.postMessage({ t: 'report', received, binary, closeCode, sendMs, sent } satisfies FromFlooder);
});

if (spec.role === 'agent') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.once('listening', () => {
    port.postMessage({ t: 'listening', port: (wss.address() as { port: number }).port } satisfies FromFlooder);
  });
  // The gateway dials once per call: the first connection is the one to flood from.
  wss.once('connection', (ws) => {
    attach(ws);
  });
} else {
  const ws = new WebSocket(spec.url ?? '', { headers: spec.headers ?? {} });
  ws.once('open', () => {
    attach(ws);
  });
  ws.once('unexpected-response', (_req, res) => {
    closeCode = -(res.statusCode ?? 0);
    port.postMessage({ t: 'closed', code: closeCode, atMs: performance.now() } satisfies FromFlooder);
  });
  ws.on('error', () => {});
}
