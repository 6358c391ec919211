import type { LookupFunction } from 'node:net';
import WebSocket from 'ws';
import type uWS from 'uWebSockets.js';

/** A message-oriented connection to an agent: the gateway's dial-out (ws) or the agent's dial-in (uWS). */
export interface AgentSocket {
  sendText(text: string): void;
  sendBinary(bytes: Uint8Array): void;
  /** Bytes queued on the socket and not yet sent (what a slow agent leaves unread). */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

export interface SocketHandlers {
  open(): void;
  /** `data` is borrowed: valid during the call only. */
  message(data: Uint8Array, isBinary: boolean): void;
  closed(code: number, reason: string): void;
  error(err: Error): void;
}

/** Bytes of unsent data beyond which caller audio to a slow agent is dropped (≈10 s at 24 kHz). */
export const AGENT_SEND_LIMIT = 512 * 1024;

/** Dial-out with `ws`: the gateway is the WebSocket client. */
export function dialAgent(
  url: string,
  headers: Readonly<Record<string, string>>,
  h: SocketHandlers,
  maxPayload: number,
  connectTimeoutMs: number,
  subprotocol?: string,
  lookup?: LookupFunction,
): AgentSocket {
  const ws = new WebSocket(url, subprotocol !== undefined ? [subprotocol] : [], {
    headers: { ...headers },
    maxPayload,
    perMessageDeflate: false,
    // One message per event-loop turn: by default ws parses and emits every message of a read
    // at once, before any timer runs (one read of a 10,000-mark flood, thousands of messages, took
    // 23–29 ms on this loaded 2-core machine); deferred, the rest waits in the socket (TCP
    // backpressure) and the 20 ms clock every call shares runs between messages.
    allowSynchronousEvents: false,
    handshakeTimeout: connectTimeoutMs,
    // The dial guard resolves names itself, so what is connected to is what was checked.
    ...(lookup !== undefined ? { lookup } : {}),
  });
  ws.binaryType = 'nodebuffer';
  ws.on('open', () => h.open());
  ws.on('message', (data: Buffer, isBinary: boolean) => h.message(data, isBinary));
  ws.on('close', (code: number, reason: Buffer) => h.closed(code, reason.toString()));
  ws.on('error', (err: Error) => h.error(err));
  ws.on('unexpected-response', (_req, res) => {
    h.error(new Error(`agent answered HTTP ${res.statusCode} instead of upgrading`));
    ws.terminate();
  });
  return {
    sendText: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    sendBinary: (bytes) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(bytes, { binary: true });
    },
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => {
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else if (ws.readyState === WebSocket.OPEN) ws.close(code, reason.slice(0, 120));
    },
  };
}

/** Wraps a uWS server-side socket (an agent that dialled in). */
export function uwsAgentSocket<T>(ws: uWS.WebSocket<T>, isOpen: () => boolean): AgentSocket {
  return {
    sendText: (text) => {
      if (isOpen()) ws.send(text, false);
    },
    sendBinary: (bytes) => {
      if (isOpen()) ws.send(bytes, true);
    },
    bufferedAmount: () => ws.getBufferedAmount(),
    close: (code, reason) => {
      if (isOpen()) ws.end(code, reason.slice(0, 120));
    },
  };
}
