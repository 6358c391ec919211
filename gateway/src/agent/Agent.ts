import type { GatewayErrorCode } from '../errors.js';

/**
 * The agent as the call sees it, independent of wire dialect and transport. A dialect turns
 * these calls into its own messages; the built-in echo agent implements them in-process.
 */
export interface CallInfo {
  callId: string;
  from: string;
  to: string;
  params: Readonly<Record<string, unknown>>;
  /** Hz of the PCM16 exchanged */
  sampleRate: number;
}

/** What the gateway tells the agent. */
export type GatewayEvent =
  | { type: 'speech_started'; atMs: number }
  | { type: 'speech_stopped'; atMs: number }
  | { type: 'mark'; name: string; cleared: boolean }
  | { type: 'dtmf'; digit: string; durationMs: number }
  | { type: 'barge_in'; atMs: number; playedMs: number; cleared: boolean }
  /** denoise "auto" turned RNNoise on or off; snrDb: the call's estimated SNR */
  | { type: 'denoise'; enabled: boolean; snrDb: number | null; atMs: number }
  /** the caller may be interrupting: the agent's audio is ducked, not dropped (route option bargeIn.duckEvents) */
  | { type: 'barge_in_suspected'; atMs: number }
  /** it was not an interruption (a backchannel, a cough, noise): full volume again, nothing lost */
  | { type: 'barge_in_resumed'; atMs: number }
  | { type: 'error'; code: string; message: string };

/** What the agent asks of the call (the call implements this). */
export interface AgentCommands {
  /** PCM16 LE at the call's agent rate; `bytes` is borrowed (valid during the call only). */
  audio(bytes: Uint8Array): void;
  mark(name: string): void;
  clear(): void;
  hangup(reason: string): void;
  dtmf(digits: string): void;
  /** Connect the caller elsewhere (a SIP URI); the call ends once the far end has taken it. */
  transfer(target: string): void;
  /** ms of agent audio the caller has heard since the last clear (Playout.heardMs): for a service's truncation. */
  heardMs(): number;
  /** The agent went away (socket closed, unreachable, timed out). */
  gone(code: string, reason: string): void;
  /** A message that could not be understood; counted and answered, never fatal. */
  invalid(code: GatewayErrorCode, message: string): void;
}

export interface Agent {
  /** Resolves once the agent can hear the caller (its socket is open); absent: at once (in-process agents). */
  readonly ready?: Promise<void>;
  /** Sends call metadata; the first thing the agent hears. */
  start(info: CallInfo): void;
  /** One 20 ms frame of the caller's (denoised) audio; borrowed. */
  audio(frame: Int16Array): void;
  event(ev: GatewayEvent): void;
  /** Says goodbye with a reason and releases the transport. Idempotent. */
  close(reason: string): void;
}
