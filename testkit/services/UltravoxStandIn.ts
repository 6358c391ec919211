import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { le16, StandIn, StandInSession, type Turn } from './StandIn.js';

/** Ultravox publishes no type package: the shapes used here, by hand from docs.ultravox.ai. */
export interface CreateCallBody {
  systemPrompt?: string;
  medium?: { serverWebSocket?: { inputSampleRate: number; outputSampleRate?: number; clientBufferSizeMs?: number } };
  selectedTools?: unknown[];
  [field: string]: unknown;
}

/**
 * Ultravox Realtime as its docs describe it: `POST /api/calls` (with `X-API-Key`) creates a call
 * whose `medium.serverWebSocket` names the sample rates, answered `201` with a `joinUrl`
 * (docs.ultravox.ai/apps/websockets, api-reference/calls/calls-post). The join socket carries
 * s16le binary audio both ways at those rates and data messages as JSON
 * (apps/datamessages): `state`, `transcript`, `playback_clear_buffer` (the agent was
 * interrupted: the client drops what it buffered), `client_tool_invocation` → `client_tool_result`.
 */
export class UltravoxSession extends StandInSession {
  readonly call: CreateCallBody;

  constructor(ws: import('ws').WebSocket, req: http.IncomingMessage, call: CreateCallBody) {
    super(ws, req);
    this.call = call;
    this.json({ type: 'call_started', callId: req.url?.split('/')[2] ?? '' });
    this.json({ type: 'state', state: 'listening' });
  }

  get inRate(): number {
    return this.call.medium?.serverWebSocket?.inputSampleRate ?? 0;
  }

  get outRate(): number {
    return this.call.medium?.serverWebSocket?.outputSampleRate ?? this.inRate;
  }

  protected onJson(): void {}

  protected override onBinary(data: Buffer, atMs: number): void {
    this.record(le16(data), atMs);
  }

  protected beginTurn(): Turn {
    this.json({ type: 'state', state: 'speaking' });
    return { id: randomUUID(), stopped: false };
  }

  protected sendChunk(_turn: Turn, pcm: Int16Array): void {
    this.ws.send(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), { binary: true });
  }

  protected endTurn(): void {
    this.json({ type: 'transcript', role: 'agent', medium: 'voice', text: 'Hello.', final: true, ordinal: 1 });
    this.json({ type: 'state', state: 'listening' });
  }

  /** The agent was interrupted: the client must drop the audio it buffered. */
  interrupt(): void {
    this.stopTurn();
    this.json({ type: 'playback_clear_buffer' });
    this.json({ type: 'state', state: 'listening' });
  }

  callTool(name: string, parameters: Record<string, unknown>): string {
    const id = randomUUID();
    this.json({ type: 'client_tool_invocation', toolName: name, invocationId: id, parameters });
    return id;
  }

  /** Ultravox has no error message on this socket: the call just ends abnormally. */
  fail(): void {
    this.ws.close(1011, 'internal error');
  }
}

export class UltravoxStandIn extends StandIn<UltravoxSession> {
  /** calls created (their request bodies and headers), by id */
  readonly calls = new Map<string, { body: CreateCallBody; headers: http.IncomingHttpHeaders }>();
  /** the status the next call creation is answered with (401 to refuse it) */
  answerStatus = 201;

  static async listen(): Promise<UltravoxStandIn> {
    const standIn: UltravoxStandIn = new UltravoxStandIn(
      (ws, req) => {
        const id = /^\/calls\/([^/?]+)/.exec(req.url ?? '')?.[1] ?? '';
        const call = standIn.calls.get(id);
        if (call === undefined) throw new Error(`no call ${id}`);
        return new UltravoxSession(ws, req, call.body);
      },
      (req, res) => standIn.#create(req, res),
    );
    return standIn.start();
  }

  #create(req: http.IncomingMessage, res: http.ServerResponse): void {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/calls') return void res.writeHead(404).end();
      if (this.answerStatus !== 201 || req.headers['x-api-key'] === undefined)
        return void res
          .writeHead(this.answerStatus === 201 ? 401 : this.answerStatus, { 'content-type': 'application/json' })
          .end('{"detail":"Invalid API key."}');
      const id = randomUUID();
      this.calls.set(id, { body: JSON.parse(data) as CreateCallBody, headers: req.headers });
      res
        .writeHead(201, { 'content-type': 'application/json' })
        .end(
          JSON.stringify({ callId: id, created: new Date().toISOString(), joinUrl: `ws://127.0.0.1:${this.port}/calls/${id}?token=j0in` }),
        );
    });
  }

  get createUrl(): string {
    return `http://127.0.0.1:${this.port}/api/calls`;
  }
}
