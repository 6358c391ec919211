import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { LiveClientSetup, LiveServerMessage } from '@google/genai';
import { b64, StandIn, StandInSession, type Turn } from './StandIn.js';

/** What the stand-in sends: the fields of the SDK's server message (its getters aside). */
type ServerMessage = Partial<
  Pick<LiveServerMessage, 'setupComplete' | 'serverContent' | 'toolCall' | 'goAway' | 'sessionResumptionUpdate'>
>;

/**
 * Gemini Live (BidiGenerateContent) as its API reference describes it (ai.google.dev/api/live):
 * the first client message is `setup` (the model, generation config, tools, session resumption),
 * answered `setupComplete`; then a `sessionResumptionUpdate` with a resumable handle.
 * `realtimeInput.audio` is read at the rate its mimeType names. A turn is
 * `serverContent.modelTurn.parts[].inlineData` at 24 kHz, then `generationComplete` and
 * `turnComplete`; `interrupted` stops it. `goAway` warns of the close; a client that reconnects
 * with the handle in `setup.sessionResumption` resumes.
 */
export class GeminiLiveSession extends StandInSession {
  setup: LiveClientSetup | null = null;
  /** the handle this session gives out */
  readonly handle = `handle-${randomUUID()}`;
  #rate = 16000;

  get inRate(): number {
    return this.#rate;
  }

  get outRate(): number {
    return 24000;
  }

  #send(m: ServerMessage): void {
    this.json(m);
  }

  /** ms the server takes to set the session up (the client must wait for `setupComplete`) */
  setupDelayMs = 0;
  setupCompleteAt = NaN;

  protected onJson(m: Record<string, unknown>, atMs: number): void {
    if (m['setup'] !== undefined) {
      this.setup = m['setup'];
      setTimeout(() => {
        this.setupCompleteAt = performance.now();
        this.#send({ setupComplete: {} });
        this.#send({ sessionResumptionUpdate: { newHandle: this.handle, resumable: true } });
      }, this.setupDelayMs);
      return;
    }
    if (Number.isNaN(this.setupCompleteAt)) throw new Error('a client message before setupComplete');
    const input = m['realtimeInput'] as { audio?: { data: string; mimeType: string } } | undefined;
    if (input?.audio !== undefined) {
      this.#rate = Number(/rate=(\d+)/.exec(input.audio.mimeType)?.[1] ?? 16000);
      const raw = Buffer.from(input.audio.data, 'base64');
      this.record(new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)), atMs);
    }
  }

  protected beginTurn(): Turn {
    return { id: randomUUID(), stopped: false };
  }

  protected sendChunk(_turn: Turn, pcm: Int16Array): void {
    this.#send({
      serverContent: { modelTurn: { role: 'model', parts: [{ inlineData: { mimeType: 'audio/pcm;rate=24000', data: b64(pcm) } }] } },
    });
  }

  protected endTurn(): void {
    this.#send({ serverContent: { generationComplete: true } });
    this.#send({ serverContent: { turnComplete: true } });
    this.#send({ sessionResumptionUpdate: { newHandle: this.handle, resumable: true } });
  }

  /** The server's activity detection heard the caller over the model: `interrupted`. */
  interrupt(): void {
    this.stopTurn();
    this.#send({ serverContent: { interrupted: true } });
  }

  /** The model calls functions (`toolCall`); the client answers `toolResponse`. */
  callFunction(name: string, args: Record<string, unknown>): string {
    const id = `function-call-${randomUUID()}`;
    this.#send({ toolCall: { functionCalls: [{ id, name, args }] } });
    return id;
  }

  /** The server will close this connection soon. */
  goAway(timeLeft = '10s'): void {
    this.#send({ goAway: { timeLeft } });
  }

  /** Gemini reports errors in the close frame (code and reason). */
  fail(): void {
    this.ws.close(1011, 'Internal error encountered.');
  }
}

export class GeminiLiveStandIn extends StandIn<GeminiLiveSession> {
  /** ms each new session takes to answer `setup` */
  setupDelayMs = 0;

  static async listen(): Promise<GeminiLiveStandIn> {
    const standIn: GeminiLiveStandIn = new GeminiLiveStandIn((ws, req) => {
      const s = new GeminiLiveSession(ws, req);
      s.setupDelayMs = standIn.setupDelayMs;
      return s;
    });
    return standIn.start();
  }

  get liveUrl(): string {
    return this.url('/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent');
  }
}
