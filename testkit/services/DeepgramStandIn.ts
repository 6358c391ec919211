import type { agent } from '@deepgram/sdk';
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { WebSocket } from 'ws';
import { g711DecodeInto, g711EncodeInto } from '../../codecs/src/index.js';
import { le16, StandIn, StandInSession, type Turn } from './StandIn.js';

type ServerEvent =
  | agent.AgentV1Welcome
  | agent.AgentV1SettingsApplied
  | agent.AgentV1UserStartedSpeaking
  | agent.AgentV1AgentStartedSpeaking
  | agent.AgentV1AgentAudioDone
  | agent.AgentV1Error
  | agent.AgentV1FunctionCallRequest;

/**
 * Deepgram's Voice Agent API as its docs describe it (developers.deepgram.com/docs/voice-agent):
 * `Welcome` on connect; `Settings` → `SettingsApplied` (its `audio.input`/`audio.output` decide how
 * binary audio is read and written: `linear16` or `mulaw` at the given rates); binary caller
 * audio recorded; `KeepAlive` counted. A turn is `AgentStartedSpeaking`, binary audio,
 * `AgentAudioDone`; `UserStartedSpeaking` stops it. `FunctionCallRequest` for client-side functions
 * expects `FunctionCallResponse`. `Error` reports a failure.
 */
export class DeepgramSession extends StandInSession {
  settings: agent.AgentV1Settings | null = null;
  keepAlives = 0;

  constructor(ws: WebSocket, req: http.IncomingMessage) {
    super(ws, req);
    this.#send({ type: 'Welcome', request_id: randomUUID() });
  }

  get inRate(): number {
    return this.settings?.audio.input?.sample_rate ?? 24000;
  }

  get outRate(): number {
    return this.settings?.audio.output?.sample_rate ?? 24000;
  }

  #send(ev: ServerEvent): void {
    this.json(ev);
  }

  protected onJson(m: Record<string, unknown>): void {
    if (m['type'] === 'Settings') {
      this.settings = m as unknown as agent.AgentV1Settings;
      this.#send({ type: 'SettingsApplied' });
    } else if (m['type'] === 'KeepAlive') this.keepAlives++;
  }

  protected override onBinary(data: Buffer, atMs: number): void {
    if (this.settings === null) throw new Error('audio before Settings');
    if (this.settings.audio.input?.encoding === 'mulaw') {
      const pcm = new Int16Array(data.length);
      g711DecodeInto('ulaw', data, pcm);
      this.record(pcm, atMs);
    } else this.record(le16(data), atMs);
  }

  protected beginTurn(): Turn {
    this.#send({ type: 'AgentStartedSpeaking', total_latency: 0.8, tts_latency: 0.3, ttt_latency: 0.5 });
    return { id: randomUUID(), stopped: false };
  }

  protected sendChunk(_turn: Turn, pcm: Int16Array): void {
    if (this.settings?.audio.output?.encoding === 'mulaw') {
      const codes = new Uint8Array(pcm.length);
      g711EncodeInto('ulaw', pcm, codes);
      this.ws.send(codes, { binary: true });
    } else this.ws.send(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), { binary: true });
  }

  protected endTurn(): void {
    this.#send({ type: 'AgentAudioDone' });
  }

  /** The agent heard the caller over itself. */
  interrupt(): void {
    this.stopTurn();
    this.#send({ type: 'UserStartedSpeaking' });
  }

  callFunction(name: string, args: Record<string, unknown>): string {
    const id = `fc_${randomUUID()}`;
    this.#send({ type: 'FunctionCallRequest', functions: [{ id, name, arguments: JSON.stringify(args), client_side: true }] });
    return id;
  }

  fail(): void {
    this.#send({ type: 'Error', description: 'Failed to think: the LLM provider timed out', code: 'THINK_REQUEST_FAILED' });
    this.ws.close(1011, 'error');
  }
}

export class DeepgramStandIn extends StandIn<DeepgramSession> {
  static async listen(): Promise<DeepgramStandIn> {
    return new DeepgramStandIn((ws, req) => new DeepgramSession(ws, req)).start();
  }

  get agentUrl(): string {
    return this.url('/v1/agent/converse');
  }
}
