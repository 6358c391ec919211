import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * Stand-ins for the AI services the gateway dials directly (OpenAI Realtime, Gemini Live,
 * ElevenLabs Agents, Deepgram Voice Agent, Ultravox), for tests and the latency bench: real
 * WebSocket (and HTTP) servers on 127.0.0.1:0, each written only from its vendor's published
 * protocol. A session records the caller audio it is sent (decoded from the negotiated format,
 * with arrival times) and every message, and speaks as the service does: a turn of audio in
 * chunks, faster than real time, which its interruption signal stops.
 */
export interface HeardFrame {
  pcm: Int16Array;
  atMs: number;
}

export interface Spoken {
  /** the turn's id in the vendor's terms (item id, event id…) */
  id: string;
  /** when each chunk went out, ms */
  sentAt: number[];
  /** ms of audio sent */
  sentMs: number;
  /** stopped before the end (an interruption or a cancel) */
  stopped: boolean;
}

export interface SpeakOptions {
  /** ms of audio per message (default 100) */
  chunkMs?: number;
  /** × real time (default 4: services generate faster than they speak) */
  speed?: number;
  onChunk?: (k: number, t: number) => void;
}

export interface Turn {
  id: string;
  stopped: boolean;
}

export abstract class StandInSession {
  readonly ws: WebSocket;
  readonly headers: http.IncomingHttpHeaders;
  /** the request path and query the gateway dialled */
  readonly path: string;
  readonly frames: HeardFrame[] = [];
  readonly messages: { msg: Record<string, unknown>; atMs: number }[] = [];
  readonly closes: { code: number; reason: string }[] = [];
  closed = false;
  protected turn: Turn | null = null;
  #waiters: (() => void)[] = [];

  constructor(ws: WebSocket, req: http.IncomingMessage) {
    this.ws = ws;
    this.headers = req.headers;
    this.path = req.url ?? '';
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const atMs = performance.now();
      if (isBinary) this.onBinary(data, atMs);
      else {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        this.messages.push({ msg, atMs });
        this.onJson(msg, atMs);
      }
      this.#wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = true;
      this.closes.push({ code, reason: reason.toString() });
      this.#wake();
    });
  }

  /** Hz of the caller audio as negotiated, and of the service's own. */
  abstract get inRate(): number;
  abstract get outRate(): number;
  protected abstract onJson(msg: Record<string, unknown>, atMs: number): void;
  protected onBinary(_data: Buffer, _atMs: number): void {
    throw new Error(`${this.constructor.name} takes no binary messages`);
  }
  /** The vendor's start of a turn; its chunks; its end (complete, or stopped). */
  protected abstract beginTurn(): Turn;
  protected abstract sendChunk(turn: Turn, pcm: Int16Array): void;
  protected abstract endTurn(turn: Turn): void;
  /** The service's own interruption signal (it heard the caller over itself): stops the turn. */
  abstract interrupt(): void;
  /** A service error the vendor's way, then the close that follows it. */
  abstract fail(): void;

  protected record(pcm: Int16Array, atMs: number): void {
    this.frames.push({ pcm, atMs });
  }

  protected json(msg: unknown): void {
    if (!this.closed) this.ws.send(JSON.stringify(msg));
  }

  protected stopTurn(): Turn | null {
    const t = this.turn;
    if (t !== null) t.stopped = true;
    this.turn = null;
    return t;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves when `pred` holds (checked on every message), or rejects after `timeoutMs`. */
  until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    return waitFor(pred, this.#waiters, timeoutMs, `timed out waiting for ${what}`);
  }

  /** Messages from the gateway whose `key` (default `type`) is `value`. */
  got(value: string, key = 'type'): Record<string, unknown>[] {
    return this.messages.filter((m) => m.msg[key] === value).map((m) => m.msg);
  }

  /** All caller audio received, concatenated. */
  audio(): Int16Array {
    const out = new Int16Array(this.frames.reduce((a, f) => a + f.pcm.length, 0));
    let o = 0;
    for (const f of this.frames) {
      out.set(f.pcm, o);
      o += f.pcm.length;
    }
    return out;
  }

  /** Speaks `pcm` (at `outRate`) as one turn, as the service streams it; resolves when sent or stopped. */
  async speak(pcm: Int16Array, o: SpeakOptions = {}): Promise<Spoken> {
    const chunkMs = o.chunkMs ?? 100;
    const speed = o.speed ?? 4;
    const n = Math.round((this.outRate * chunkMs) / 1000);
    const turn = this.beginTurn();
    this.turn = turn;
    const spoken: Spoken = { id: turn.id, sentAt: [], sentMs: 0, stopped: false };
    const t0 = performance.now();
    for (let k = 0; k * n < pcm.length; k++) {
      const wait = t0 + (k * chunkMs) / speed - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (turn.stopped || this.closed) break;
      const chunk = pcm.subarray(k * n, Math.min(pcm.length, (k + 1) * n));
      this.sendChunk(turn, chunk);
      const t = performance.now();
      spoken.sentAt.push(t);
      spoken.sentMs += (1000 * chunk.length) / this.outRate;
      o.onChunk?.(k, t);
    }
    spoken.stopped = turn.stopped;
    if (!turn.stopped && !this.closed) {
      this.turn = null;
      this.endTurn(turn);
    }
    return spoken;
  }

  /** The connection drops without a word (a crash, a network cut). */
  drop(): void {
    this.ws.terminate();
  }
}

/** A stand-in service: an HTTP server with a WebSocket endpoint, and what connected to it. */
export class StandIn<S extends StandInSession> {
  readonly server: http.Server;
  readonly wss: WebSocketServer;
  readonly sessions: S[] = [];
  #waiters: (() => void)[] = [];

  protected constructor(make: (ws: WebSocket, req: http.IncomingMessage) => S, onHttp?: http.RequestListener) {
    this.server = http.createServer(
      onHttp ??
        ((_req, res) => {
          res.writeHead(404).end();
        }),
    );
    this.wss = new WebSocketServer({ server: this.server, maxPayload: 16 * 1024 * 1024 });
    this.wss.on('connection', (ws, req) => {
      this.sessions.push(make(ws, req));
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  protected async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** ws://127.0.0.1:port + `path` */
  url(path = '/'): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** The `i`-th session to connect, or the first one whose path contains `token` (waits for it). */
  async session(which: number | string = 0, timeoutMs = 10_000): Promise<S> {
    const find = () => (typeof which === 'number' ? this.sessions[which] : this.sessions.find((x) => x.path.includes(which)));
    await waitFor(() => find() !== undefined, this.#waiters, timeoutMs, `no ${this.constructor.name} session ${which} connected`);
    return find()!;
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Resolves when `pred` holds, checked whenever a waiter is woken (and every 50 ms); rejects with `why` after `timeoutMs`. */
async function waitFor(pred: () => boolean, waiters: (() => void)[], timeoutMs: number, why: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!pred()) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(why);
    await new Promise<void>((r) => {
      const t = setTimeout(r, Math.min(left, 50));
      waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }
}

export function b64(pcm: Int16Array | Uint8Array): string {
  return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength).toString('base64');
}

/** PCM16 LE bytes → samples (copied: socket buffers are reused). */
export function le16(b: Buffer): Int16Array {
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + (b.length & ~1)));
}
