import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocketServer, type WebSocket } from 'ws';

/**
 * A native-protocol agent for tests, benchmarks and demos: a WebSocket server the gateway dials.
 * Each call gets an AgentSession that records the start message, every caller frame with its
 * arrival time, and every event; and can send audio (burst or paced), marks, clear, dtmf, hangup.
 */
export interface AgentEvent {
  msg: Record<string, unknown>;
  atMs: number;
}

export class AgentSession {
  readonly ws: WebSocket;
  start: Record<string, unknown> | null = null;
  readonly frames: { pcm: Int16Array; atMs: number }[] = [];
  readonly events: AgentEvent[] = [];
  readonly headers: Record<string, string | string[] | undefined>;
  closed = false;
  #waiters: (() => void)[] = [];

  constructor(ws: WebSocket, headers: Record<string, string | string[] | undefined>) {
    this.ws = ws;
    this.headers = headers;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const atMs = performance.now();
      if (isBinary) {
        const pcm = new Int16Array(data.length >> 1);
        for (let i = 0; i < pcm.length; i++) pcm[i] = data.readInt16LE(2 * i);
        this.frames.push({ pcm, atMs });
      } else {
        const msg = JSON.parse(data.toString()) as Record<string, unknown>;
        if (msg['type'] === 'start') this.start = msg;
        else this.events.push({ msg, atMs });
      }
      this.#wake();
    });
    ws.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves when `pred` holds (checked on every message), or rejects after `timeoutMs`. */
  async until(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!pred()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** All received caller audio, concatenated. */
  audio(): Int16Array {
    const n = this.frames.reduce((a, f) => a + f.pcm.length, 0);
    const out = new Int16Array(n);
    let o = 0;
    for (const f of this.frames) {
      out.set(f.pcm, o);
      o += f.pcm.length;
    }
    return out;
  }

  eventsOf(type: string): AgentEvent[] {
    return this.events.filter((e) => e.msg['type'] === type);
  }

  sendAudio(pcm: Int16Array): void {
    this.ws.send(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), { binary: true });
  }

  /** Sends `pcm` in 20 ms chunks paced in real time (as a streaming TTS would at 1×). */
  async streamAudio(pcm: Int16Array, rate: number, onChunk?: (k: number, t: number) => void): Promise<void> {
    const n = rate / 50;
    const t0 = performance.now();
    for (let k = 0; k * n < pcm.length; k++) {
      const wait = t0 + 20 * k - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      if (this.closed) return;
      this.sendAudio(pcm.subarray(k * n, Math.min(pcm.length, (k + 1) * n)));
      onChunk?.(k, performance.now());
    }
  }

  send(msg: Record<string, unknown>): number {
    this.ws.send(JSON.stringify(msg));
    return performance.now();
  }
}

export class TestAgent {
  readonly #wss: WebSocketServer;
  readonly sessions: AgentSession[] = [];
  #waiters: (() => void)[] = [];
  onSession: (s: AgentSession) => void = () => {};

  private constructor(wss: WebSocketServer) {
    this.#wss = wss;
    wss.on('connection', (ws, req) => {
      const s = new AgentSession(ws, req.headers);
      this.sessions.push(s);
      this.onSession(s);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async listen(): Promise<TestAgent> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 4 * 1024 * 1024 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    return new TestAgent(wss);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}`;
  }

  /** The session of the call `callId` (waits for it to connect). */
  async session(callId: string, timeoutMs = 10_000): Promise<AgentSession> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const s = this.sessions.find((x) => x.start?.['callId'] === callId);
      if (s) return s;
      // the start message may trail the connection by a moment
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`agent session for ${callId} did not start`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 20);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    await new Promise<void>((r) => this.#wss.close(() => r()));
  }
}
