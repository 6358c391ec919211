import type uWS from 'uWebSockets.js';
import { GatewayError, type GatewayErrorCode } from './errors.js';

const STATUS: Record<number, string> = {
  200: '200 OK',
  201: '201 Created',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  404: '404 Not Found',
  413: '413 Payload Too Large',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/** A response that knows whether the client went away (uWS forbids writing after abort). */
export interface Reply {
  readonly res: uWS.HttpResponse;
  aborted: boolean;
}

export function reply(res: uWS.HttpResponse): Reply {
  const r: Reply = { res, aborted: false };
  res.onAborted(() => {
    r.aborted = true;
  });
  return r;
}

/**
 * The WebSocket handshake of `req`, read now (uWS's request lives only during the upgrade
 * handler, and authorisation may finish later): upgrades `res` with its socket's `data`.
 */
export function upgrader(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): (data: unknown) => void {
  const key = req.getHeader('sec-websocket-key');
  const proto = req.getHeader('sec-websocket-protocol');
  const ext = req.getHeader('sec-websocket-extensions');
  return (data) => res.upgrade(data, key, proto, ext, context);
}

export function sendJson(r: Reply, status: number, body: unknown): void {
  if (r.aborted) return;
  r.res.cork(() => {
    r.res.writeStatus(STATUS[status] ?? `${status}`).writeHeader('content-type', 'application/json');
    r.res.end(body === undefined ? '' : JSON.stringify(body));
  });
}

export function sendText(r: Reply, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  if (r.aborted) return;
  r.res.cork(() => {
    r.res
      .writeStatus(STATUS[status] ?? `${status}`)
      .writeHeader('content-type', contentType)
      .end(body);
  });
}

/** Answers an error: GatewayError with its status and stable code, anything else as 500. */
export function sendError(r: Reply, err: unknown): void {
  if (err instanceof GatewayError) sendJson(r, err.status, { error: { code: err.code, message: err.message } });
  else
    sendJson(r, 500, { error: { code: 'INTERNAL' satisfies GatewayErrorCode, message: err instanceof Error ? err.message : String(err) } });
}

/** Reads the request body (copying uWS's borrowed chunks), refusing more than `limit` bytes. */
export function readBody(r: Reply, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    r.res.onData((chunk, isLast) => {
      size += chunk.byteLength;
      if (size > limit) {
        reject(new GatewayError('BAD_REQUEST', `body larger than ${limit} bytes`, { status: 413 }));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) resolve(Buffer.concat(chunks));
    });
  });
}

export async function readJson(r: Reply, limit: number): Promise<unknown> {
  const body = await readBody(r, limit);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('BAD_REQUEST', 'body is not valid JSON');
  }
}
