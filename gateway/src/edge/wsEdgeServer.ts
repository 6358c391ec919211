import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Guard } from '../api/Guard.js';
import type { EdgeSocket } from './WsEdge.js';
import { EDGE_MAX_MESSAGE, WsEdgeConnection, type EdgeHost } from './WsEdgeConnection.js';

export interface WsEdgeServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `/v1/edge` served by the `ws` library on node:http instead of uWS: the same calls, the same
 * pipeline, only the WebSocket server swapped. It exists so the latency bench can compare the
 * two side by side (EDGE_WS_SERVER=ws); production uses uWS.
 */
export async function startWsEdgeServer(hostname: string, port: number, guard: Guard, host: EdgeHost): Promise<WsEdgeServer> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload: EDGE_MAX_MESSAGE, perMessageDeflate: false });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/v1/edge') {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    guard.verify(req.headers.authorization ?? '', url.search.slice(1)).then(
      () => {
        wss.handleUpgrade(req, socket, head, (ws) => {
          attach(ws);
        });
      },
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
    const conn = new WsEdgeConnection(sock, host);
    let tooLarge = false;
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      conn.message(data, isBinary);
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') tooLarge = true;
    });
    ws.on('close', () => {
      open = false;
      conn.closed(tooLarge);
    });
  };
  await new Promise<void>((r) => server.listen(port, hostname, r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
