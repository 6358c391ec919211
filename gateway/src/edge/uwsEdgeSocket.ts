import type uWS from 'uWebSockets.js';
import type { EdgeSocket } from './WsEdge.js';

/**
 * An edge's view of one uWS WebSocket (`/v1/edge`, the platform media streams). `open` is the
 * socket's own flag, cleared by the route's `close` handler and by `end`: uWS throws on any use
 * of a closed socket, so nothing is sent, measured or ended once it is false.
 */
export function uwsEdgeSocket(ws: uWS.WebSocket<{ open: boolean }>): EdgeSocket {
  const d = ws.getUserData();
  return {
    sendBinary: (bytes) => d.open && ws.send(bytes, true) !== 2,
    sendText: (text) => {
      if (d.open) ws.send(text, false);
    },
    bufferedAmount: () => (d.open ? ws.getBufferedAmount() : 0),
    end: (code, reason, text) => {
      if (!d.open) return;
      d.open = false;
      ws.cork(() => {
        if (text !== undefined) ws.send(text, false);
        ws.end(code, reason);
      });
    },
  };
}
