import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyDial } from '../../../gateway/src/auth.js';
import { DialGuard } from '../../../gateway/src/agent/dialGuard.js';
import { Secrets } from '../../../gateway/src/agent/services/secrets.js';
import { ToolRunner } from '../../../gateway/src/agent/services/tools.js';

/** The function-call webhook over real sockets: signed, guarded, bounded in time, never throwing. */
const SECRET = 'a-gateway-secret-of-32-characters!';
const CALL = '6f1c2a4e-0000-4000-8000-000000000000';
let server: http.Server;
let base: string;
const seen: { headers: http.IncomingHttpHeaders; body: string; path: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ headers: req.headers, body, path: req.url ?? '' });
      if (req.url === '/slow') return void setTimeout(() => res.end('{}'), 2000);
      if (req.url === '/broken') return void res.writeHead(502).end('bad gateway');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"temperature":21}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const runner = (
  path: string,
  o: { guard?: DialGuard; timeoutMs?: number; hangup?: boolean; transfer?: Record<string, string> | null; canTransfer?: boolean } = {},
) =>
  new ToolRunner(
    {
      url: `${base}${path}`,
      headers: { 'X-Tool-Key': '${TOOLS_API_KEY}' },
      hangup: o.hangup ?? false,
      transfer: o.transfer ?? null,
      timeoutMs: o.timeoutMs ?? 1000,
    },
    {
      callId: CALL,
      dialect: 'openai-realtime',
      guard: o.guard ?? new DialGuard(['127.0.0.0/8']),
      secret: SECRET,
      secrets: new Secrets({ TOOLS_API_KEY: 'tk-123456' }),
      canTransfer: o.canTransfer ?? false,
    },
  );

describe('function-call webhook', () => {
  it('POSTs the call signed as agent dial-outs are, with the route headers filled, and returns the body', async () => {
    const out = await runner('/weather').run('get_weather', '{"city":"Paris"}');
    expect(out).toEqual({ output: '{"temperature":21}' });
    const req = seen.at(-1)!;
    expect(JSON.parse(req.body)).toEqual({ callId: CALL, dialect: 'openai-realtime', name: 'get_weather', arguments: { city: 'Paris' } });
    expect(req.headers['x-tool-key']).toBe('tk-123456');
    expect(req.headers['x-gateway-call-id']).toBe(CALL);
    expect(verifyDial(SECRET, String(req.headers['x-gateway-signature']), `${base}/weather`, CALL)).toBe(true);
  });

  it('answers the model an error, never throws: HTTP errors, deadlines, forbidden addresses', async () => {
    expect(await runner('/broken').run('x', '{}')).toEqual({ output: '{"error":"the tool service answered HTTP 502"}' });
    const t0 = performance.now();
    const slow = await runner('/slow', { timeoutMs: 300 }).run('x', '{}');
    expect(slow.output).toMatch(/^\{"error":"the tool failed: 127\.0\.0\.1:\d+ did not answer within 300 ms"\}$/);
    expect(performance.now() - t0).toBeLessThan(1500);
    const n = seen.length;
    const forbidden = await runner('/weather', { guard: new DialGuard() }).run('x', '{}');
    expect(forbidden.output).toMatch(/loopback, link-local, private or metadata address: not dialled/);
    expect(seen.length).toBe(n); // never reached
  });

  it('runs the built-in tools without the webhook: hangup, and transfer to a named target only', async () => {
    const r = runner('/weather', { hangup: true, transfer: { sales: 'sip:sales@pbx.example' }, canTransfer: true });
    expect(r.builtins().map((t) => t.name)).toEqual(['hangup', 'transfer']);
    const n = seen.length;
    expect(await r.run('hangup', '{}')).toEqual({ output: '{"ok":true}', then: { hangup: true } });
    expect(await r.run('transfer', { target: 'sales' })).toEqual({ output: '{"ok":true}', then: { transfer: 'sip:sales@pbx.example' } });
    expect(await r.run('transfer', { target: 'sip:attacker@evil.example' })).toEqual({
      output: '{"error":"unknown target; one of sales"}',
    });
    expect(seen.length).toBe(n);
  });
});
