import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { TestAgent } from '../../testkit/TestAgent.js';
import { SIGNATURE_HEADER, verifyDial } from '../../gateway/src/auth.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { loadSettings } from '../../gateway/src/settings.js';
import { counter, startGateway } from '../helpers/gateway.js';

/**
 * Who may connect: a gateway with GATEWAY_AUTH_SECRET and a TLS certificate (self-signed, made
 * here with openssl), reached over https:// and wss:// on loopback.
 */

const SECRET = 'test-secret-0123456789abcdef';
let gw: Gateway;
let base: string;
let ca: Buffer;
let agent: TestAgent;

const jwt = (secret = SECRET, exp = '5m') =>
  new SignJWT({ sub: 'edge-1' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));

function request(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${base}${path}`, { method, ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text } });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

/** Opens a wss:// socket; resolves with it open, or with the HTTP status that refused the upgrade. */
function wss(path: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace('https', 'wss')}${path}`, { ca, headers });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', reject);
  });
}

/** the test's certificate and key, removed after */
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gw-tls-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  ca = readFileSync(join(dir, 'cert.pem'));
  const started = await startGateway({ authSecret: SECRET, tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } });
  gw = started.gw;
  base = started.url.replace('http:', 'https:');
  agent = await TestAgent.listen();
}, 30_000);

afterAll(async () => {
  await gw.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('authentication (JWT, HS256) over TLS', () => {
  it('refuses /v1/calls without a valid token with 401 and creates nothing', async () => {
    const before = gw.calls.size;
    const bad = [
      {},
      { authorization: `Bearer ${await jwt('another-secret-0123456789')}` },
      { authorization: `Bearer ${await jwt(SECRET, '-1m')}` }, // expired
      { authorization: 'Bearer not.a.jwt' },
      // alg "none" (RFC 7519 §6): an unsigned token must never pass
      {
        authorization: `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.`,
      },
    ];
    for (const h of bad) {
      const r = await request('POST', '/v1/calls', { codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } }, h);
      expect(r.status).toBe(401);
      expect((r.json['error'] as { code: string }).code).toBe('UNAUTHORIZED');
    }
    expect((await request('GET', '/v1/calls')).status).toBe(401);
    expect(gw.calls.size).toBe(before);
    expect(await counter(gw, 'gateway_requests_rejected_total', { reason: 'UNAUTHORIZED' })).toBeGreaterThanOrEqual(bad.length + 1);
    // health and metrics stay open for probes and scrapers
    expect((await request('GET', '/healthz')).status).toBe(200);
  });

  it('accepts a Bearer token or ?token=, over https and wss, and signs its dial to the agent', async () => {
    const token = await jwt();
    const r = await request(
      'POST',
      '/v1/calls',
      { codec: 'PCMU', route: { agent: { url: agent.url } } },
      { authorization: `Bearer ${token}` },
    );
    expect(r.status).toBe(201);
    const callId = r.json['callId'] as string;
    const s = await agent.session(callId);
    const sig = s.headers[SIGNATURE_HEADER] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyDial(SECRET, sig, agent.url, callId)).toBe(true);
    expect(verifyDial(SECRET, sig, agent.url, 'another-call')).toBe(false);
    expect(verifyDial('wrong-secret-0123456789', sig, agent.url, callId)).toBe(false);
    expect((await request('DELETE', `/v1/calls/${callId}`, undefined, { authorization: `Bearer ${token}` })).status).toBe(200);

    expect(await wss('/v1/edge')).toBe(401);
    const ws = await wss(`/v1/edge?token=${token}`);
    expect(ws).toBeInstanceOf(WebSocket);
    const sock = ws as WebSocket;
    const started = new Promise<Record<string, unknown>>((res) =>
      sock.once('message', (d: Buffer) => res(JSON.parse(d.toString()) as Record<string, unknown>)),
    );
    sock.send(JSON.stringify({ event: 'start', codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } }));
    expect((await started)['event']).toBe('started');
    sock.close();
  });

  it('requires a token of a dial-in agent too, and of the Twilio-compatible hang-up (as the Basic password)', async () => {
    const token = await jwt();
    const r = await request(
      'POST',
      '/v1/calls',
      { codec: 'PCMU', route: { agent: { url: 'dial-in' } } },
      { authorization: `Bearer ${token}` },
    );
    const callId = r.json['callId'] as string;
    expect(await wss(`/v1/calls/${callId}/agent`)).toBe(401);
    const ws = await wss(`/v1/calls/${callId}/agent`, { authorization: `Bearer ${token}` });
    expect(ws).toBeInstanceOf(WebSocket);
    (ws as WebSocket).close();

    const { twilioCallSid } = await import('../../gateway/src/agent/dialects/twilio.js');
    const r2 = await request(
      'POST',
      '/v1/calls',
      { codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } },
      { authorization: `Bearer ${token}` },
    );
    const sid = twilioCallSid(r2.json['callId'] as string);
    const path = `/2010-04-01/Accounts/AC00000000000000000000000000000000/Calls/${sid}.json`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect((await request('POST', path, 'Status=completed', form)).status).toBe(401);
    const basic = Buffer.from(`AC00000000000000000000000000000000:${token}`).toString('base64');
    // The Basic password is a token on this route only: elsewhere it is refused.
    expect((await request('GET', '/v1/calls', undefined, { authorization: `Basic ${basic}` })).status).toBe(401);
    expect((await request('POST', path, 'Status=completed', { ...form, authorization: `Basic ${basic}` })).status).toBe(200);
    expect(gw.calls.get(r2.json['callId'] as string)).toBeUndefined();
  });
});

describe('maximum token lifetime (AUTH_MAX_TOKEN_LIFETIME_S)', () => {
  it('refuses tokens that never expire or outlive it on the API, and creates nothing; bounded tokens pass', async () => {
    // From the environment, as `npm start` reads it, so the setting is checked end to end.
    const { maxTokenLifetimeS } = loadSettings({ GATEWAY_AUTH_SECRET: SECRET, AUTH_MAX_TOKEN_LIFETIME_S: '3600', SIP_PORT: 'off' });
    const capped = await startGateway({ authSecret: SECRET, maxTokenLifetimeS });
    try {
      const key = new TextEncoder().encode(SECRET);
      const sign = (exp: string | null) => {
        const t = new SignJWT({ sub: 'edge-1' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
        return (exp === null ? t : t.setExpirationTime(exp)).sign(key);
      };
      const create = async (token: string) =>
        fetch(`${capped.url}/v1/calls`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
          body: JSON.stringify({ codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } }),
        });
      for (const token of [await sign(null), await sign('2d')]) {
        const r = await create(token);
        expect(r.status).toBe(401);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
      }
      expect(capped.gw.calls.size).toBe(0);
      expect(await counter(capped.gw, 'gateway_requests_rejected_total', { reason: 'UNAUTHORIZED' })).toBe(2);
      expect((await create(await sign('5m'))).status).toBe(201);
      expect(capped.gw.calls.size).toBe(1);
    } finally {
      await capped.gw.close();
    }
  });
});
