import http from 'node:http';
import https from 'node:https';
import type { DialGuard } from '../dialGuard.js';

/** Largest response body read, bytes (a tool result, a created call): more is an error, not a truncation. */
const MAX_RESPONSE_BYTES = 256 * 1024;

export interface PostResult {
  status: number;
  body: string;
}

/**
 * POSTs JSON over HTTP(S) from the gateway: a function-call webhook, a service's call creation.
 * The dial guard checks the URL and the address actually connected to (as for agent dial-outs),
 * the whole exchange has a deadline, and the body read is bounded. Rejects on a network error,
 * the deadline, a forbidden address or an oversized answer; any HTTP status resolves.
 */
export function postJson(
  url: string,
  headers: Readonly<Record<string, string>>,
  body: unknown,
  opts: { guard?: DialGuard | undefined; timeoutMs: number },
): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
      opts.guard?.checkUrl(url);
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const data = Buffer.from(JSON.stringify(body));
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(data.length), ...headers },
        timeout: opts.timeoutMs,
        ...(opts.guard !== undefined ? { lookup: opts.guard.lookup } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`${u.host} answered more than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    const deadline = setTimeout(() => req.destroy(new Error(`${u.host} did not answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('close', () => {
      clearTimeout(deadline);
    });
    req.on('timeout', () => req.destroy(new Error(`${u.host} did not answer within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}
