import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EdgeSocket } from './WsEdge.js';

/** What the edge server needs of the gateway: the same handlers the uWS route uses. */
export interface EdgeHost<D> {
  /** per-socket state, as the uWS route creates it */
  newSocketData(sock: EdgeSocket): D;
  /** resolves when the upgrade may proceed (auth); rejects with a status to answer */
  authorize(authorization: string, query: string): Promise<void>;
  edgeMessage(d: D, message: Uint8Array, isBinary: boolean): void;
  edgeClosed(d: D, tooLarge: boolean): void;
}

export interface WsEdgeServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `/v1/edge` served by the `ws` library on node:http instead of uWS: the same calls, the same
 * pipeline, only the WebSocket server swapped. It exists so the latency bench can compare the
 * two side by side (EDGE_WS_SERVER=ws); production uses uWS.
 */
export async function startWsEdgeServer<D>(host: string, port: number, maxPayload: number, h: EdgeHost<D>): Promise<WsEdgeServer> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/v1/edge') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    h.authorize(req.headers.authorization ?? '', url.search.slice(1)).then(
      () => wss.handleUpgrade(req, socket, head, (ws) => attach(ws)),
      () => socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n'),
    );
  });
  const attach = (ws: WebSocket): void => {
    let open = true;
    const sock: EdgeSocket = {
      sendBinary: (bytes) => {
        if (!open) return false;
        // ws may keep the buffer queued past this call, and the playout reuses its packet buffer
        ws.send(Buffer.from(bytes), { binary: true });
        return true;
      },
      sendText: (text) => {
        if (open) ws.send(text);
      },
      bufferedAmount: () => ws.bufferedAmount,
      end: (code, reason, text) => {
        if (!open) return;
        if (text !== undefined) ws.send(text);
        ws.close(code, reason);
      },
    };
    const d = h.newSocketData(sock);
    let tooLarge = false;
    ws.on('message', (data: Buffer, isBinary: boolean) => h.edgeMessage(d, data, isBinary));
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooLarge = true;
    });
    ws.on('close', () => {
      open = false;
      h.edgeClosed(d, tooLarge);
    });
  };
  await new Promise<void>((r) => server.listen(port, host, r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
