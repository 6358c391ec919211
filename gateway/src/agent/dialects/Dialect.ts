import type { AgentCommands, CallInfo, GatewayEvent } from '../Agent.js';
import type { AgentSocket } from '../AgentSocket.js';

/**
 * A wire dialect: an envelope translator between the call's semantic interface (Agent /
 * AgentCommands) and one protocol's messages. It holds no call logic: playout, marks and clear
 * live in the call; a dialect only says how they look on the wire.
 */
export interface Dialect {
  readonly name: string;
  start(sock: AgentSocket, info: CallInfo): void;
  /** One 20 ms caller frame (borrowed); returns false if the socket dropped it. */
  audio(sock: AgentSocket, frame: Int16Array): boolean;
  event(sock: AgentSocket, ev: GatewayEvent): void;
  stop(sock: AgentSocket, reason: string): void;
  /** Decodes one agent message into commands. `data` is borrowed. */
  message(data: Uint8Array, isBinary: boolean, cmds: AgentCommands): void;
}
